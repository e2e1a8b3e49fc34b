"""The inbox's back office: orders and complaints, canned replies, the dashboard's figures."""

from __future__ import annotations

import re
import uuid
from collections import Counter
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_
from sqlmodel import Session, select

from core.db import as_utc, utcnow
from core.localtime import local_days
from core.settings import LoyaltySettings
from core.texts import text
from crm import alerts, daily_figures
from crm import complaints as complaint_data
from crm import history
from crm import orders as order_data
from crm.api.orders import notify_status
from crm.inbox.data import MAX_TEXT, InboxError, ReplyDraft, audit, build_replies, staff_names
from crm.stores import JAKARTA
from crm.models import CannedResponse, Contact, StaffUser
from crm.search_index import where_contains


# --- orders and complaints ------------------------------------------------------------


def list_orders(*, session: Session, status: str = "", q: str = "", limit: int = 50, offset: int = 0):
    """Orders newest first with their customers, by status and number/customer search."""
    query = select(order_data.Order, Contact).join(Contact, Contact.id == order_data.Order.contact_id)
    if status:
        query = query.where(order_data.Order.status == status)
    if q:
        # The customers found by name first (an index serves it), so neither side of the OR reads every order.
        named = where_contains(select(Contact.id), session=session, column=Contact.display_name, q=q).correlate(None)
        query = query.where(or_(order_data.Order.number == q.lstrip("#"), order_data.Order.contact_id.in_(named)))
    rows = session.exec(query.order_by(order_data.Order.id.desc()).limit(limit).offset(offset)).all()
    items: dict[int, list] = {}
    if rows:
        for item in session.exec(select(order_data.OrderItem).where(
                order_data.OrderItem.order_id.in_([o.id for o, _ in rows]))).all():
            items.setdefault(item.order_id, []).append(item)
    counts = dict(session.exec(select(order_data.Order.status, func.count(order_data.Order.id))
                               .group_by(order_data.Order.status)).all())
    return rows, items, counts


def change_order_status(*, session: Session, staff: StaffUser, order: order_data.Order, status: str,
                        notify: bool = True, points_rules: LoyaltySettings | None = None) -> str | None:
    """Move an order on (the shop's rules apply) and queue the customer's notification; the batch id."""

    before = order.status
    try:
        order_data.change_status(session=session, order=order, status=status, by=f"staff:{staff.id}",
                                 points_rules=points_rules)
    except order_data.OrderError as exc:
        raise InboxError(f"order:{exc}") from None
    audit(session=session, staff=staff, action="order.status", target_type="order", target_id=order.id,
          details={"from": before, "to": status})
    if notify and order.status != before:
        return notify_status(session=session, order=order)
    return None


def list_complaints(*, session: Session, status: str = "", severity: str = "", breached: bool = False,
                    limit: int = 50, offset: int = 0):
    """Complaints, SLA breaches and the most urgent first."""
    now = utcnow()
    query = select(complaint_data.Complaint, Contact).join(Contact, Contact.id == complaint_data.Complaint.contact_id)
    if status:
        query = query.where(complaint_data.Complaint.status == status)
    if severity:
        query = query.where(complaint_data.Complaint.severity == severity)
    if breached:
        query = query.where(complaint_data.Complaint.status.in_(("open", "in_progress")),
                            complaint_data.Complaint.sla_due_at < now)
    rows = session.exec(query.order_by(complaint_data.Complaint.resolved_at.is_not(None),
                                       complaint_data.Complaint.sla_due_at).limit(limit).offset(offset)).all()
    counts = dict(session.exec(select(complaint_data.Complaint.status, func.count(complaint_data.Complaint.id))
                               .group_by(complaint_data.Complaint.status)).all())
    counts["breached"] = session.exec(select(func.count(complaint_data.Complaint.id)).where(
        complaint_data.Complaint.status.in_(("open", "in_progress")), complaint_data.Complaint.sla_due_at < now)).one()
    return [(c, contact, c.status in ("open", "in_progress") and as_utc(c.sla_due_at) < now) for c, contact in rows], counts


def change_complaint_status(*, session: Session, staff: StaffUser, complaint: complaint_data.Complaint, status: str,
                            notify: bool = True) -> str | None:
    """Set a complaint's status and queue the customer's notification; the batch id."""

    if status not in complaint_data.STATUSES:
        raise InboxError("bad_status")
    before = complaint.status
    complaint_data.change_complaint_status(session=session, complaint=complaint, status=status)
    if complaint.resolved_at is not None:
        alerts.settle(session=session, kinds=alerts.COMPLAINT_KINDS, complaint_id=complaint.id)
    audit(session=session, staff=staff, action="complaint.status", target_type="complaint", target_id=complaint.id,
          details={"from": before, "to": status})
    if not notify or status == before:
        return None
    return history.notify_customer(
        session=session, contact_id=complaint.contact_id, conversation_id=complaint.conversation_id,
        words=lambda language: text("complaint_status", language, number=complaint.number,
                                    status=text(f"complaint_{status}", language)),
        batch_id=f"complaint:{complaint.id}:{status}:{uuid.uuid4().hex[:8]}", intent="complaint")


# --- canned responses and users ---------------------------------------------------------


def canned_responses(*, session: Session) -> list[CannedResponse]:
    """All canned responses in the order staff set (then by shortcut)."""
    return list(session.exec(select(CannedResponse).order_by(CannedResponse.position, CannedResponse.shortcut)).all())


def _check_canned(*, session: Session, row: CannedResponse, shortcut: str, title: str, text: str,
                  text_en: str, quick_replies: list[str]) -> None:
    """Put the typed values on `row` once they pass (InboxError with the reason, `row` untouched, otherwise)."""
    shortcut = shortcut.strip().lstrip("/").lower()
    if not re.match(r"^[a-z0-9_-]{1,40}$", shortcut):
        raise InboxError("bad_shortcut")
    if not text.strip() or len(text) > MAX_TEXT or not title.strip() or len(title) > 200 or len(text_en) > MAX_TEXT:
        raise InboxError("bad_canned")
    taken = session.exec(select(CannedResponse.id).where(CannedResponse.shortcut == shortcut)).first()
    if taken is not None and taken != row.id:
        raise InboxError("shortcut_exists")
    for variant in (text, text_en):  # the same limits as sending, for each language's text
        if variant.strip():
            build_replies(ReplyDraft(text=variant, quick_replies=quick_replies))
    row.shortcut, row.title, row.text = shortcut, title.strip(), text.strip()
    row.text_en = text_en.strip() or None
    row.quick_replies = [q.strip() for q in quick_replies if q.strip()]


def save_canned(*, session: Session, staff: StaffUser, shortcut: str, title: str, text: str,
                quick_replies: list[str], text_en: str = "", canned: CannedResponse | None = None) -> CannedResponse:
    """Add a canned response at the end of the list, or change `canned` (shortcut unique)."""
    row = canned or CannedResponse(shortcut="", title="", text="")
    if canned is None:
        last = session.exec(select(func.max(CannedResponse.position))).one()
        row.position = (last or 0) + 1
    before = None if canned is None else {"shortcut": row.shortcut, "title": row.title}
    _check_canned(session=session, row=row, shortcut=shortcut, title=title, text=text, text_en=text_en,
                  quick_replies=quick_replies)
    session.add(row)
    session.flush()
    audit(session=session, staff=staff, action="canned.add" if canned is None else "canned.update",
          target_type="canned", target_id=row.id, details={"shortcut": row.shortcut, **({"from": before} if before else {})})
    return row


def delete_canned(*, session: Session, staff: StaffUser, canned: CannedResponse) -> None:
    """Delete a canned response (kept in the audit log by shortcut and text)."""
    audit(session=session, staff=staff, action="canned.delete", target_type="canned", target_id=canned.id,
          details={"shortcut": canned.shortcut, "text": canned.text})
    session.delete(canned)


def move_canned(*, session: Session, staff: StaffUser, canned: CannedResponse, step: int) -> None:
    """Move a canned response one place up (step -1) or down (+1); the list is renumbered 1..n."""
    rows = canned_responses(session=session)
    at = next(i for i, row in enumerate(rows) if row.id == canned.id)
    to = min(max(at + step, 0), len(rows) - 1)
    rows.insert(to, rows.pop(at))
    for position, row in enumerate(rows, start=1):
        if row.position != position:
            row.position = position
            session.add(row)
    audit(session=session, staff=staff, action="canned.move", target_type="canned", target_id=canned.id,
          details={"position": to + 1})


# --- dashboard -----------------------------------------------------------------------------


def _minutes(total: float, count: int) -> float | None:
    return round(total / count / 60, 1) if count else None


def _median_minutes(histogram: Counter) -> float | None:
    median = daily_figures.median_of(histogram)
    return None if median is None else round(median / 60, 1)


def dashboard(*, session: Session, days: int = 30, now: datetime | None = None, tz: ZoneInfo = JAKARTA) -> dict[str, Any]:
    """Support figures over the shop's last `days` days (today included): response and resolution times, intents,
    channels, handoffs, agents.

    Times, replies and messages per day are read from the daily rows (crm.daily_figures: each episode's response
    and resolution counted on the day they happened, a reopened chat keeping its earlier ones). Conversations are
    counted as they stand now (status, intent, assignee of those with a message in the period): a chat moves to
    the day of its last message, so that count is no sum of days.
    """
    now = now or utcnow()
    shop_days = local_days(now, tz, days)  # the shop's days of the period, those without messages too
    rows = daily_figures.conversation_groups(session=session, days=days, tz=tz, now=now)
    names = staff_names(session=session)
    by_channel, by_intent, by_status = Counter(), Counter(), Counter()
    agents: dict[str, dict[str, list]] = {}

    def agent(staff_id: int | None) -> dict[str, list]:
        # "" is nobody: the page says "unassigned" in the staff member's language
        return agents.setdefault(names.get(staff_id, "—") if staff_id else "",
                                 {"first": [0.0, 0], "resolution": [0.0, 0], "count": [0]})

    handoffs = total = 0
    for channel, intent, assignee, status, handed, count in rows:
        by_channel[channel] += count
        by_intent[intent or "other"] += count
        by_status[status] += count
        handoffs += count if handed else 0
        agent(assignee)["count"][0] += count
        total += count
    per_day = {day.isoformat(): 0 for day in shop_days}
    totals = {"first": [0.0, 0], "resolution": [0.0, 0]}
    medians = {kind: daily_figures.histogram(session=session, metric=metric, first=shop_days[0], last=shop_days[-1],
                                             tz=tz, now=now)
               for kind, metric in (("first", "first_response"), ("resolution", "resolution"))}
    replies: Counter = Counter()
    for row in daily_figures.read(session=session, first=shop_days[0], last=shop_days[-1], tz=tz, now=now,
                                  metrics=("messages_in", "staff_replies", "first_response", "resolution")):
        kind = "first" if row.metric.startswith("first") else "resolution"
        if row.metric == "messages_in":
            per_day[row.day.isoformat()] += row.value
        elif row.metric == "staff_replies":
            replies[names.get(int(row.key), "?") if row.key else "?"] += row.value
        else:
            for figures in (totals[kind], agent(int(row.key) if row.key else None)[kind]):
                figures[0] += row.amount
                figures[1] += row.value
    return {
        "days": days, "conversations": total,
        "first_response_avg": _minutes(*totals["first"]), "first_response_median": _median_minutes(medians["first"]),
        "resolution_avg": _minutes(*totals["resolution"]),
        "resolution_median": _median_minutes(medians["resolution"]),
        "handoffs": handoffs, "handoff_rate": round(100 * handoffs / total, 1) if total else 0.0,
        "by_channel": dict(by_channel.most_common()), "by_intent": dict(by_intent.most_common()),
        "by_status": dict(by_status),
        "agents": [{"name": name, "conversations": v["count"][0], "first_response": _minutes(*v["first"]),
                    "resolution": _minutes(*v["resolution"])} for name, v in sorted(agents.items())],
        "replies_by_agent": dict(replies),
        "messages_per_day": per_day,
    }
