"""`sapa contacts`, `sapa events`: read, import and export contacts and their history, inspect and retry stored webhook events."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from sqlalchemy import update
from sqlmodel import Session, select

from bot.cli.common import fail
from broadcasts import segments
from core import cli as config
from core.db import session_scope
from crm import contact_import
from crm.api.contacts import contact_public, message_public
from crm.contact_export import export_table, write_export
from crm.contacts import identities_of, search_contacts
from crm.history import contact_messages
from crm.models import Contact, WebhookEvent


@click.group()
def contacts() -> None:
    """Read contacts and their history."""


@contacts.command("list")
@click.option("-q", "--query", default=None, help="name, phone or platform id")
@click.option("--channel", type=click.Choice(["line", "telegram", "simulator"]), default=None)
@click.option("--limit", default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def contacts_list(query: str | None, channel: str | None, limit: int, as_json: bool) -> None:
    """List contacts, most recently seen first."""
    with Session(config.engine()) as session:
        rows = search_contacts(session=session, q=query, channel=channel, limit=limit)
        identities = identities_of(session=session, contact_ids=[c.id for c in rows])
        items = [contact_public(c, identities[c.id]).model_dump(mode="json") for c in rows]
    if as_json:
        click.echo(json.dumps(items, ensure_ascii=False, indent=2))
        return
    if not items:
        click.echo("no contacts yet")
    for item in items:
        ids = ", ".join(f"{i['channel']}:{i['external_id']}" for i in item["identities"])
        click.echo(f"{item['id']:>6}  {item['display_name'] or '-':<24} {item['status']:<8} {ids}")


@contacts.command("history")
@click.argument("contact_id", type=int)
@click.option("--json", "as_json", is_flag=True)
def contacts_history(contact_id: int, as_json: bool) -> None:
    """Show a contact's whole history across channels, oldest first."""
    with Session(config.engine()) as session:
        contact = session.get(Contact, contact_id)
        if contact is None:
            fail(f"no contact {contact_id}; find ids with `sapa contacts list`")
        rows = [message_public(row).model_dump(mode="json") for row in
                contact_messages(session=session, contact_id=contact_id, limit=100_000)]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    click.echo(f"# {contact.display_name or contact_id} ({contact.status})")
    for row in rows:
        arrow = "→" if row["direction"] == "out" else "←"
        text = row["text"] if row["text"] is not None else f"[{row['type']}]"
        flags = f" [{row['status']}]" if row["direction"] == "out" else (f" ({row['intent']})" if row["intent"] else "")
        click.echo(f"{row['created_at'][:19]} {row['channel']:<9} {arrow} {text}{flags}")


@contacts.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("more_maps", nargs=-1, metavar="")
@click.option("--dry-run", is_flag=True, help="only show what would be created, merged or rejected")
@click.option("--map", "maps", multiple=True, metavar="COLUMN=FIELD",
              help=f"read COLUMN as FIELD ({', '.join(contact_import.FIELDS)}, custom.<name>; empty skips it); "
                   "without it, columns named like a field are read as that field")
def contacts_import(file: Path, more_maps: tuple[str, ...], dry_run: bool, maps: tuple[str, ...]) -> None:
    """Import contacts from a CSV or XLSX file; rejected rows go to <name>.rejected.csv beside it."""
    overrides = {}
    for item in maps + more_maps:  # `--map A=name B=phone` works as well as `--map A=name --map B=phone`
        column, sep, target = item.partition("=")
        if not sep:
            fail(f"--map takes COLUMN=FIELD, not {item!r}")
        overrides[column] = target
    with click.progressbar(length=1, label="dry run" if dry_run else "importing", file=sys.stderr) as bar:
        def progress(done: int, total: int) -> None:
            bar.length = max(total, done, 1)
            bar.update(done - bar.pos)

        try:
            result = contact_import.import_contacts(engine=config.engine(), path=file, overrides=overrides,
                                                    dry_run=dry_run, progress=progress)
        except contact_import.ImportFileError as exc:
            fail(str(exc))
    if result.rejected:
        click.echo(f"rejected rows, with the column and the reason: {result.report_path}", err=True)
    click.echo(result.line())


@contacts.command("export")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="FILE.csv or FILE.xlsx")
@click.option("--segment", "segment_id", type=int, default=None, help="only the contacts of this saved segment")
@click.option("--rules", default=None, help='only the contacts matching these segment rules (JSON)')
def contacts_export(output: Path, segment_id: int | None, rules: str | None) -> None:
    """Export contacts with every field as CSV or XLSX (by the file's extension)."""
    if segment_id is not None and rules is not None:
        fail("give --segment or --rules, not both")
    try:
        parsed = json.loads(rules) if rules is not None else None
    except ValueError as exc:
        fail(f"--rules is not JSON: {exc}")
    with Session(config.engine()) as session:
        try:
            condition = segments.audience_condition(session=session, segment_id=segment_id, rules=parsed)
        except segments.SegmentError as exc:
            fail(f"{exc} (see `sapa segments list`)")
        header, rows = export_table(session=session, condition=condition)
        count = write_export(output, header, rows)
    click.echo(f"exported {count} contacts to {output}")


@click.group()
def events() -> None:
    """Inspect and retry stored webhook events."""


@events.command("list")
@click.option("--status", default="failed", show_default=True,
              type=click.Choice(["received", "processing", "retrying", "processed", "ignored", "failed"]))
@click.option("--limit", default=50, show_default=True)
def events_list(status: str, limit: int) -> None:
    """List stored events by status (failed ones by default)."""
    with Session(config.engine()) as session:
        rows = session.exec(select(WebhookEvent).where(WebhookEvent.status == status)
                            .order_by(WebhookEvent.id.desc()).limit(limit)).all()
    if not rows:
        click.echo(f"no {status} events")
    for row in rows:
        click.echo(f"{row.id:>8} {row.channel:<9} {row.event_type:<16} attempts={row.attempts} {row.error or ''}")


@events.command("retry")
@click.argument("event_ids", type=int, nargs=-1)
@click.option("--all-failed", is_flag=True, help="retry every failed event")
def events_retry(event_ids: tuple[int, ...], all_failed: bool) -> None:
    """Queue failed events again."""
    # Here, not at the top: the tasks (the pipeline, both SDKs, the handlers) and the queue
    # (Huey) would add over 1 s CPU to every `sapa` command (`sapa --help` took 0.71 s).
    from bot.tasks import enqueue_events
    from core.queue import configure_queue

    configure_queue(config.settings().queue_url)
    with session_scope(config.engine()) as session:
        query = update(WebhookEvent).where(WebhookEvent.status == "failed")
        if not all_failed:
            if not event_ids:
                fail("name event ids or pass --all-failed")
            query = query.where(WebhookEvent.id.in_(event_ids))
        ids = [row[0] for row in session.execute(query.values(status="received").returning(WebhookEvent.id))]
    enqueue_events(ids)
    click.echo(f"queued {len(ids)} event(s) again")
