"""The staff inbox: one screen for every customer on every channel.

What other staff-facing blueprints (e.g. the marketer's segments and campaigns) build on:

- `crm.inbox.auth.staff_required(*roles)` — view decorator: logged-in staff with one of
  the roles (any role when none are given); anonymous users are sent to the login page
  (401 JSON for scripts), other roles get 403. `permission_required(name)` does the same
  by a permission of `auth.MATRIX`, and `can(name)` answers it in code and templates.
- `crm.inbox.auth.current_staff()` — the logged-in `StaffUser` of the request, or None.
- `crm.inbox.data.audit(session=, staff=, action=, target_type=, target_id=, details=)` —
  record a write in the audit log (in the write's own transaction).
- `crm.inbox.i18n.t(key, **values)` — the word for `key` in the staff member's language
  (`t` in templates); add keys with `i18n.register({...})`, each with `id` and `en`.
- `inbox/base.html` — the page frame: `{% extends "inbox/base.html" %}` and fill
  `{% block title %}` and `{% block content %}`; add nav entries to `NAV` below (each with a
  permission). Forms include `<input type=hidden name=csrf_token value="{{ csrf_token() }}">`;
  CSRF is checked on every state-changing request outside /api, /webhooks and /simulator.
- Vendored front-end libraries (installed from npm by `make install`) are served from
  `/inbox/static/vendor/` (e.g. `vendor/chart.umd.min.js`).
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone

from flask import Flask, get_flashed_messages
from markupsafe import Markup
from sqlmodel import Session

from core.db import as_utc
from core.money import rupiah
from crm import alerts
from crm.inbox import (
    account_views, alert_views, auth, catalog_views, contact_views, conversation_views, counter_views, faq_views,
    hours_views, live, loyalty_settings_views, merge_views, promotion_views, settings_views, shop_views, store_views,
    webhook_views,
)
from crm.inbox.blueprint import inbox
from crm.inbox.i18n import (CATALOG, LANGUAGES, alert_line, button_words, channel_name, current_language, day,
                            delivery_error, intent_name, message_kind, moment, t)
from crm.media import image_src
from crm.web import engine, settings

PAGES = (account_views, alert_views, catalog_views, contact_views, conversation_views, counter_views, faq_views,
         hours_views, loyalty_settings_views, merge_views, promotion_views, settings_views, shop_views, store_views,
         webhook_views, live)  # imported for their routes, which join `inbox`

# (endpoint, catalog key, permission): the navigation of base.html. Other blueprints append.
# NAV is the day's work, one row; SHOP_NAV the shop's setup, under one "Manage shop" menu.
NAV: list[tuple[str, str, str]] = [
    ("inbox.conversations", "nav_inbox", "conversations.view"),
    ("inbox.orders", "nav_orders", "orders.view"),
    ("inbox.complaints", "nav_complaints", "complaints.view"),
    ("inbox.agenda", "nav_agenda", "agenda.view"),
    ("inbox.contacts", "nav_contacts", "contacts.view"),
    ("inbox.counter_search", "nav_counter", "counter.use"),
    ("inbox.dashboard", "nav_dashboard", "dashboard.view"),
]
SHOP_NAV: list[tuple[str, str, str]] = [
    ("inbox.catalog_list", "nav_catalog", "catalog.manage"),
    ("inbox.stores_list", "nav_stores", "stores.manage"),
    ("inbox.promotions_list", "nav_promotions", "promotions.manage"),
    ("inbox.shop_settings_page", "nav_settings", "settings.manage"),
    ("inbox.loyalty_settings_page", "nav_loyalty_settings", "settings.manage"),
    ("inbox.hours", "nav_hours", "hours.manage"),
    ("inbox.canned", "nav_canned", "canned.manage"),
    ("inbox.users", "nav_users", "users.manage"),
    ("inbox.webhooks_page", "nav_webhooks", "webhooks.manage"),
    ("inbox.audit_log", "nav_audit", "audit.view"),
]

JS_KEYS = ("live_connected", "live_offline", "presence_viewing", "presence_typing", "new_activity",
           "delivery_queued", "delivery_sending", "delivery_sent", "delivery_failed", "delivery_unknown",
           "alerts_notification_title", "alerts_notification_body")


def _ago(value: datetime | None) -> str:
    """A short duration since `value` (5m, 3h, 2d)."""
    if value is None:
        return ""
    seconds = max(0, int((datetime.now(timezone.utc) - as_utc(value)).total_seconds()))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86400:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"


def _task_title(task) -> str:
    """A task's title; automatic ones are worded in the reader's language."""
    if task.source == "order_delivered" and "#" in task.title:
        return t("follow_up_order", number=task.title.rsplit("#", 1)[-1])
    return task.title


# The reasons crm.loyalty writes on its own entries (in English, for the API), as staff read them.
POINTS_REASONS = ((re.compile(r"order delivered"), "points_reason_delivered"),
                  (re.compile(r"order cancelled"), "points_reason_cancelled"),
                  (re.compile(r"birthday (?P<year>\d{4})"), "points_reason_birthday"),
                  (re.compile(r"no points earned in (?P<months>\d+) months"), "points_reason_expired"))


def _points_reason(reason: str | None) -> str:
    """A points entry's reason: Sapa's own in the reader's language, a staff member's as typed."""
    for pattern, key in POINTS_REASONS:
        if (found := pattern.fullmatch(reason or "")) is not None:
            return t(key, **found.groupdict())
    return reason or ""


def _rupiah(amount: int | None) -> str:
    """An amount in the staff member's language's one Rupiah format."""
    return rupiah(amount, current_language())


def _alerts_new() -> int:
    """How many alerts nobody has looked at yet (the top bar's count)."""
    with Session(engine()) as db:
        return alerts.count_new(session=db)


def register(app: Flask) -> None:
    """Serve the inbox on `app`: its blueprint, its security extensions and its template helpers."""
    auth.init_app(app)
    app.register_blueprint(inbox)

    def local(value: datetime | None, fmt: str | None = None) -> str:
        """A timestamp in the shop's timezone: as staff read it, or in `fmt` for a form field's value."""
        tz = settings().tz
        if value is None or fmt is None:
            return moment(value, tz)
        return as_utc(value).astimezone(tz).strftime(fmt)

    def js_texts() -> Markup:
        language = current_language()
        # json.dumps with HTML-sensitive characters escaped: safe inside <script type=application/json>.
        payload = json.dumps({key: CATALOG[key][language] for key in JS_KEYS})
        return Markup(payload.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))

    app.jinja_env.globals.update(alerts_new=_alerts_new, t=t, catalog=CATALOG, can=auth.can, current_staff=auth.current_staff, nav=NAV, shop_nav=SHOP_NAV, languages=LANGUAGES,
                                 current_language=current_language, js_texts=js_texts,
                                 get_flashed_messages=get_flashed_messages,
                                 simulator_enabled=app.config["SAPA"].simulator_enabled, image_src=image_src,
                                 button_words=button_words, alert_line=alert_line)
    app.jinja_env.filters.update(ago=_ago, local=local, day=day, rupiah=_rupiah, task_title=_task_title,
                                 points_reason=_points_reason,
                                 intent_name=intent_name, channel_name=channel_name,
                                 message_kind=message_kind, delivery_error=delivery_error)
