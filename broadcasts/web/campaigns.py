"""The campaign screens: the list, the form (new, edit, duplicate, live preview), one campaign's
results, its actions (pause, resume or launch, cancel, A/B winner, test-send) and its CSV export."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from sqlmodel import Session, select

from broadcasts import actions
from broadcasts import campaigns as cmp
from broadcasts import results
from broadcasts import schedule as sched
from broadcasts import segments as seg
from broadcasts.campaign_message import CampaignError, validate_message
from broadcasts.delivery import test_send
from broadcasts.models import Campaign, Segment
from broadcasts.tasks import enqueue_campaign
from broadcasts.web.base import campaign_or_404, line_audience, marketing, quota
from broadcasts.web.campaign_form import (
    FormError, campaign_values, form_context, form_from_campaign, message_of, offered_channels, quota_warning,
)
from core.db import session_scope, utcnow
from core.runtime import get_runtime
from crm import promotions as promo_data
from crm import staff_links
from crm.ids import id_arg
from crm.inbox import data
from crm.inbox.auth import current_staff, permission_required
from crm.inbox import i18n
from crm.inbox.i18n import t
from crm.models import Contact
from crm.shop_settings import current_config
from crm.web import engine, settings


def _campaign_page(form: dict[str, Any], error: FormError | None = None, status: int = 200, warning: str = "",
                   editing: Campaign | None = None):
    with Session(engine()) as db:
        context = form_context(db, form)
    return render_template("marketing/campaign_form.html", error=error, warning=warning, editing=editing,
                           **context), status


@marketing.get("/campaigns")
@permission_required("campaigns.manage")
def campaigns():
    """Campaigns with status, schedule and key stats, newest first."""
    status = request.args.get("status") or None
    days = settings().broadcasts.attribution_days
    with Session(engine()) as db:
        rows = [(c, results.stats(session=db, campaign_id=c.id, attribution_days=days), _next_runs(c, 1))
                for c in cmp.list_campaigns(session=db, status=status, limit=50)]
        return render_template("marketing/campaigns.html", rows=rows, status=status, quota=quota(),
                               statuses=("draft", "scheduled", "sending", "done", "paused", "cancelled"))


@marketing.route("/campaigns/new", methods=["GET", "POST"])
@permission_required("campaigns.manage")
def campaign_new():
    """The campaign form: content, audience, A/B, schedule, with previews; saves a draft or schedules."""
    if request.method == "GET":
        form: dict[str, Any] = {"channels": offered_channels(), "audience": "rules", "rules": '{"all": []}',
                                "when": "now", "split_a": 50, "test_percent": 20}
        source, offer, segment_id = id_arg("from"), id_arg("offer"), id_arg("segment")
        with Session(engine()) as db:
            if source is not None:
                campaign = db.get(Campaign, source)
                if campaign is None:
                    abort(404)
                form = {**form, **form_from_campaign(campaign)}
            if offer is not None:
                promotion = db.get(promo_data.Promotion, offer)
                if promotion is None or not promotion.location_based:
                    abort(404)
                form.update(name=promotion.title, promotion_id=promotion.id, text="{promo_title}: " + (
                    promotion.description or "") + " 📍", rules=json.dumps(
                    {"all": [{"field": "offer", "op": "within", "value": promotion.id}]}))
            if segment_id is not None:
                form.update(audience="segment", segment_id=segment_id)
        return _campaign_page(form)
    return _save_campaign(None)


def _save_campaign(editing: Campaign | None):
    """Create (or update) a campaign from the posted form; queue it when it is due now."""
    form = request.form
    values = {key: (form.getlist(key) if key == "channels" else form.get(key)) for key in form}
    try:
        arguments = campaign_values(form)
    except FormError as exc:
        flash(str(exc), "error")
        return _campaign_page(values, exc, 400, editing=editing)
    with Session(engine()) as db:
        if not arguments["draft"] and not form.get("confirm_quota"):
            warning = quota_warning(db, arguments)
            if warning:
                return _campaign_page({**values, "needs_confirm": "1"}, None, 409, warning, editing=editing)
    try:
        with session_scope(engine()) as db:
            if editing is None:
                campaign = cmp.create_campaign(session=db, created_by=f"staff:{current_staff().id}", **arguments)
            else:
                campaign = cmp.update_campaign(session=db, campaign_id=editing.id, **arguments)
            data.audit(session=db, staff=current_staff(), action="campaign.update" if editing else "campaign.create",
                       target_type="campaign", target_id=campaign.id,
                       details={"name": campaign.name, "status": campaign.status})
            campaign_id, status = campaign.id, campaign.status
    except CampaignError as exc:
        error = FormError(exc.field or "", str(exc))
        flash(t("err_campaign", arg=str(exc)), "error")
        return _campaign_page(values, error, exc.status if exc.status in (404, 409) else 422, editing=editing)
    if status == "sending":
        enqueue_campaign(campaign_id, "now")
    flash(t(f"campaign_created_{status}"), "info")
    return redirect(url_for("marketing.campaign", campaign_id=campaign_id), 303)


@marketing.route("/campaigns/<int:campaign_id>/edit", methods=["GET", "POST"])
@permission_required("campaigns.manage")
def campaign_edit(campaign_id: int):
    """Edit a campaign that has not started yet (a draft, or scheduled and never run)."""
    with Session(engine()) as db:
        campaign = campaign_or_404(db, campaign_id)
        db.expunge(campaign)
    if campaign.status not in ("draft", "scheduled"):
        flash(t("err_campaign", arg=t("not_editable")), "error")
        return redirect(url_for("marketing.campaign", campaign_id=campaign_id), 303)
    if request.method == "GET":
        return _campaign_page({"split_a": 50, "test_percent": 20, **form_from_campaign(campaign, copy=False)},
                              editing=campaign)
    return _save_campaign(campaign)


@marketing.post("/campaigns/preview")
@permission_required("campaigns.manage")
def campaign_preview():
    """JSON for the form: the message per channel, the next fire times, the audience and the quota check."""
    form = request.form
    out: dict[str, Any] = {"errors": []}
    promotion = None
    with Session(engine()) as db:
        config = current_config(db, settings())  # the shop name and timezone staff set last
        promotion_id = id_arg("promotion_id", form)
        if promotion_id is not None:
            promotion = db.get(promo_data.Promotion, promotion_id)
        for suffix in ("", "_b") if form.get("ab") else ("",):
            written = message_of(form, suffix)
            if not (written["text"].strip() or written.get("image_url") or written["buttons"]
                    or written["quick_replies"]):
                continue  # nothing written yet (a form just opened): nothing to preview, nothing wrong
            try:
                message = validate_message(written)
                out["render" + suffix] = actions.render_preview(config, message, current_staff().display_name or "Budi",
                                                                promotion)
            except CampaignError as exc:
                out["errors"].append({"field": (exc.field or "") + suffix, "message": str(exc)})
        if form.get("when") == "cron":
            try:
                out["next_runs"] = [i18n.moment(when, config.tz) for when in
                                    sched.next_fire_times(form.get("recurrence", ""), config.tz, utcnow(), 3)]
            except (ValueError, KeyError) as exc:
                out["errors"].append({"field": "recurrence", "message": f"{t('err_cron')} ({exc})"})
        try:
            if form.get("audience") == "segment":
                segment = db.get(Segment, id_arg("segment_id", form) or 0)
                rules = segment.rules if segment else None
            else:
                rules = json.loads(form.get("rules") or "{}")
            if rules is not None:
                channels = form.getlist("channels") or offered_channels()
                out["audience"] = seg.count(session=db, rules=rules)
                out["line_audience"] = line_audience(db, rules, channels)
                monthly = quota()
                out["quota"] = monthly
                if monthly and monthly["left"] is not None and out["line_audience"] > monthly["left"]:
                    policy = form.get("quota_policy") or config.broadcasts.quota_policy
                    out["quota_warning"] = t("quota_refuse" if policy == "refuse" else "quota_trim",
                                             audience=out["line_audience"], left=monthly["left"])
        except seg.SegmentError as exc:
            out["errors"].extend(exc.details)
        except ValueError:
            out["errors"].append({"field": "rules", "message": t("err_rules")})
    return jsonify(out)


def _next_runs(campaign: Campaign, count: int = 3) -> list[datetime]:
    """The next fire times of a scheduled campaign (UTC)."""
    if campaign.status != "scheduled":
        return []
    tz = ZoneInfo(campaign.timezone)
    if campaign.recurrence:
        try:
            return sched.next_fire_times(campaign.recurrence, tz, utcnow(), count)
        except ValueError:
            return []
    return [campaign.send_at] if campaign.send_at else []


@marketing.get("/campaigns/<int:campaign_id>")
@permission_required("campaigns.manage")
def campaign(campaign_id: int):
    """One campaign: its content and schedule, actions, and results per variant with charts."""
    days = settings().broadcasts.attribution_days
    bucket = request.args.get("bucket") if request.args.get("bucket") in ("minute", "hour", "day") else "hour"
    with Session(engine()) as db:
        campaign = campaign_or_404(db, campaign_id)
        totals = results.stats(session=db, campaign_id=campaign_id, attribution_days=days)
        variants = {}
        if campaign.variants:
            per = results.stats(session=db, campaign_id=campaign_id, attribution_days=days, by_variant=True)
            variants = {v["name"]: per.get(v["name"]) for v in campaign.variants}
        series = results.timeseries(session=db, campaign_id=campaign_id, bucket=bucket, tz=settings().tz)
        for point in series:  # the shop's time, in the staff member's words
            moment = datetime.fromisoformat(point["t"].replace("Z", "+00:00"))
            point["label"] = i18n.day(moment.astimezone(settings().tz).date()) if bucket == "day" else \
                i18n.moment(moment, settings().tz)
        segment = db.get(Segment, campaign.segment_id) if campaign.segment_id else None
        promotion = db.get(promo_data.Promotion, campaign.promotion_id) if campaign.promotion_id else None
        linked = bool(staff_links.targets_of(session=db, staff_user_id=current_staff().id))
        trials = staff_links.simulator_targets(session=db) if settings().simulator_enabled else []
        names = {c.id: c.display_name for c in db.execute(select(Contact).where(
            Contact.id.in_([trial.contact_id for trial in trials]))).scalars()}
        charts = {"funnel": [[key, totals[key]] for key in ("targeted", "sent", "clicked", "replied", "orders")],
                  "series": series, "labels": {key: t(f"stat_{key}") for key in
                                               ("targeted", "sent", "failed", "unknown", "blocked", "clicked",
                                                "replied", "orders")}}
        return render_template("marketing/campaign.html", campaign=campaign, totals=totals, variants=variants,
                               charts=charts, segment=segment, promotion=promotion, next_runs=_next_runs(campaign),
                               bucket=bucket, quota=quota(), days=days,
                               linked=linked, trials=[(trial.external_id, names.get(trial.contact_id) or trial.external_id)
                                                      for trial in trials], notes=results.reach_notes(session=db, campaign_id=campaign_id))


DONE = {"pause": "campaign_paused", "resume": "campaign_resumed", "cancel": "campaign_cancelled",
        "winner": "campaign_winner_sent"}


def _act(campaign_id: int, action: str, run) -> Any:
    """Run one campaign action, audit it, and answer with a redirect and a flash."""
    try:
        result = run()
    except CampaignError as exc:
        flash(t("err_campaign", arg=str(exc)), "error")
        return redirect(url_for("marketing.campaign", campaign_id=campaign_id), 303)
    with session_scope(engine()) as db:
        data.audit(session=db, staff=current_staff(), action=f"campaign.{action}", target_type="campaign",
                   target_id=campaign_id, details=result if isinstance(result, dict) else {})
    flash(t(DONE[action]), "info")
    return redirect(url_for("marketing.campaign", campaign_id=campaign_id), 303)


def _change(campaign_id: int, change) -> dict:
    with session_scope(engine()) as db:
        campaign_or_404(db, campaign_id)
        campaign = change(session=db, campaign_id=campaign_id)
        return {"status": campaign.status}


@marketing.post("/campaigns/<int:campaign_id>/pause")
@permission_required("campaigns.manage")
def campaign_pause(campaign_id: int):
    """Pause: nothing more goes out until resumed."""
    return _act(campaign_id, "pause", lambda: _change(campaign_id, cmp.pause))


@marketing.post("/campaigns/<int:campaign_id>/cancel")
@permission_required("campaigns.manage")
def campaign_cancel(campaign_id: int):
    """Cancel for good (unsent messages are dropped)."""
    return _act(campaign_id, "cancel", lambda: _change(campaign_id, cmp.cancel))


@marketing.post("/campaigns/<int:campaign_id>/resume")
@permission_required("campaigns.manage")
def campaign_resume(campaign_id: int):
    """Resume a paused campaign or launch a draft (the API's own resume)."""
    with Session(engine()) as db:
        campaign_or_404(db, campaign_id)
    policy = request.form.get("quota_policy") if request.form.get("quota_policy") in ("refuse", "trim") else None

    def run():
        _, status = actions.resume(engine=engine(), settings=settings(), campaign_id=campaign_id, quota_policy=policy)
        return {"status": status}
    return _act(campaign_id, "resume", run)


@marketing.post("/campaigns/<int:campaign_id>/winner")
@permission_required("campaigns.manage")
def campaign_winner(campaign_id: int):
    """Send the winning (named or best) variant to the rest of the audience."""
    with Session(engine()) as db:
        campaign_or_404(db, campaign_id)
    variant = request.form.get("variant") or None

    def run():
        winner, _released = actions.send_winner(engine=engine(), settings=settings(), campaign_id=campaign_id,
                                                variant=variant)
        return {"winner": winner}
    return _act(campaign_id, "winner", run)


@marketing.post("/campaigns/<int:campaign_id>/test")
@permission_required("campaigns.manage")
def campaign_test(campaign_id: int):
    """Test-send to the staff member's own proven chat accounts, or a simulator chat (it lands in their history)."""
    staff = current_staff()
    with Session(engine()) as db:
        targets = staff_links.targets_of(session=db, staff_user_id=staff.id)
        chosen = request.form.get("simulator")
        if chosen and settings().simulator_enabled:
            targets += staff_links.simulator_targets(session=db, external_ids=[chosen])
    if not targets:
        flash(t("test_needs_accounts"), "error")
        return redirect(url_for("marketing.profile"), 303)
    variant = request.form.get("variant") or ""
    with Session(engine()) as db:
        campaign = campaign_or_404(db, campaign_id)
        if variant and variant not in [v["name"] for v in campaign.variants or []]:
            abort(400)
        db.expunge(campaign)
    outcomes = test_send(get_runtime(), campaign, targets, variant, staff_user_id=staff.id)
    with session_scope(engine()) as db:
        data.audit(session=db, staff=staff, action="campaign.test", target_type="campaign", target_id=campaign_id,
                   details={"targets": [f"{target.channel}:{target.external_id}" for target in targets],
                            "statuses": [outcome.status for _, outcome in outcomes]})
    for target, outcome in outcomes:
        channel = t(f"ch_{target.channel}")
        if outcome.status in ("sent", "unknown"):
            flash(t("test_sent", channel=channel), "info")
        elif outcome.status in ("queued", "sending"):
            flash(t("test_queued", channel=channel), "info")
        else:
            flash(t("test_failed", channel=channel,
                    error=i18n.delivery_error(outcome.error or outcome.status)), "error")
    return redirect(url_for("marketing.campaign", campaign_id=campaign_id), 303)


@marketing.get("/campaigns/<int:campaign_id>/export.csv")
@permission_required("campaigns.manage")
def campaign_export(campaign_id: int):
    """Every delivery of the campaign as CSV (streamed, the API's columns)."""
    with Session(engine()) as db:
        campaign_or_404(db, campaign_id)
    return actions.csv_response(engine(), campaign_id)

