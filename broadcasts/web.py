"""The marketer's screens in the inbox: segments, campaigns and their results, journeys,
location-based offers, and each staff member's own chat accounts (for test-sends).

Thin views in the inbox's frame (`inbox/base.html`, `permission_required`, `t`, `data.audit`)
over the same functions the REST API calls: the segment compiler (`broadcasts.segments`),
campaign storage, rendering and stats (`broadcasts.campaigns`), and the API's own
launch/resume/winner/preview/quota helpers (`broadcasts.api`). A refused write
re-renders the form with the reason (status 400/409/422) and writes nothing.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta
from typing import Any

from flask import (
    Blueprint, Flask, abort, current_app, flash, jsonify, redirect, render_template, request, session, url_for,
)
from sqlalchemy import select
from sqlmodel import Session

from broadcasts import campaigns as cmp
from broadcasts import journeys as journey_data
from broadcasts import schedule as sched
from broadcasts import segments as seg
from broadcasts.models import Campaign, Segment
from broadcasts import api as api_bc
from crm import contacts as contact_data
from crm import staff_links
from crm import promotions as promo_data
from crm import stores as store_data
from crm.api import ApiError
from core.db import as_utc, session_scope, utcnow
from crm.ids import id_arg, id_value
from crm.inbox import NAV, data
from crm.inbox.auth import current_staff, permission_required
from crm.inbox.i18n import register, t
from crm.models import CHANNELS, StaffUser

marketing = Blueprint("marketing", __name__, url_prefix="/inbox", template_folder="templates",
                      static_folder="static", static_url_path="/marketing/static")

# The rule builder's pickers: field -> (ops, value kind). The compiler (broadcasts.segments) decides.
FIELD_KINDS = {
    "channel": "choice:line,telegram,simulator", "tag": "text", "status": "choice:active,blocked",
    "activity": "choice:active_2w,active_1m,active_6m,dormant", "last_seen_days": "number",
    "first_seen_days": "number", "last_order_days": "number", "orders_count": "number", "total_spent": "number",
    "complaints_open": "number", "product_bought": "text", "category_bought": "text", "birthday_month": "number",
    "birthday_day": "number", "language": "choice:id,en", "near": "near", "offer": "offer",
    "loyalty_tier": "text", "last_seen_at": "date", "first_seen_at": "date", "last_order_at": "date",
}
OPS = ("eq", "ne", "in", "has", "gt", "gte", "lt", "lte", "within")
CRON_PRESETS = (("0 10 * * fri", "cron_friday"), ("0 9 * * *", "cron_daily"), ("0 10 1 * *", "cron_monthly"))


def _engine():
    return current_app.extensions["sapa.engine"]


def _settings():
    return current_app.config["SAPA"]


def _fetch_error(status: int, message: str, details: list | None = None):
    return jsonify(error=message, details=details or []), status


QUOTA_SECONDS = 30


def _quota() -> dict[str, Any] | None:
    """LINE's monthly quota {limit, used, left}, or None when LINE is off or does not answer."""
    # Two LINE calls per read: kept for a few seconds so pages stay fast (the fan-out checks it again).
    cache = current_app.extensions.setdefault("sapa.line_quota", {})
    if cache.get("until", 0) > time.monotonic():
        return cache["value"]
    try:
        value = api_bc.read_quota().model_dump()
    except ApiError:
        value = None
    cache.update(value=value, until=time.monotonic() + QUOTA_SECONDS)
    return value


def _line_audience(session: Session, rules: dict, channels: list[str]) -> int:
    """How many contacts of `rules` are on LINE (what the quota is about)."""
    if "line" not in channels:
        return 0
    line = {"field": "channel", "op": "eq", "value": "line"}
    return seg.count(session=session, rules={"all": [rules, line]} if rules else line)


# --- segments -------------------------------------------------------------------------------


def _parse_rules(raw: str) -> Any:
    """The rules of a form field (JSON); SegmentError when it is not JSON."""
    try:
        return json.loads(raw or "{}")
    except ValueError:
        raise seg.SegmentError([{"field": "rules", "message": "not valid JSON"}]) from None


def _builder_context(session: Session) -> dict[str, Any]:
    return {"fields": FIELD_KINDS, "ops": {name: ops for name, (ops, _) in seg.FIELDS.items() if name in FIELD_KINDS},
            "stores": [{"id": s.id, "name": s.name} for s in store_data.list_stores(session=session)],
            "offers": [{"id": p.id, "name": p.title} for p in promo_data.list_promotions(session=session)
                       if p.location_based],
            "field_labels": {name: t(f"field_{name}") for name in FIELD_KINDS},
            "op_labels": {name: t(f"op_{name}") for name in OPS},
            "texts": {key: t(key) for key in ("match_all", "match_any", "add_rule", "add_group", "remove", "near_store",
                                              "near_point", "km", "counting", "none")}}


@marketing.get("/segments")
@permission_required("segments.manage")
def segments():
    """Saved segments with their live audience counts."""
    with Session(_engine()) as db:
        rows = []
        for row in db.execute(select(Segment).order_by(Segment.id.desc()).limit(200)).scalars():
            try:
                rows.append((row, seg.count(session=db, rules=row.rules)))
            except seg.SegmentError:
                rows.append((row, None))  # e.g. its store was deleted
        return render_template("marketing/segments.html", rows=rows)


def _segment_page(segment: Segment | None, name: str = "", rules: Any = None, errors: list | None = None,
                  status: int = 200):
    with Session(_engine()) as db:
        context = _builder_context(db)
    rules_json = json.dumps(rules if rules is not None else (segment.rules if segment else {"all": []}))
    return render_template("marketing/segment_form.html", segment=segment,
                           name=name or (segment.name if segment else ""), rules_json=rules_json, errors=errors or [], builder=context), status


@marketing.route("/segments/new", methods=["GET", "POST"])
@marketing.route("/segments/<int:segment_id>", methods=["GET", "POST"])
@permission_required("segments.manage")
def segment_form(segment_id: int | None = None):
    """Create or edit a segment with the rule builder (live count and sample while editing)."""
    segment = None
    if segment_id is not None:
        with Session(_engine()) as db:
            segment = db.get(Segment, segment_id)
        if segment is None:
            abort(404)
    if request.method == "GET":
        return _segment_page(segment)
    name = request.form.get("name", "").strip()
    raw = request.form.get("rules", "")
    if not name or len(name) > 200:
        flash(t("err_segment_name"), "error")
        return _segment_page(segment, name, raw and _safe_json(raw), status=400)
    try:
        rules = _parse_rules(raw)
        with session_scope(_engine()) as db:
            if segment is None:
                row = seg.create_segment(session=db, name=name, rules=rules)
                action = "segment.create"
            else:
                row = db.get(Segment, segment.id)
                row.name, row.rules = name, seg.validate_rules(rules, session=db)
                db.add(row)
                db.flush()
                action = "segment.update"
            data.audit(session=db, staff=current_staff(), action=action, target_type="segment", target_id=row.id,
                       details={"name": name, "rules": row.rules})
            new_id = row.id
    except seg.SegmentError as exc:
        flash(t("err_rules"), "error")
        return _segment_page(segment, name, _safe_json(raw), errors=exc.details, status=422)
    flash(t("segment_saved"), "info")
    return redirect(url_for("marketing.segment_form", segment_id=new_id), 303)


def _safe_json(raw: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return {"all": []}


@marketing.post("/segments/<int:segment_id>/delete")
@permission_required("segments.manage")
def segment_delete(segment_id: int):
    """Delete a segment no campaign uses (campaigns keep a copy of their rules, but name the segment)."""
    with session_scope(_engine()) as db:
        row = db.get(Segment, segment_id)
        if row is None:
            abort(404)
        if db.execute(select(Campaign.id).where(Campaign.segment_id == segment_id).limit(1)).first():
            flash(t("segment_in_use"), "error")
            return redirect(url_for("marketing.segment_form", segment_id=segment_id), 303)
        data.audit(session=db, staff=current_staff(), action="segment.delete", target_type="segment",
                   target_id=segment_id, details={"name": row.name})
        db.delete(row)
    flash(t("segment_deleted"), "info")
    return redirect(url_for("marketing.segments"), 303)


@marketing.post("/segments/preview")
@permission_required("segments.manage")
def segment_preview():
    """JSON for the builder: {"count", "sample"} of the rules, or 422 with the compiler's messages."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return _fetch_error(400, "send JSON {\"rules\": …}")
    with Session(_engine()) as db:
        try:
            count = seg.count(session=db, rules=body.get("rules") or {})
            sample = seg.sample(session=db, rules=body.get("rules") or {}, limit=8)
        except seg.SegmentError as exc:
            return _fetch_error(422, t("err_rules"), exc.details)
        identities = contact_data.identities_of(session=db, contact_ids=[c.id for c in sample])
        return jsonify(count=count, sample=[
            {"id": c.id, "name": c.display_name or f"#{c.id}", "url": url_for("inbox.contact_page", contact_id=c.id),
             "channels": sorted({i.channel for i in identities[c.id]}),
             "last_seen": c.last_seen_at.strftime("%Y-%m-%d") if c.last_seen_at else ""} for c in sample])


# --- campaigns ------------------------------------------------------------------------------


def _buttons(form, prefix: str, rows: int) -> list[dict[str, str]]:
    """Buttons of the form's rows (label + kind + value); empty rows are left out."""
    out = []
    for i in range(rows):
        label = form.get(f"{prefix}_label_{i}", "").strip()
        kind = form.get(f"{prefix}_kind_{i}", "url")
        value = form.get(f"{prefix}_value_{i}", "").strip()
        if label or value:
            out.append({"label": label, (kind if kind in ("url", "reply", "text") else "url"): value})
    return out


def _message(form, suffix: str = "") -> dict[str, Any]:
    message = {"text": form.get(f"text{suffix}", ""), "buttons": _buttons(form, f"btn{suffix}", cmp.MAX_BUTTONS),
               "quick_replies": _buttons(form, f"qr{suffix}", 4)}
    image = form.get(f"image_url{suffix}", "").strip()
    if image:
        message["image_url"] = image
    return message


class _FormError(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _campaign_values(form) -> dict[str, Any]:
    """The arguments of `campaigns.create_campaign` from the campaign form."""
    settings = _settings()
    values: dict[str, Any] = {"name": form.get("name", ""), "timezone_name": settings.timezone,
                              "quota_policy": form.get("quota_policy") or settings.broadcasts.quota_policy,
                              "channels": form.getlist("channels") or ["line", "telegram"],
                              "promotion_id": id_arg("promotion_id", form),
                              "misfire_grace_seconds": settings.broadcasts.misfire_grace_seconds}
    if form.get("audience") == "segment":
        values["segment_id"] = id_arg("segment_id", form)
        if values["segment_id"] is None:
            raise _FormError("segment_id", t("err_pick_segment"))
    else:
        try:
            values["rules"] = json.loads(form.get("rules") or "{}")
        except ValueError:
            raise _FormError("rules", t("err_rules")) from None
    message = _message(form)
    if form.get("ab"):
        try:
            split = int(form.get("split_a") or 50)
        except ValueError:
            split = 0
        if not 1 <= split <= 99:
            raise _FormError("split_a", t("err_split"))
        values["variants"] = [{"name": "A", "weight": split, "message": message},
                              {"name": "B", "weight": 100 - split, "message": _message(form, "_b")}]
        values["message"] = None
        if form.get("winner_rest"):
            try:
                values["ab_test"] = {"test_percent": int(form.get("test_percent") or 20),
                                     "metric": form.get("metric") or "clicked"}
            except ValueError:
                raise _FormError("test_percent", t("err_bad_number")) from None
    else:
        values["message"] = message
    when = form.get("when", "now")
    if when == "at":
        try:
            values["send_at"] = datetime.fromisoformat(form.get("send_at", ""))  # naive = shop time
        except ValueError:
            raise _FormError("send_at", t("err_bad_date")) from None
    elif when == "cron":
        values["recurrence"] = form.get("recurrence", "").strip() or None
        if values["recurrence"] is None:
            raise _FormError("recurrence", t("err_cron"))
    values["draft"] = form.get("submit") == "draft"
    return values


def _campaign_form_context(db: Session, form: dict[str, Any]) -> dict[str, Any]:
    return {"form": form, "segments": db.execute(select(Segment).order_by(Segment.name)).scalars().all(),
            "promotions": promo_data.list_promotions(session=db), "variables": cmp.VARIABLES,
            "builder": _builder_context(db), "cron_presets": CRON_PRESETS, "quota": _quota(),
            "default_policy": _settings().broadcasts.quota_policy, "max_buttons": cmp.MAX_BUTTONS}


def _form_from_campaign(campaign: Campaign, copy: bool = True) -> dict[str, Any]:
    """The form filled from an existing campaign (to edit it, or as a new copy)."""
    form: dict[str, Any] = {"name": f"{campaign.name} (2)" if copy else campaign.name, "channels": campaign.channels,
                            "promotion_id": campaign.promotion_id or "", "quota_policy": campaign.quota_policy,
                            "audience": "segment" if campaign.segment_id else "rules",
                            "segment_id": campaign.segment_id or "", "rules": json.dumps(campaign.rules or {})}
    messages = [("", campaign.message)]
    if campaign.variants:
        form.update(ab="1", split_a=campaign.variants[0]["weight"] * 100 // sum(v["weight"] for v in campaign.variants))
        messages = [("", campaign.variants[0]["message"]), ("_b", campaign.variants[1]["message"])]
        if campaign.ab_test:
            form.update(winner_rest="1", test_percent=campaign.ab_test.get("test_percent"),
                        metric=campaign.ab_test.get("metric"))
    for suffix, message in messages:
        form[f"text{suffix}"] = message.get("text", "")
        form[f"image_url{suffix}"] = message.get("image_url") or ""
        for prefix, key in (("btn", "buttons"), ("qr", "quick_replies")):
            for i, button in enumerate(message.get(key) or []):
                kind = next(k for k in ("url", "reply", "text") if k in button)
                form.update({f"{prefix}{suffix}_label_{i}": button["label"], f"{prefix}{suffix}_kind_{i}": kind,
                             f"{prefix}{suffix}_value_{i}": button[kind]})
    if campaign.recurrence:
        form.update(when="cron", recurrence=campaign.recurrence)
    elif campaign.send_at and not copy:
        form.update(when="at", send_at=campaign.send_at.astimezone(_settings().tz).strftime("%Y-%m-%dT%H:%M"))
    return form


def _campaign_page(form: dict[str, Any], error: _FormError | None = None, status: int = 200, warning: str = "",
                   editing: Campaign | None = None):
    with Session(_engine()) as db:
        context = _campaign_form_context(db, form)
    return render_template("marketing/campaign_form.html", error=error, warning=warning, editing=editing,
                           **context), status


@marketing.get("/campaigns")
@permission_required("campaigns.manage")
def campaigns():
    """Campaigns with status, schedule and key stats, newest first."""
    status = request.args.get("status") or None
    days = _settings().broadcasts.attribution_days
    with Session(_engine()) as db:
        rows = [(c, cmp.stats(session=db, campaign_id=c.id, attribution_days=days), _next_runs(c, 1))
                for c in cmp.list_campaigns(session=db, status=status, limit=50)]
        return render_template("marketing/campaigns.html", rows=rows, status=status, quota=_quota(),
                               statuses=("draft", "scheduled", "sending", "done", "paused", "cancelled"))


@marketing.route("/campaigns/new", methods=["GET", "POST"])
@permission_required("campaigns.manage")
def campaign_new():
    """The campaign form: content, audience, A/B, schedule, with previews; saves a draft or schedules."""
    if request.method == "GET":
        form: dict[str, Any] = {"channels": ["line", "telegram"], "audience": "rules", "rules": '{"all": []}',
                                "when": "now", "split_a": 50, "test_percent": 20}
        source, offer, segment_id = id_arg("from"), id_arg("offer"), id_arg("segment")
        with Session(_engine()) as db:
            if source is not None:
                campaign = db.get(Campaign, source)
                if campaign is None:
                    abort(404)
                form = {**form, **_form_from_campaign(campaign)}
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
        arguments = _campaign_values(form)
    except _FormError as exc:
        flash(str(exc), "error")
        return _campaign_page(values, exc, 400, editing=editing)
    with Session(_engine()) as db:
        if not arguments["draft"] and not form.get("confirm_quota"):
            warning = _quota_warning(db, arguments)
            if warning:
                return _campaign_page({**values, "needs_confirm": "1"}, None, 409, warning, editing=editing)
    try:
        with session_scope(_engine()) as db:
            if editing is None:
                campaign = cmp.create_campaign(session=db, created_by=f"staff:{current_staff().id}", **arguments)
            else:
                campaign = cmp.update_campaign(session=db, campaign_id=editing.id, **arguments)
            data.audit(session=db, staff=current_staff(), action="campaign.update" if editing else "campaign.create",
                       target_type="campaign", target_id=campaign.id,
                       details={"name": campaign.name, "status": campaign.status})
            campaign_id, status = campaign.id, campaign.status
    except cmp.CampaignError as exc:
        error = _FormError(exc.field or "", str(exc))
        flash(t("err_campaign", arg=str(exc)), "error")
        return _campaign_page(values, error, exc.status if exc.status in (404, 409) else 422, editing=editing)
    if status == "sending":
        api_bc._enqueue_campaign(campaign_id, "now")
    flash(t(f"campaign_created_{status}"), "info")
    return redirect(url_for("marketing.campaign", campaign_id=campaign_id), 303)


@marketing.route("/campaigns/<int:campaign_id>/edit", methods=["GET", "POST"])
@permission_required("campaigns.manage")
def campaign_edit(campaign_id: int):
    """Edit a campaign that has not started yet (a draft, or scheduled and never run)."""
    with Session(_engine()) as db:
        campaign = _campaign_or_404(db, campaign_id)
        db.expunge(campaign)
    if campaign.status not in ("draft", "scheduled"):
        flash(t("err_campaign", arg=t("not_editable")), "error")
        return redirect(url_for("marketing.campaign", campaign_id=campaign_id), 303)
    if request.method == "GET":
        return _campaign_page({"split_a": 50, "test_percent": 20, **_form_from_campaign(campaign, copy=False)},
                              editing=campaign)
    return _save_campaign(campaign)


def _quota_warning(db: Session, arguments: dict[str, Any]) -> str:
    """The warning to confirm when the LINE audience exceeds what is left of the monthly quota."""
    quota = _quota()
    if quota is None or quota["left"] is None:
        return ""
    rules = arguments.get("rules")
    if arguments.get("segment_id") is not None:
        segment = db.get(Segment, arguments["segment_id"])
        rules = segment.rules if segment else {}
    try:
        audience = _line_audience(db, rules or {}, arguments["channels"])
    except seg.SegmentError:
        return ""  # create_campaign reports the rules
    if audience <= quota["left"]:
        return ""
    key = "quota_refuse" if arguments["quota_policy"] == "refuse" else "quota_trim"
    return t(key, audience=audience, left=quota["left"])


@marketing.post("/campaigns/preview")
@permission_required("campaigns.manage")
def campaign_preview():
    """JSON for the form: the message per channel, the next fire times, the audience and the quota check."""
    form = request.form
    out: dict[str, Any] = {"errors": []}
    settings = _settings()
    promotion = None
    with Session(_engine()) as db:
        promotion_id = id_arg("promotion_id", form)
        if promotion_id is not None:
            promotion = db.get(promo_data.Promotion, promotion_id)
        for suffix in ("", "_b") if form.get("ab") else ("",):
            try:
                message = cmp.validate_message(_message(form, suffix))
                out["render" + suffix] = api_bc.render_preview(message, current_staff().display_name or "Budi",
                                                               promotion)
            except cmp.CampaignError as exc:
                out["errors"].append({"field": (exc.field or "") + suffix, "message": str(exc)})
        if form.get("when") == "cron":
            try:
                out["next_runs"] = [moment.astimezone(settings.tz).strftime("%a %d %b %Y %H:%M") for moment in
                                    sched.next_fire_times(form.get("recurrence", ""), settings.tz, utcnow(), 3)]
            except (ValueError, KeyError) as exc:
                out["errors"].append({"field": "recurrence", "message": f"{t('err_cron')} ({exc})"})
        try:
            if form.get("audience") == "segment":
                segment = db.get(Segment, id_arg("segment_id", form) or 0)
                rules = segment.rules if segment else None
            else:
                rules = json.loads(form.get("rules") or "{}")
            if rules is not None:
                channels = form.getlist("channels") or ["line", "telegram"]
                out["audience"] = seg.count(session=db, rules=rules)
                out["line_audience"] = _line_audience(db, rules, channels)
                quota = _quota()
                out["quota"] = quota
                if quota and quota["left"] is not None and out["line_audience"] > quota["left"]:
                    policy = form.get("quota_policy") or settings.broadcasts.quota_policy
                    out["quota_warning"] = t("quota_refuse" if policy == "refuse" else "quota_trim",
                                             audience=out["line_audience"], left=quota["left"])
        except seg.SegmentError as exc:
            out["errors"].extend(exc.details)
        except ValueError:
            out["errors"].append({"field": "rules", "message": t("err_rules")})
    return jsonify(out)


def _next_runs(campaign: Campaign, count: int = 3) -> list[datetime]:
    """The next fire times of a scheduled campaign (UTC)."""
    if campaign.status != "scheduled":
        return []
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(campaign.timezone)
    if campaign.recurrence:
        try:
            return sched.next_fire_times(campaign.recurrence, tz, utcnow(), count)
        except ValueError:
            return []
    return [campaign.send_at] if campaign.send_at else []


def _campaign_or_404(db: Session, campaign_id: int) -> Campaign:
    campaign = db.get(Campaign, campaign_id)
    if campaign is None or campaign.kind != "campaign":
        abort(404)
    return campaign


@marketing.get("/campaigns/<int:campaign_id>")
@permission_required("campaigns.manage")
def campaign(campaign_id: int):
    """One campaign: its content and schedule, actions, and results per variant with charts."""
    days = _settings().broadcasts.attribution_days
    bucket = request.args.get("bucket") if request.args.get("bucket") in ("minute", "hour", "day") else "hour"
    with Session(_engine()) as db:
        campaign = _campaign_or_404(db, campaign_id)
        totals = cmp.stats(session=db, campaign_id=campaign_id, attribution_days=days)
        variants = {}
        if campaign.variants:
            per = cmp.stats(session=db, campaign_id=campaign_id, attribution_days=days, by_variant=True)
            variants = {v["name"]: per.get(v["name"]) for v in campaign.variants}
        series = cmp.timeseries(session=db, campaign_id=campaign_id, bucket=bucket)
        segment = db.get(Segment, campaign.segment_id) if campaign.segment_id else None
        promotion = db.get(promo_data.Promotion, campaign.promotion_id) if campaign.promotion_id else None
        linked = bool(staff_links.targets_of(session=db, staff_user_id=current_staff().id))
        charts = {"funnel": [[key, totals[key]] for key in ("targeted", "sent", "clicked", "replied", "orders")],
                  "series": series, "labels": {key: t(f"stat_{key}") for key in
                                               ("targeted", "sent", "failed", "unknown", "blocked", "clicked",
                                                "replied", "orders")}}
        return render_template("marketing/campaign.html", campaign=campaign, totals=totals, variants=variants,
                               charts=charts, segment=segment, promotion=promotion, next_runs=_next_runs(campaign),
                               bucket=bucket, quota=_quota(), days=days,
                               linked=linked)


DONE = {"pause": "campaign_paused", "resume": "campaign_resumed", "cancel": "campaign_cancelled",
        "winner": "campaign_winner_sent"}


def _act(campaign_id: int, action: str, run) -> Any:
    """Run one campaign action, audit it, and answer with a redirect and a flash."""
    try:
        result = run()
    except cmp.CampaignError as exc:
        flash(t("err_campaign", arg=str(exc)), "error")
        return redirect(url_for("marketing.campaign", campaign_id=campaign_id), 303)
    with session_scope(_engine()) as db:
        data.audit(session=db, staff=current_staff(), action=f"campaign.{action}", target_type="campaign",
                   target_id=campaign_id, details=result if isinstance(result, dict) else {})
    flash(t(DONE[action]), "info")
    return redirect(url_for("marketing.campaign", campaign_id=campaign_id), 303)


def _change(campaign_id: int, change) -> dict:
    with session_scope(_engine()) as db:
        _campaign_or_404(db, campaign_id)
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
    with Session(_engine()) as db:
        _campaign_or_404(db, campaign_id)
    policy = request.form.get("quota_policy") if request.form.get("quota_policy") in ("refuse", "trim") else None

    def run():
        _, status = api_bc.resume_and_enqueue(campaign_id, policy)
        return {"status": status}
    return _act(campaign_id, "resume", run)


@marketing.post("/campaigns/<int:campaign_id>/winner")
@permission_required("campaigns.manage")
def campaign_winner(campaign_id: int):
    """Send the winning (named or best) variant to the rest of the audience."""
    with Session(_engine()) as db:
        _campaign_or_404(db, campaign_id)
    variant = request.form.get("variant") or None
    return _act(campaign_id, "winner", lambda: {"winner": api_bc.send_winner(campaign_id, variant)})


@marketing.post("/campaigns/<int:campaign_id>/test")
@permission_required("campaigns.manage")
def campaign_test(campaign_id: int):
    """Test-send to the staff member's own proven chat accounts only (it lands in their history)."""
    from core.runtime import get_runtime
    from broadcasts.fanout import test_send

    staff = current_staff()
    with Session(_engine()) as db:
        targets = staff_links.targets_of(session=db, staff_user_id=staff.id)
    if not targets:
        flash(t("test_needs_accounts"), "error")
        return redirect(url_for("marketing.profile"), 303)
    variant = request.form.get("variant") or ""
    with Session(_engine()) as db:
        campaign = _campaign_or_404(db, campaign_id)
        if variant and variant not in [v["name"] for v in campaign.variants or []]:
            abort(400)
        db.expunge(campaign)
    results = test_send(get_runtime(), campaign, targets, variant, staff_user_id=staff.id)
    with session_scope(_engine()) as db:
        data.audit(session=db, staff=staff, action="campaign.test", target_type="campaign", target_id=campaign_id,
                   details={"targets": [f"{target.channel}:{target.external_id}" for target in targets],
                            "statuses": [outcome.status for _, outcome in results]})
    for target, outcome in results:
        channel = t(f"ch_{target.channel}")
        if outcome.status in ("sent", "unknown"):
            flash(t("test_sent", channel=channel), "info")
        elif outcome.status in ("queued", "sending"):
            flash(t("test_queued", channel=channel), "info")
        else:
            flash(t("test_failed", channel=channel, error=outcome.error or outcome.status), "error")
    return redirect(url_for("marketing.campaign", campaign_id=campaign_id), 303)


@marketing.get("/campaigns/<int:campaign_id>/export.csv")
@permission_required("campaigns.manage")
def campaign_export(campaign_id: int):
    """Every delivery of the campaign as CSV (streamed, the API's columns)."""
    engine = _engine()
    with Session(engine) as db:
        _campaign_or_404(db, campaign_id)
    return api_bc.csv_response(engine, campaign_id)


# --- journeys -------------------------------------------------------------------------------


@marketing.get("/journeys")
@permission_required("campaigns.manage")
def journeys():
    """The triggered journeys with their switches, messages and parameters."""
    with session_scope(_engine()) as db:  # ensure() creates missing journeys with their defaults
        rows = journey_data.ensure(session=db)
        promotions = promo_data.list_promotions(session=db)
        return render_template("marketing/journeys.html", rows=rows, promotions=promotions,
                               variables=cmp.VARIABLES)


@marketing.post("/journeys/<key>")
@permission_required("campaigns.manage")
def journey_update(key: str):
    """Switch a journey on/off, or edit its message and parameters."""
    if key not in journey_data.DEFAULTS:
        abort(404)
    form = request.form
    enabled = {"1": True, "0": False}.get(form.get("enabled", ""))
    message, options = None, None
    if "text" in form:
        message = {"text": form.get("text", ""), "quick_replies": [
            q for q in _buttons(form, "qr", 2)]} if key != "welcome" else {"text": form.get("text", "")}
        if key == "welcome" and not form.get("text", "").strip():
            message = None  # the built-in welcome
        options = {}
        for name in journey_data.DEFAULTS[key]["options"]:
            raw = form.get(name, "").strip()
            if name == "promotion_id":
                options[name] = id_value(raw)
            elif raw:
                if not raw.isdigit():
                    flash(t("err_bad_number"), "error")
                    return redirect(url_for("marketing.journeys", _anchor=key), 303)
                options[name] = int(raw)
    try:
        with session_scope(_engine()) as db:
            journey_data.update(session=db, key=key, enabled=enabled, message=message, options=options)
            data.audit(session=db, staff=current_staff(), action="journey.update", target_type="journey",
                       details={"key": key, "enabled": enabled, "message": message, "options": options})
    except cmp.CampaignError as exc:
        flash(t("err_campaign", arg=str(exc)), "error")
        return redirect(url_for("marketing.journeys", _anchor=key), 303)
    flash(t("journey_saved", name=t(f"journey_{key}")), "info")
    return redirect(url_for("marketing.journeys", _anchor=key), 303)


# --- location-based offers ------------------------------------------------------------------


@marketing.get("/offers")
@permission_required("offers.manage")
def offers():
    """Promotions with their store and radius (location-based offers), and how many customers are inside."""
    with Session(_engine()) as db:
        stores = store_data.list_stores(session=db)
        rows = []
        for promotion in promo_data.list_promotions(session=db):
            inside = seg.count(session=db, rules={"field": "offer", "op": "within", "value": promotion.id}) \
                if promotion.location_based else None
            rows.append((promotion, inside))
        return render_template("marketing/offers.html", rows=rows, stores={s.id: s for s in stores},
                               store_list=stores, now=utcnow())


@marketing.post("/offers/<int:promotion_id>")
@permission_required("offers.manage")
def offer_update(promotion_id: int):
    """Tie a promotion to a store and radius (or untie it), and change its validity."""
    form = request.form
    changes: dict[str, Any] = {}
    try:
        store_id = id_arg("store_id", form)
        radius = form.get("radius_km", "").strip()
        changes["store_id"] = store_id
        changes["radius_km"] = float(radius) if radius and store_id is not None else None
        if store_id is not None and changes["radius_km"] is None:
            raise ValueError(t("err_radius"))
        tz = _settings().tz
        for name in ("starts_at", "ends_at"):
            if form.get(name):
                changes[name] = sched.to_utc(datetime.fromisoformat(form[name]), tz)
        changes["active"] = bool(form.get("active"))
        with session_scope(_engine()) as db:
            promotion = db.get(promo_data.Promotion, promotion_id)
            if promotion is None:
                abort(404)
            promo_data.update_promotion(session=db, promotion=promotion, changes=changes)
            data.audit(session=db, staff=current_staff(), action="offer.update", target_type="promotion",
                       target_id=promotion_id, details={k: str(v) for k, v in changes.items()})
    except ValueError as exc:
        flash(t("err_offer", arg=str(exc)), "error")
        return redirect(url_for("marketing.offers", _anchor=f"offer-{promotion_id}"), 303)
    flash(t("saved"), "info")
    return redirect(url_for("marketing.offers", _anchor=f"offer-{promotion_id}"), 303)


# --- my chat accounts -----------------------------------------------------------------------


@marketing.route("/me", methods=["GET", "POST"])
@permission_required("profile.edit")
def profile():
    """The staff member's own chat accounts (campaign test-sends go there): link one with a code, or unlink."""
    staff = current_staff()
    if request.method == "GET":
        return _profile_page(staff)
    action = request.form.get("action")
    if action == "code":
        with session_scope(_engine()) as db:
            code, expires_at = staff_links.new_code(session=db, staff_user_id=staff.id)
            data.audit(session=db, staff=staff, action="staff.link_code", target_type="staff", target_id=staff.id)
        # Shown by the GET this redirects to: reloading the page (as it asks, once the bot has
        # answered) must not post again and make a new code.
        session[LINK_CODE_KEY] = [code, expires_at.isoformat()]
        return redirect(url_for("marketing.profile"), 303)
    channel = request.form.get("channel", "")
    if action == "unlink" and channel in CHANNELS:
        with session_scope(_engine()) as db:
            if staff_links.unlink(session=db, staff_user_id=staff.id, channel=channel):
                data.audit(session=db, staff=staff, action="staff.chat_unlink", target_type="staff",
                           target_id=staff.id, details={"channel": channel})
        flash(t("account_unlinked", channel=t(f"ch_{channel}")), "info")
        return redirect(url_for("marketing.profile"), 303)
    # Typing in an account id proves nothing (it may be any customer's): only a code links one.
    flash(t("err_link_with_code"), "error")
    return _profile_page(staff, status=400)


LINK_CODE_KEY = "link_code"


def _profile_page(staff: StaffUser, status: int = 200):
    with Session(_engine()) as db:
        links = staff_links.links_of(session=db, staff_user_id=staff.id)
    code, expires_at = _pending_code(links)
    username = _settings().telegram.username
    return render_template("marketing/profile.html", links=links, code=code, minutes=staff_links.CODE_MINUTES,
                           expires=expires_at.astimezone(_settings().tz).strftime("%H:%M") if expires_at else "",
                           telegram_link=f"https://t.me/{username}?start={code}" if code and username else None,
                           channels=_settings().channels), status


def _pending_code(links) -> tuple[str | None, datetime | None]:
    """The link code this session was last shown, while it can still be used (else forgotten)."""
    code, expires = session.get(LINK_CODE_KEY) or (None, None)
    if code is None:
        return None, None
    expires_at = datetime.fromisoformat(expires)
    made_at = expires_at - timedelta(minutes=staff_links.CODE_MINUTES)
    # A code is used once: an account linked since it was made used it.
    if expires_at <= utcnow() or any(as_utc(link.linked_at) >= made_at for link, _contact in links):
        session.pop(LINK_CODE_KEY, None)
        return None, None
    return code, expires_at


# --- registration ---------------------------------------------------------------------------


def init_marketing(app: Flask) -> None:
    """Register the marketer's screens and their navigation entries (after the inbox)."""
    app.register_blueprint(marketing)
    for entry in (("marketing.segments", "nav_segments", "segments.manage"),
                  ("marketing.campaigns", "nav_campaigns", "campaigns.manage"),
                  ("marketing.journeys", "nav_journeys", "campaigns.manage"),
                  ("marketing.offers", "nav_offers", "offers.manage")):
        if entry not in NAV:
            NAV.insert(len(NAV) - 3, entry)  # before the admin-only canned replies, staff and audit


register({
    "nav_segments": {"id": "Segmen", "en": "Segments"},
    "nav_campaigns": {"id": "Kampanye", "en": "Campaigns"},
    "nav_journeys": {"id": "Journey", "en": "Journeys"},
    "nav_offers": {"id": "Promo lokasi", "en": "Location offers"},
    "nav_me": {"id": "Akun chat saya", "en": "My chat accounts"},
    # segments
    "segments": {"id": "Segmen", "en": "Segments"},
    "new_segment": {"id": "Segmen baru", "en": "New segment"},
    "segment_name": {"id": "Nama segmen", "en": "Segment name"},
    "audience_count": {"id": "Jumlah audiens", "en": "Audience"},
    "customers": {"id": "pelanggan", "en": "customers"},
    "rules": {"id": "Aturan", "en": "Rules"},
    "rules_json": {"id": "Aturan (JSON)", "en": "Rules (JSON)"},
    "match_all": {"id": "Semua syarat (DAN)", "en": "All of (AND)"},
    "match_any": {"id": "Salah satu syarat (ATAU)", "en": "Any of (OR)"},
    "add_rule": {"id": "+ Syarat", "en": "+ Rule"},
    "add_group": {"id": "+ Grup", "en": "+ Group"},
    "remove": {"id": "Hapus", "en": "Remove"},
    "delete": {"id": "Hapus", "en": "Delete"},
    "confirm_delete": {"id": "Yakin hapus?", "en": "Delete for sure?"},
    "sample_contacts": {"id": "Contoh pelanggan", "en": "Sample customers"},
    "counting": {"id": "Menghitung…", "en": "Counting…"},
    "segment_saved": {"id": "Segmen tersimpan.", "en": "Segment saved."},
    "segment_deleted": {"id": "Segmen dihapus.", "en": "Segment deleted."},
    "segment_in_use": {"id": "Segmen dipakai kampanye, tidak bisa dihapus.",
                       "en": "A campaign uses this segment; it cannot be deleted."},
    "err_segment_name": {"id": "Nama segmen wajib (maks. 200).", "en": "A segment needs a name (max 200)."},
    "err_rules": {"id": "Aturan tidak valid.", "en": "The rules are not valid."},
    "near_store": {"id": "Toko", "en": "Store"},
    "near_point": {"id": "Titik (lat, lon)", "en": "Point (lat, lon)"},
    "km": {"id": "km", "en": "km"},
    "broken_rules": {"id": "aturan rusak", "en": "broken rules"},
    "use_in_campaign": {"id": "Pakai di kampanye", "en": "Use in a campaign"},
    # fields of the rule builder
    **{f"field_{name}": texts for name, texts in {
        "channel": {"id": "Kanal", "en": "Channel"}, "tag": {"id": "Tag", "en": "Tag"},
        "status": {"id": "Status", "en": "Status"}, "activity": {"id": "Aktivitas", "en": "Activity"},
        "last_seen_days": {"id": "Terakhir aktif (hari lalu)", "en": "Last seen (days ago)"},
        "first_seen_days": {"id": "Pertama datang (hari lalu)", "en": "First seen (days ago)"},
        "last_order_days": {"id": "Pesanan terakhir (hari lalu)", "en": "Last order (days ago)"},
        "orders_count": {"id": "Jumlah pesanan", "en": "Orders"},
        "total_spent": {"id": "Total belanja (Rp)", "en": "Total spent (Rp)"},
        "complaints_open": {"id": "Keluhan terbuka", "en": "Open complaints"},
        "product_bought": {"id": "Pernah beli produk", "en": "Product bought"},
        "category_bought": {"id": "Pernah beli kategori", "en": "Category bought"},
        "birthday_month": {"id": "Bulan ulang tahun", "en": "Birthday month"},
        "birthday_day": {"id": "Tanggal ulang tahun", "en": "Birthday day"},
        "language": {"id": "Bahasa", "en": "Language"},
        "near": {"id": "Dekat toko / titik", "en": "Near a store / point"},
        "offer": {"id": "Di radius promo lokasi", "en": "Inside a location offer"},
        "loyalty_tier": {"id": "Tingkat loyalitas", "en": "Loyalty tier"},
        "last_seen_at": {"id": "Terakhir aktif (tanggal)", "en": "Last seen (date)"},
        "first_seen_at": {"id": "Pertama datang (tanggal)", "en": "First seen (date)"},
        "last_order_at": {"id": "Pesanan terakhir (tanggal)", "en": "Last order (date)"},
    }.items()},
    **{f"op_{name}": texts for name, texts in {
        "eq": {"id": "=", "en": "="}, "ne": {"id": "≠", "en": "≠"}, "in": {"id": "salah satu", "en": "one of"},
        "has": {"id": "punya", "en": "has"}, "gt": {"id": ">", "en": ">"}, "gte": {"id": "≥", "en": "≥"},
        "lt": {"id": "<", "en": "<"}, "lte": {"id": "≤", "en": "≤"}, "within": {"id": "dalam", "en": "within"},
    }.items()},
    # campaigns
    "campaigns": {"id": "Kampanye", "en": "Campaigns"},
    "new_campaign": {"id": "Kampanye baru", "en": "New campaign"},
    "campaign_name": {"id": "Nama kampanye", "en": "Campaign name"},
    "message": {"id": "Pesan", "en": "Message"},
    "message_text": {"id": "Teks pesan", "en": "Message text"},
    "variables_help": {"id": "Variabel yang bisa dipakai:", "en": "Variables you can use:"},
    "image_https": {"id": "URL gambar (https://)", "en": "Image URL (https://)"},
    "buttons": {"id": "Tombol", "en": "Buttons"},
    "quick_reply_buttons": {"id": "Balasan cepat (quick reply)", "en": "Quick replies"},
    "button_label": {"id": "Label", "en": "Label"},
    "kind_url": {"id": "Buka link", "en": "Open link"},
    "kind_reply": {"id": "Jawaban bot (postback)", "en": "Bot answer (postback)"},
    "kind_text": {"id": "Kirim teks", "en": "Send text"},
    "promotion": {"id": "Promo / voucher", "en": "Promotion / voucher"},
    "audience": {"id": "Audiens", "en": "Audience"},
    "audience_segment": {"id": "Segmen tersimpan", "en": "A saved segment"},
    "audience_rules": {"id": "Aturan sendiri", "en": "Own rules"},
    "channels": {"id": "Kanal", "en": "Channels"},
    "ch_line": {"id": "LINE", "en": "LINE"},
    "ch_telegram": {"id": "Telegram", "en": "Telegram"},
    "ch_simulator": {"id": "Simulator", "en": "Simulator"},
    "ab_test": {"id": "Uji A/B", "en": "A/B test"},
    "ab_enable": {"id": "Dua varian (A dan B)", "en": "Two variants (A and B)"},
    "split_a": {"id": "Porsi A (%)", "en": "Share of A (%)"},
    "winner_rest": {"id": "Uji ke sebagian dulu, pemenang dikirim ke sisanya",
                    "en": "Test on a part first, send the winner to the rest"},
    "test_percent": {"id": "Porsi uji (%)", "en": "Test share (%)"},
    "metric": {"id": "Ukuran pemenang", "en": "Winner by"},
    "variant_b": {"id": "Varian B", "en": "Variant B"},
    "schedule": {"id": "Jadwal", "en": "Schedule"},
    "when_now": {"id": "Kirim sekarang", "en": "Send now"},
    "when_at": {"id": "Pada tanggal & jam", "en": "At a date & time"},
    "when_cron": {"id": "Berulang (cron)", "en": "Recurring (cron)"},
    "shop_time": {"id": "waktu toko ({tz})", "en": "shop time ({tz})"},
    "cron_help": {"id": "menit jam tanggal bulan hari, mis. 0 10 * * fri = tiap Jumat 10:00",
                  "en": "minute hour day month weekday, e.g. 0 10 * * fri = every Friday 10:00"},
    "cron_friday": {"id": "Tiap Jumat 10:00", "en": "Every Friday 10:00"},
    "cron_daily": {"id": "Tiap hari 09:00", "en": "Every day 09:00"},
    "cron_monthly": {"id": "Tiap tgl 1, 10:00", "en": "The 1st, 10:00"},
    "next_runs": {"id": "Jadwal berikutnya", "en": "Next runs"},
    "quota_policy": {"id": "Jika kuota LINE kurang", "en": "When the LINE quota is short"},
    "policy_refuse": {"id": "Tolak kampanye", "en": "Refuse the campaign"},
    "policy_trim": {"id": "Potong audiens LINE", "en": "Trim the LINE audience"},
    "line_quota": {"id": "Kuota LINE bulan ini", "en": "LINE quota this month"},
    "quota_left": {"id": "sisa {left} dari {limit}", "en": "{left} of {limit} left"},
    "quota_unlimited": {"id": "tanpa batas", "en": "unlimited"},
    "quota_unknown": {"id": "tidak diketahui (LINE mati atau tidak menjawab)", "en": "unknown (LINE off or not answering)"},
    "quota_refuse": {"id": "Audiens LINE {audience} melebihi sisa kuota {left}: kampanye akan DITOLAK saat dikirim.",
                     "en": "The LINE audience of {audience} exceeds the {left} messages left: the campaign will be REFUSED when sending."},
    "quota_trim": {"id": "Audiens LINE {audience} melebihi sisa kuota {left}: hanya {left} pelanggan LINE yang dikirimi.",
                   "en": "The LINE audience of {audience} exceeds the {left} messages left: only {left} LINE customers will get it."},
    "confirm_quota": {"id": "Saya mengerti, lanjutkan", "en": "I understand, go ahead"},
    "save_draft": {"id": "Simpan draf", "en": "Save draft"},
    "schedule_send": {"id": "Jadwalkan / kirim", "en": "Schedule / send"},
    "preview": {"id": "Pratinjau", "en": "Preview"},
    "preview_line": {"id": "LINE", "en": "LINE"},
    "preview_telegram": {"id": "Telegram", "en": "Telegram"},
    "line_audience": {"id": "di LINE", "en": "on LINE"},
    "err_pick_segment": {"id": "Pilih segmen.", "en": "Pick a segment."},
    "err_split": {"id": "Porsi A 1-99%.", "en": "Share of A is 1-99%."},
    "err_cron": {"id": "Ekspresi cron tidak valid.", "en": "Invalid cron expression."},
    "err_campaign": {"id": "Kampanye ditolak: {arg}", "en": "Campaign refused: {arg}"},
    "campaign_created_sending": {"id": "Kampanye sedang dikirim.", "en": "The campaign is being sent."},
    "campaign_created_scheduled": {"id": "Kampanye dijadwalkan.", "en": "The campaign is scheduled."},
    "campaign_created_draft": {"id": "Draf tersimpan. Tes kirim dulu, lalu luncurkan.",
                               "en": "Draft saved. Test-send it, then launch."},
    "campaign_paused": {"id": "Kampanye dijeda.", "en": "Campaign paused."},
    "campaign_resumed": {"id": "Kampanye dilanjutkan.", "en": "Campaign resumed."},
    "campaign_cancelled": {"id": "Kampanye dibatalkan.", "en": "Campaign cancelled."},
    "campaign_winner_sent": {"id": "Pemenang dikirim ke sisa audiens.", "en": "The winner goes to the rest."},
    "pause": {"id": "Jeda", "en": "Pause"},
    "resume": {"id": "Lanjutkan", "en": "Resume"},
    "launch": {"id": "Luncurkan", "en": "Launch"},
    "cancel": {"id": "Batalkan", "en": "Cancel"},
    "confirm_cancel": {"id": "Batalkan kampanye ini untuk selamanya?", "en": "Cancel this campaign for good?"},
    "duplicate": {"id": "Duplikat", "en": "Duplicate"},
    "edit": {"id": "Ubah", "en": "Edit"},
    "edit_campaign": {"id": "Ubah kampanye", "en": "Edit campaign"},
    "not_editable": {"id": "hanya draf atau jadwal yang belum jalan yang bisa diubah; duplikat saja",
                     "en": "only a draft or a schedule that has not run can be edited; duplicate it"},
    "test_send": {"id": "Tes kirim ke akun saya", "en": "Test-send to my accounts"},
    "test_needs_accounts": {"id": "Hubungkan dulu akun LINE/Telegram Anda untuk tes kirim.",
                            "en": "Link your own LINE/Telegram account first to test-send."},
    "test_sent": {"id": "Tes terkirim ke {channel} Anda.", "en": "Test sent to your {channel}."},
    "test_queued": {"id": "Tes ke {channel} Anda antre, dikirim sebentar lagi.",
                    "en": "The test to your {channel} is queued and goes out shortly."},
    "test_failed": {"id": "Tes ke {channel} gagal: {error}", "en": "Test to {channel} failed: {error}"},
    "link_accounts": {"id": "Hubungkan akun chat saya", "en": "Link my chat accounts"},
    "send_winner": {"id": "Kirim pemenang ke sisanya", "en": "Send the winner to the rest"},
    "best_variant": {"id": "terbaik otomatis", "en": "best automatically"},
    "winner": {"id": "Pemenang", "en": "Winner"},
    "notice": {"id": "Catatan sistem", "en": "System notice"},
    "results": {"id": "Hasil", "en": "Results"},
    "variant": {"id": "Varian", "en": "Variant"},
    "funnel": {"id": "Corong", "en": "Funnel"},
    "over_time": {"id": "Pengiriman dari waktu ke waktu", "en": "Sends over time"},
    "bucket_minute": {"id": "per menit", "en": "per minute"},
    "bucket_hour": {"id": "per jam", "en": "per hour"},
    "bucket_day": {"id": "per hari", "en": "per day"},
    "failed_by_reason": {"id": "Gagal per alasan", "en": "Failed by reason"},
    "export_csv": {"id": "Ekspor CSV", "en": "Export CSV"},
    "revenue": {"id": "Pendapatan", "en": "Revenue"},
    "attribution": {"id": "pesanan dihitung {days} hari setelah terkirim", "en": "orders counted {days} days after sending"},
    "no_campaigns": {"id": "Belum ada kampanye.", "en": "No campaigns yet."},
    **{f"cstatus_{s}": texts for s, texts in {
        "draft": {"id": "draf", "en": "draft"}, "scheduled": {"id": "terjadwal", "en": "scheduled"},
        "sending": {"id": "mengirim", "en": "sending"}, "done": {"id": "selesai", "en": "done"},
        "paused": {"id": "dijeda", "en": "paused"}, "cancelled": {"id": "dibatalkan", "en": "cancelled"}}.items()},
    **{f"stat_{s}": texts for s, texts in {
        "targeted": {"id": "Sasaran", "en": "Targeted"}, "sent": {"id": "Terkirim", "en": "Sent"},
        "failed": {"id": "Gagal", "en": "Failed"}, "blocked": {"id": "Diblokir", "en": "Blocked"},
        "unknown": {"id": "Tak pasti", "en": "Unknown"}, "clicked": {"id": "Diklik", "en": "Clicked"},
        "replied": {"id": "Dibalas", "en": "Replied"}, "orders": {"id": "Pesanan", "en": "Orders"},
        "skipped": {"id": "Dilewati", "en": "Skipped"}, "queued": {"id": "Antre", "en": "Queued"}}.items()},
    # journeys
    "journeys": {"id": "Journey (pesan otomatis)", "en": "Journeys (triggered messages)"},
    "journey_on": {"id": "Aktif", "en": "On"},
    "journey_off": {"id": "Mati", "en": "Off"},
    "switch_on": {"id": "Nyalakan", "en": "Switch on"},
    "switch_off": {"id": "Matikan", "en": "Switch off"},
    "journey_saved": {"id": "Journey {name} tersimpan.", "en": "Journey {name} saved."},
    "journey_welcome": {"id": "Sambutan", "en": "Welcome"},
    "journey_birthday": {"id": "Ulang tahun", "en": "Birthday"},
    "journey_order_followup": {"id": "Tindak lanjut pesanan", "en": "Order follow-up"},
    "journey_winback": {"id": "Ajak kembali", "en": "Win-back"},
    "journey_abandoned_order": {"id": "Pesanan terbengkalai", "en": "Abandoned order"},
    "journey_help_welcome": {"id": "Saat pelanggan menambah teman LINE / /start di Telegram. Kosong = sambutan bawaan.",
                             "en": "When a customer follows on LINE / sends /start on Telegram. Empty = the built-in welcome."},
    "journey_help_birthday": {"id": "Pukul 09:00 di hari ulang tahun pelanggan, dengan voucher bila dipilih.",
                              "en": "At 09:00 on the customer's birthday, with a voucher when picked."},
    "journey_help_order_followup": {"id": "Sekian hari setelah pesanan diterima: bagaimana produknya?",
                                    "en": "That many days after an order was delivered: how was it?"},
    "journey_help_winback": {"id": "Pada hari pelanggan sudah sekian hari tidak aktif.",
                             "en": "The day a customer has been silent that many days."},
    "journey_help_abandoned_order": {"id": "Pesanan di chat berhenti di tengah jalan selama sekian menit.",
                                     "en": "An order in the chat left half-way for that many minutes."},
    "opt_days": {"id": "Hari", "en": "Days"},
    "opt_minutes": {"id": "Menit", "en": "Minutes"},
    "opt_promotion_id": {"id": "Voucher", "en": "Voucher"},
    "quick_reply": {"id": "Balasan cepat", "en": "Quick reply"},
    # offers
    "offers": {"id": "Promo berbasis lokasi", "en": "Location-based offers"},
    "offers_help": {"id": "Promo yang terikat ke toko dengan radius dikirim ke pelanggan yang lokasinya di dalam radius, dan dijawab bot saat pelanggan berbagi lokasi.",
                    "en": "Promotions tied to a store with a radius go to customers whose last location is inside it, and the bot answers with them when a customer shares a location."},
    "store": {"id": "Toko", "en": "Store"},
    "no_store": {"id": "— tanpa toko —", "en": "— no store —"},
    "radius_km": {"id": "Radius (km)", "en": "Radius (km)"},
    "valid_from": {"id": "Berlaku dari", "en": "Valid from"},
    "valid_until": {"id": "Sampai", "en": "Until"},
    "inside_radius": {"id": "Pelanggan di radius", "en": "Customers inside"},
    "send_offer": {"id": "Kirim sebagai kampanye", "en": "Send as a campaign"},
    "running": {"id": "berjalan", "en": "running"},
    "err_radius": {"id": "Toko perlu radius (km).", "en": "A store needs a radius (km)."},
    "err_offer": {"id": "Promo tidak tersimpan: {arg}", "en": "The offer was not saved: {arg}"},
    # profile
    "me_help": {"id": "Tes kirim kampanye hanya masuk ke akun chat Anda sendiri. Hubungkan akun dengan mengirim kode "
                      "sekali pakai ke bot dari akun itu.",
                "en": "Campaign test-sends go only to your own chat accounts. Link one by sending a one-time code to "
                      "the bot from it."},
    "linked_accounts": {"id": "Akun terhubung", "en": "Linked accounts"},
    "no_linked_accounts": {"id": "Belum ada akun terhubung.", "en": "No account linked yet."},
    "linked_since": {"id": "terhubung {at}", "en": "linked {at}"},
    "unlink": {"id": "Putuskan", "en": "Unlink"},
    "account_unlinked": {"id": "Akun {channel} diputuskan.", "en": "{channel} account unlinked."},
    "link_an_account": {"id": "Hubungkan akun LINE / Telegram", "en": "Link a LINE / Telegram account"},
    "get_code": {"id": "Buat kode", "en": "Get a code"},
    "new_code": {"id": "Kode baru", "en": "New code"},
    "send_this_code": {"id": "Kirim kode ini sebagai pesan ke akun LINE toko atau bot Telegram, dari HP Anda. Berlaku "
                             "{minutes} menit (sampai {until}), sekali pakai.",
                       "en": "Send this code as a message to the shop's LINE account or Telegram bot, from your phone. "
                             "Valid {minutes} minutes (until {until}), once."},
    "open_in_telegram": {"id": "Buka di Telegram", "en": "Open in Telegram"},
    "code_then_reload": {"id": "Bot membalas saat akun terhubung; lalu muat ulang halaman ini.",
                         "en": "The bot answers when the account is linked; then reload this page."},
    "err_link_with_code": {"id": "Akun hanya bisa dihubungkan dengan kode yang dikirim dari akun itu.",
                           "en": "An account can only be linked with a code sent from it."},
})
