"""The campaign form both ways: posted fields -> the arguments of `campaigns.create_campaign`, a
saved campaign -> the form's fields (to edit or duplicate it), and the quota warning to confirm."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from broadcasts import segments as seg
from broadcasts.campaign_message import MAX_BUTTONS, VARIABLES
from broadcasts.models import Campaign, Segment
from broadcasts.web.base import builder_context, line_audience, quota
from crm import promotions as promo_data
from crm.ids import id_arg
from crm.inbox.i18n import t
from crm.shop_settings import current_config
from crm.web import engine, settings

CRON_PRESETS = (("0 10 * * fri", "cron_friday"), ("0 9 * * *", "cron_daily"), ("0 10 1 * *", "cron_monthly"))


def buttons(form, prefix: str, rows: int) -> list[dict[str, str]]:
    """Buttons of the form's rows (label + kind + value); empty rows are left out."""
    out = []
    for i in range(rows):
        label = form.get(f"{prefix}_label_{i}", "").strip()
        kind = form.get(f"{prefix}_kind_{i}", "url")
        value = form.get(f"{prefix}_value_{i}", "").strip()
        if label or value:
            out.append({"label": label, (kind if kind in ("url", "reply", "text") else "url"): value})
    return out


def message_of(form, suffix: str = "") -> dict[str, Any]:
    """The message of the form (variant B's fields end in `_b`)."""
    message = {"text": form.get(f"text{suffix}", ""), "buttons": buttons(form, f"btn{suffix}", MAX_BUTTONS),
               "quick_replies": buttons(form, f"qr{suffix}", 4)}
    image = form.get(f"image_url{suffix}", "").strip()
    if image:
        message["image_url"] = image
    return message


class FormError(Exception):
    """A form field the campaign cannot be made from; `field` names it for the form."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def offered_channels() -> list[str]:
    """The channels a campaign can pick: LINE and Telegram, and the simulator while it is on."""
    return ["line", "telegram"] + (["simulator"] if settings().simulator_enabled else [])


def campaign_values(form) -> dict[str, Any]:
    """The arguments of `campaigns.create_campaign` from the campaign form."""
    with Session(engine()) as db:
        config = current_config(db, settings())  # a new campaign runs in the timezone staff set last
    values: dict[str, Any] = {"name": form.get("name", ""), "timezone_name": config.timezone,
                              "quota_policy": form.get("quota_policy") or config.broadcasts.quota_policy,
                              "channels": form.getlist("channels") or offered_channels(),
                              "promotion_id": id_arg("promotion_id", form),
                              "misfire_grace_seconds": config.broadcasts.misfire_grace_seconds}
    if form.get("audience") == "segment":
        values["segment_id"] = id_arg("segment_id", form)
        if values["segment_id"] is None:
            raise FormError("segment_id", t("err_pick_segment"))
    else:
        try:
            values["rules"] = json.loads(form.get("rules") or "{}")
        except ValueError:
            raise FormError("rules", t("err_rules")) from None
    message = message_of(form)
    if form.get("ab"):
        try:
            split = int(form.get("split_a") or 50)
        except ValueError:
            split = 0
        if not 1 <= split <= 99:
            raise FormError("split_a", t("err_split"))
        values["variants"] = [{"name": "A", "weight": split, "message": message},
                              {"name": "B", "weight": 100 - split, "message": message_of(form, "_b")}]
        values["message"] = None
        if form.get("winner_rest"):
            try:
                values["ab_test"] = {"test_percent": int(form.get("test_percent") or 20),
                                     "metric": form.get("metric") or "clicked"}
            except ValueError:
                raise FormError("test_percent", t("err_bad_number")) from None
    else:
        values["message"] = message
    when = form.get("when", "now")
    if when == "at":
        try:
            values["send_at"] = datetime.fromisoformat(form.get("send_at", ""))  # naive = shop time
        except ValueError:
            raise FormError("send_at", t("err_bad_date")) from None
    elif when == "cron":
        values["recurrence"] = form.get("recurrence", "").strip() or None
        if values["recurrence"] is None:
            raise FormError("recurrence", t("err_cron"))
    values["draft"] = form.get("submit") == "draft"
    return values


def form_context(db: Session, form: dict[str, Any]) -> dict[str, Any]:
    """What the campaign form's template needs besides the form's own values."""
    return {"form": form, "segments": db.execute(select(Segment).order_by(Segment.name)).scalars().all(),
            "promotions": promo_data.list_promotions(session=db), "variables": VARIABLES,
            "builder": builder_context(db), "cron_presets": CRON_PRESETS, "quota": quota(),
            "default_policy": settings().broadcasts.quota_policy, "max_buttons": MAX_BUTTONS,
            "channel_choices": offered_channels()}


def form_from_campaign(campaign: Campaign, copy: bool = True) -> dict[str, Any]:
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
        form.update(when="at", send_at=campaign.send_at.astimezone(settings().tz).strftime("%Y-%m-%dT%H:%M"))
    return form


def quota_warning(db: Session, arguments: dict[str, Any]) -> str:
    """The warning to confirm when the LINE audience exceeds what is left of the monthly quota."""
    monthly = quota()
    if monthly is None or monthly["left"] is None:
        return ""
    rules = arguments.get("rules")
    if arguments.get("segment_id") is not None:
        segment = db.get(Segment, arguments["segment_id"])
        rules = segment.rules if segment else {}
    try:
        audience = line_audience(db, rules or {}, arguments["channels"])
    except seg.SegmentError:
        return ""  # create_campaign reports the rules
    if audience <= monthly["left"]:
        return ""
    key = "quota_refuse" if arguments["quota_policy"] == "refuse" else "quota_trim"
    return t(key, audience=audience, left=monthly["left"])

