"""`sapa segments|campaigns|journeys`: the marketer's commands (each says what to do next)."""

from __future__ import annotations

import json
import sys
from datetime import datetime

import click
from sqlalchemy import select
from sqlmodel import Session

from core import cli as config
from core.db import session_scope
from core.runtime import get_runtime
from crm.csv_export import SafeWriter

# The commands import the broadcasts domain (its models, the queue) when they run, not at the top:
# at the top they cost every `sapa` command ~1.2 s (`sapa --help`: median 2.1 s -> 3.3 s, 7 runs).


def _context():
    return config.settings(), config.engine()


def _json_arg(value: str, what: str):
    try:
        return json.loads(value)
    except ValueError as exc:
        raise click.ClickException(f"{what} is not valid JSON ({exc.msg}); quote it, e.g. "
                                   "'{\"field\": \"tag\", \"op\": \"has\", \"value\": \"vip\"}'") from None


def _segment_failure(exc) -> click.ClickException:
    lines = "\n".join(f"  {d['field']}: {d['message']}" for d in exc.details)
    return click.ClickException(f"the rules do not work:\n{lines}")


def _campaign_failure(exc) -> click.ClickException:
    return click.ClickException(f"{exc.field + ': ' if exc.field else ''}{exc}")


def _queue(settings) -> None:
    """Point the queue at the configured storage before this command queues work."""
    from core.queue import configure_queue

    configure_queue(settings.queue_url)


# --- segments ---------------------------------------------------------------------------


@click.group()
def segments() -> None:
    """Audience segments (rules as JSON, see `sapa segments preview --help`)."""


@segments.command("preview")
@click.argument("rules_json")
@click.option("--sample", default=5, show_default=True, help="sample contacts to show")
def segments_preview(rules_json: str, sample: int) -> None:
    """Count the contacts matching RULES_JSON, e.g. '{"all": [{"field": "channel", "op": "eq", "value": "line"}]}'."""
    from broadcasts import segments as seg

    _settings, engine = _context()
    rules = _json_arg(rules_json, "RULES_JSON")
    with Session(engine) as session:
        try:
            count = seg.count(session=session, rules=rules)
            rows = seg.sample(session=session, rules=rules, limit=sample) if sample else []
        except seg.SegmentError as exc:
            raise _segment_failure(exc) from None
    click.echo(f"{count:,} contacts match")
    for row in rows:
        click.echo(f"  {row.id:>7}  {row.display_name or '-'}")
    click.echo("Save it with `sapa segments create NAME RULES_JSON`, then send with "
               "`sapa campaigns create --segment ID ...`.")


@segments.command("create")
@click.argument("name")
@click.argument("rules_json")
def segments_create(name: str, rules_json: str) -> None:
    """Save RULES_JSON as a segment called NAME."""
    from broadcasts import segments as seg

    _settings, engine = _context()
    try:
        with session_scope(engine) as session:
            segment = seg.create_segment(session=session, name=name, rules=_json_arg(rules_json, "RULES_JSON"))
            count = seg.count(session=session, rules=segment.rules)
            segment_id = segment.id
    except seg.SegmentError as exc:
        raise _segment_failure(exc) from None
    click.echo(f"segment {segment_id} saved ({count:,} contacts now). "
               f"Use it: sapa campaigns create --segment {segment_id} --name ... --text ...")


@segments.command("list")
def segments_list() -> None:
    """Saved segments with their live counts."""
    from broadcasts import segments as seg
    from broadcasts.models import Segment

    _settings, engine = _context()
    with Session(engine) as session:
        rows = session.execute(select(Segment).order_by(Segment.id)).scalars().all()
        if not rows:
            click.echo("no segments yet: try `sapa segments preview RULES_JSON`")
        for row in rows:
            try:
                count = f"{seg.count(session=session, rules=row.rules):,}"
            except seg.SegmentError:
                count = "invalid"
            click.echo(f"{row.id:>5}  {row.name:<30} {count:>10} contacts")


# --- campaigns --------------------------------------------------------------------------


@click.group()
def campaigns() -> None:
    """Campaigns: create, watch, pause/resume/cancel, export results."""


@campaigns.command("create")
@click.option("--name", required=True)
@click.option("--text", default=None, help="message text ({name}, {first_name}, {shop}, {voucher} …)")
@click.option("--message-json", default=None, help='full message: {"text", "image_url", "buttons", "quick_replies"}')
@click.option("--segment", "segment_id", type=int, default=None, help="saved segment id")
@click.option("--rules", "rules_json", default=None, help="rules JSON instead of a segment")
@click.option("--at", "send_at", default=None, help="send time, ISO (without offset = shop time); default now")
@click.option("--cron", "recurrence", default=None, help="recurrence, e.g. '0 10 * * fri' (shop time)")
@click.option("--channel", "channels", multiple=True, type=click.Choice(["line", "telegram", "simulator"]))
@click.option("--promotion", "promotion_id", type=int, default=None, help="attach a promotion / voucher")
@click.option("--trim", is_flag=True, help="if the LINE quota is short, send to as many as fit")
@click.option("--draft", is_flag=True, help="save without sending (launch with `sapa campaigns resume ID`)")
def campaigns_create(name, text, message_json, segment_id, rules_json, send_at, recurrence, channels, promotion_id,
                     trim, draft) -> None:
    """Create a campaign: now, at a time, or recurring."""
    from broadcasts import campaigns as cmp
    from broadcasts.campaign_message import CampaignError
    from broadcasts.tasks import enqueue_campaign

    settings, engine = _context()
    if bool(text) == bool(message_json):
        raise click.ClickException("give --text or --message-json")
    message = {"text": text} if text else _json_arg(message_json, "--message-json")
    when = None
    if send_at:
        try:
            when = datetime.fromisoformat(send_at)
        except ValueError:
            raise click.ClickException("--at must be ISO, e.g. 2026-12-04T10:00") from None
    try:
        with session_scope(engine) as session:
            campaign = cmp.create_campaign(
                session=session, name=name, message=message, segment_id=segment_id,
                rules=_json_arg(rules_json, "--rules") if rules_json else None, send_at=when,
                recurrence=recurrence, timezone_name=settings.timezone, channels=list(channels) or None,
                promotion_id=promotion_id, quota_policy="trim" if trim else settings.broadcasts.quota_policy,
                draft=draft, misfire_grace_seconds=settings.broadcasts.misfire_grace_seconds, created_by="cli")
            campaign_id, status = campaign.id, campaign.status
    except CampaignError as exc:
        raise _campaign_failure(exc) from None
    if status == "sending":
        _queue(settings)
        enqueue_campaign(campaign_id, "now")
        click.echo(f"campaign {campaign_id} queued: a worker sends it (`sapa worker`, or `sapa campaigns run "
                   f"{campaign_id}` in the foreground). Watch: sapa campaigns show {campaign_id}")
    elif status == "scheduled":
        click.echo(f"campaign {campaign_id} scheduled: the clock (`sapa clock`) sends it when due. "
                   f"Check: sapa campaigns show {campaign_id}")
    else:
        click.echo(f"campaign {campaign_id} saved as a draft. Test: sapa campaigns test {campaign_id} --to "
                   f"line:Uxxx; launch: sapa campaigns resume {campaign_id}")


@campaigns.command("list")
@click.option("--status", default=None)
def campaigns_list(status: str | None) -> None:
    """Campaigns, newest first."""
    from broadcasts import campaigns as cmp
    from broadcasts import results

    settings, engine = _context()
    with Session(engine) as session:
        rows = cmp.list_campaigns(session=session, status=status)
        if not rows:
            click.echo("no campaigns yet: create one with `sapa campaigns create --name ... --text ...`")
        for row in rows:
            stats = results.stats(session=session, campaign_id=row.id,
                                  attribution_days=settings.broadcasts.attribution_days)
            when = row.recurrence or (row.send_at.isoformat()[:16] if row.send_at else "now")
            click.echo(f"{row.id:>5}  {row.status:<10} {row.name[:30]:<30} {when:<17} "
                       f"sent {stats['sent']:,}/{stats['targeted']:,}")


@campaigns.command("show")
@click.argument("campaign_id", type=int)
@click.option("--json", "as_json", is_flag=True)
def campaigns_show(campaign_id: int, as_json: bool) -> None:
    """A campaign's status, stats and notices."""
    from broadcasts import campaigns as cmp
    from broadcasts import results
    from broadcasts.campaign_message import CampaignError

    settings, engine = _context()
    with Session(engine) as session:
        try:
            campaign = cmp.get_campaign(session=session, campaign_id=campaign_id)
        except CampaignError as exc:
            raise click.ClickException(f"{exc}; see `sapa campaigns list`") from None
        stats = results.stats(session=session, campaign_id=campaign_id,
                              attribution_days=settings.broadcasts.attribution_days)
        per = results.stats(session=session, campaign_id=campaign_id, attribution_days=settings.broadcasts.attribution_days,
                            by_variant=True) if campaign.variants else {}
    if as_json:
        click.echo(json.dumps({"id": campaign.id, "status": campaign.status, "stats": stats, "variants": per,
                               "notice": campaign.notice}, indent=2))
        return
    click.echo(f"# {campaign.name} (campaign {campaign.id}): {campaign.status}")
    if campaign.notice:
        click.echo(f"! {campaign.notice}")
    for key in results.STAT_KEYS + ("skipped", "queued", "revenue"):
        click.echo(f"  {key:<9} {stats[key]:>10,}")
    for reason, n in sorted(stats["failed_by_reason"].items()):
        click.echo(f"  {reason:<24} {n:>6,}")
    for name, item in per.items():
        click.echo(f"  variant {name or '-'}: sent {item['sent']:,}, clicked {item['clicked']:,}, "
                   f"replied {item['replied']:,}, orders {item['orders']:,}")
    if campaign.status == "paused":
        click.echo(f"Resume: sapa campaigns resume {campaign.id}")


def _change(action: str, campaign_id: int, trim: bool = False) -> None:
    from broadcasts import actions
    from broadcasts import campaigns as cmp
    from broadcasts.campaign_message import CampaignError

    settings, engine = _context()
    try:
        if action == "resume":
            _queue(settings)  # resuming queues the run's work
            _, status = actions.resume(engine=engine, settings=settings, campaign_id=campaign_id,
                                       quota_policy="trim" if trim else None)
        else:
            with session_scope(engine) as session:
                status = getattr(cmp, action)(session=session, campaign_id=campaign_id).status
    except CampaignError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"campaign {campaign_id} is {status}. Watch: sapa campaigns show {campaign_id}")


@campaigns.command("pause")
@click.argument("campaign_id", type=int)
def campaigns_pause(campaign_id: int) -> None:
    """Pause sending (resume later)."""
    _change("pause", campaign_id)


@campaigns.command("resume")
@click.argument("campaign_id", type=int)
@click.option("--trim", is_flag=True, help="send to as many as the LINE quota allows")
def campaigns_resume(campaign_id: int, trim: bool) -> None:
    """Resume a paused campaign, or launch a draft."""
    _change("resume", campaign_id, trim=trim)


@campaigns.command("cancel")
@click.argument("campaign_id", type=int)
def campaigns_cancel(campaign_id: int) -> None:
    """Cancel: nothing more is sent."""
    _change("cancel", campaign_id)


@campaigns.command("winner")
@click.argument("campaign_id", type=int)
@click.option("--variant", default=None, help="the winner (default: the best by the test's metric)")
def campaigns_winner(campaign_id: int, variant: str | None) -> None:
    """End an A/B test: the winning variant goes to the rest of the audience."""
    from broadcasts import actions
    from broadcasts.campaign_message import CampaignError

    settings, engine = _context()
    _queue(settings)  # the rest of the audience is queued
    try:
        winner, released = actions.send_winner(engine=engine, settings=settings, campaign_id=campaign_id,
                                               variant=variant)
    except CampaignError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"variant {winner} wins; {released:,} more recipients queued. Watch: sapa campaigns show {campaign_id}")


@campaigns.command("export")
@click.argument("campaign_id", type=int)
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), default=None,
              help="file (default stdout)")
def campaigns_export(campaign_id: int, output: str | None) -> None:
    """Every delivery of the campaign as CSV."""
    from broadcasts import campaigns as cmp
    from broadcasts import results
    from broadcasts.campaign_message import CampaignError

    _settings, engine = _context()
    handle = open(output, "w", newline="", encoding="utf-8") if output else sys.stdout  # noqa: SIM115
    try:
        writer = SafeWriter(handle)
        writer.writerow(results.CSV_COLUMNS)
        n = 0
        with Session(engine) as session:
            cmp.get_campaign(session=session, campaign_id=campaign_id)
            for n, row in enumerate(results.export_rows(session=session, campaign_id=campaign_id), 1):
                writer.writerow(row)
    except CampaignError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        if output:
            handle.close()
    if output:
        click.echo(f"{n:,} deliveries written to {output}")


@campaigns.command("test")
@click.argument("campaign_id", type=int)
@click.option("--to", "targets", multiple=True, required=True, help="channel:external_id, e.g. line:Uxxxx")
def campaigns_test(campaign_id: int, targets: tuple[str, ...]) -> None:
    """Send the campaign to staff members' linked chat accounts only (linked with a code on /inbox/me)."""
    from broadcasts import campaigns as cmp
    from broadcasts.campaign_message import CampaignError
    from broadcasts.delivery import test_send
    from crm import staff_links

    _settings, engine = _context()
    parsed = []
    with Session(engine) as session:
        for target in targets:
            channel, _, external = target.partition(":")
            if channel not in ("line", "telegram", "simulator") or not external:
                raise click.ClickException(f"--to {target!r}: use line:Uxxxx or telegram:123456")
            proven = staff_links.proven(session=session, channel=channel, external_id=external)
            if proven is None:
                raise click.ClickException(f"--to {target!r} is not a linked staff account (link yours with a code "
                                           "on the inbox's My chat accounts page)")
            parsed.append(proven)
        try:
            campaign = cmp.get_campaign(session=session, campaign_id=campaign_id)
        except CampaignError as exc:
            raise click.ClickException(str(exc)) from None
        session.expunge(campaign)
    for target, outcome in test_send(get_runtime(), campaign, parsed):
        click.echo(f"{target.channel}:{target.external_id} {outcome.status} {outcome.error or ''}".rstrip())


@campaigns.command("run")
@click.argument("campaign_id", type=int)
def campaigns_run(campaign_id: int) -> None:
    """Send a due campaign in the foreground with progress (instead of a worker)."""
    from broadcasts import delivery, runs
    from crm.outbound import RetryLater

    rt = get_runtime()
    run_id = runs.open_run(rt, campaign_id, "now")
    if run_id is None:
        raise click.ClickException("this campaign is not due (draft, done or cancelled); see `sapa campaigns show`")
    with click.progressbar(length=1, label="resolving audience") as bar:
        def progress(done: int, total: int) -> None:
            bar.length = max(total, 1)
            bar.update(done - bar.pos)
        targeted = runs.resolve(rt, run_id, progress)
    click.echo(f"{targeted:,} deliveries")
    notice = runs.check_quota(rt, run_id)
    if notice:
        click.echo(notice)
    plan = runs.dispatch(rt, run_id)
    if plan.wait_until is not None:
        raise click.ClickException(f"quiet hours: run it again after {plan.wait_until.isoformat()}")
    work = [("chunk", c) for c in plan.chunks] + \
        [("range", r) for r in runs.iter_ranges(rt, run_id, rt.settings.broadcasts.send_batch)]
    with click.progressbar(work, label="sending") as bar:
        for kind, item in bar:
            try:
                if kind == "chunk":
                    delivery.send_chunk(rt, run_id, item)
                else:
                    delivery.send_range(rt, run_id, *item)
            except RetryLater as exc:
                click.echo(f"\n  will retry later: {exc}")
    click.echo(f"done. Results: sapa campaigns show {campaign_id}")


# --- journeys ---------------------------------------------------------------------------


@click.group()
def journeys() -> None:
    """Triggered journeys: welcome, birthday, order follow-up, win-back, abandoned order."""


@journeys.command("list")
def journeys_list() -> None:
    """Every journey and whether it is on."""
    from broadcasts import journeys as data

    _settings, engine = _context()
    with session_scope(engine) as session:
        for row in data.ensure(session=session):
            text = (row.message or {}).get("text") or "(built-in welcome)"
            click.echo(f"{row.key:<16} {'on ' if row.enabled else 'off'}  {json.dumps(row.options)}  {text[:60]}")
    click.echo("Switch with `sapa journeys enable KEY` / `disable KEY`; edit with --text.")


def _switch(key: str, enabled: bool, text: str | None) -> None:
    from broadcasts import journeys as data
    from broadcasts.campaign_message import CampaignError

    _settings, engine = _context()
    try:
        with session_scope(engine) as session:
            data.update(session=session, key=key, enabled=enabled, message={"text": text} if text else None)
    except CampaignError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"journey {key} is {'on' if enabled else 'off'}")


@journeys.command("enable")
@click.argument("key")
@click.option("--text", default=None, help="new message text")
def journeys_enable(key: str, text: str | None) -> None:
    """Switch a journey on (optionally with a new text)."""
    _switch(key, True, text)


@journeys.command("disable")
@click.argument("key")
def journeys_disable(key: str) -> None:
    """Switch a journey off."""
    _switch(key, False, None)
