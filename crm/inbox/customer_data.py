"""What the inbox shows and changes about a customer: the 360 view, the profile, the agenda of follow-ups."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import extract, func
from sqlmodel import Session, select

from core.db import as_utc, utcnow
from crm import complaints as complaint_data
from crm import contacts as contact_data
from core.settings import LoyaltySettings
from crm import consent_log, csat, customer_value, loyalty, member_codes
from crm import orders as order_data
from crm.inbox.data import InboxError, audit, staff_names
from crm.models import Contact, Conversation, FollowUpTask, Message, Note, StaffUser


# --- customer 360 -------------------------------------------------------------------------


ACTIVITY = (("active_2w", 14), ("active_1m", 31), ("active_6m", 183))


def activity_status(last_seen_at: datetime | None, now: datetime | None = None) -> str:
    """active_2w / active_1m / active_6m / dormant, from when the customer last wrote."""
    if last_seen_at is None:
        return "dormant"
    age = (now or utcnow()) - as_utc(last_seen_at)
    for name, days in ACTIVITY:
        if age <= timedelta(days=days):
            return name
    return "dormant"


def interests(*, session: Session, contact_id: int, limit_messages: int = 300) -> dict[str, list[tuple[str, int]]]:
    """Products the customer bought (with quantities) and products they asked about in chat."""
    bought = session.exec(select(order_data.OrderItem.product_name, func.sum(order_data.OrderItem.quantity))
                          .join(order_data.Order, order_data.Order.id == order_data.OrderItem.order_id)
                          .where(order_data.Order.contact_id == contact_id, order_data.Order.status != "cancelled")
                          .group_by(order_data.OrderItem.product_name)
                          .order_by(func.sum(order_data.OrderItem.quantity).desc())).all()
    texts = session.exec(select(Message.text).where(Message.contact_id == contact_id, Message.direction == "in",
                                                    Message.text.is_not(None))
                         .order_by(Message.id.desc()).limit(limit_messages)).all()
    asked: Counter = Counter()
    if texts:
        products = session.exec(select(order_data.Product)).all()
        lowered = [t.lower() for t in texts]
        for product in products:
            words = {product.name.lower(), *(a.lower() for a in product.aliases or [])}
            if product.name_en:
                words.add(product.name_en.lower())
            hits = sum(1 for text in lowered if any(word and word in text for word in words))
            if hits:
                asked[product.name] = hits
    return {"bought": [(name, int(qty)) for name, qty in bought], "asked": asked.most_common(10)}


def contact_360(*, session: Session, contact: Contact, with_notes: bool,
                points_rules: LoyaltySettings) -> dict[str, Any]:
    """Everything the shop knows about a customer, for the side panel and the contact page."""
    now = utcnow()
    identities = contact_data.identities_of(session=session, contact_ids=[contact.id])[contact.id]
    orders = session.exec(select(order_data.Order).where(order_data.Order.contact_id == contact.id)
                          .order_by(order_data.Order.id.desc()).limit(10)).all()
    items = {}
    if orders:
        for item in session.exec(select(order_data.OrderItem).where(
                order_data.OrderItem.order_id.in_([o.id for o in orders]))).all():
            items.setdefault(item.order_id, []).append(item)
    complaints = session.exec(select(complaint_data.Complaint).where(complaint_data.Complaint.contact_id == contact.id)
                              .order_by(complaint_data.Complaint.id.desc()).limit(10)).all()
    notes = session.exec(select(Note).where(Note.contact_id == contact.id).order_by(Note.id.desc()).limit(20)).all() \
        if with_notes else []
    tasks = session.exec(select(FollowUpTask).where(FollowUpTask.contact_id == contact.id, FollowUpTask.done_at.is_(None))
                         .order_by(FollowUpTask.due_on)).all()
    conversations = session.exec(select(Conversation).where(Conversation.contact_id == contact.id)).all()
    ratings = csat.ratings_of(session=session, contact_id=contact.id, limit=10)
    rated_orders = [r.order_id for r in ratings if r.order_id]
    order_numbers = dict(session.exec(select(order_data.Order.id, order_data.Order.number)
                                      .where(order_data.Order.id.in_(rated_orders))).all()) if rated_orders else {}
    totals = session.exec(select(func.count(order_data.Order.id), func.coalesce(func.sum(order_data.Order.total), 0))
                          .where(order_data.Order.contact_id == contact.id,
                                 order_data.Order.status != "cancelled")).one()
    return {
        "contact": contact, "identities": identities, "orders": orders, "order_items": items,
        "complaints": [(c, c.status in ("open", "in_progress") and as_utc(c.sla_due_at) < now) for c in complaints],
        "notes": notes, "tasks": tasks, "conversations": conversations,
        "activity": activity_status(contact.last_seen_at, now), "interests": interests(session=session, contact_id=contact.id),
        "orders_count": int(totals[0]), "total_spent": int(totals[1]), "names": staff_names(session=session),
        "ratings": ratings, "order_numbers": order_numbers,
        "points": loyalty.standing(session=session, contact_id=contact.id, rules=points_rules, now=now),
        "points_entries": loyalty.entries(session=session, contact_id=contact.id, limit=5),
        "member_code": member_codes.code_of(session=session, contact_id=contact.id),
        "stamp_card": points_rules.stamps,  # None when the shop has no stamp card
        "stamps": loyalty.stamps(session=session, contact_id=contact.id) if points_rules.stamps else 0,
        "consents": consent_log.history(session=session, contact_id=contact.id, limit=20),
        "value": customer_value.value_of(session=session, contact_id=contact.id),
    }


def adjust_points(*, session: Session, staff: StaffUser, contact: Contact, points: str, reason: str) -> int:
    """Add or take a customer's points with a reason, audited; the change (InboxError with the reason when refused)."""
    try:
        change = int(points.strip().replace("+", "", 1))
    except ValueError:
        raise InboxError("bad_points") from None
    try:
        loyalty.adjust(session=session, contact_id=contact.id, points=change, reason=reason, by=f"staff:{staff.id}")
    except loyalty.LoyaltyError as exc:
        if exc.code == "insufficient":
            raise InboxError(f"points_insufficient:{exc.details['balance']}") from None
        raise InboxError("points_reason" if exc.code == "reason" else "bad_points") from None
    audit(session=session, staff=staff, action="points.adjust", target_type="contact", target_id=contact.id,
          details={"points": change, "reason": " ".join(reason.split())})
    return change


PROFILE_FIELDS = ("display_name", "phone", "email", "address", "language")


def update_contact(*, session: Session, contact: Contact, staff: StaffUser, form: dict[str, str],
                   today: date) -> list[str]:
    """Apply an inline edit (profile fields, birthday, tags, consent, custom fields); the fields changed.

    `today` is the shop's date (a birthday cannot be after it).
    """
    changed = []
    for name in PROFILE_FIELDS:
        if name in form:
            value = form[name].strip()
            limit = Contact.model_fields[name].metadata
            max_length = next((getattr(x, "max_length", None) for x in limit if getattr(x, "max_length", None)), 200)
            if len(value) > max_length:
                raise InboxError(f"field_too_long:{name}")
            if name == "email" and value and not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", value):
                raise InboxError("bad_email")
            if name == "phone" and value and not re.match(r"^\+?[0-9 ()-]{5,40}$", value):
                raise InboxError("bad_phone")
            if name == "language" and value not in ("", "id", "en", contact.language):  # a choice, not free text
                raise InboxError("bad_language")
            new = value or (None if name != "display_name" else "")
            if getattr(contact, name) != new:
                setattr(contact, name, new)
                changed.append(name)
    if "birthday" in form:
        raw = form["birthday"].strip()
        try:
            birthday = date.fromisoformat(raw) if raw else None
        except ValueError:
            raise InboxError("bad_birthday") from None
        if birthday and birthday > today:
            raise InboxError("bad_birthday")
        if contact.birthday != birthday:
            contact.birthday = birthday
            changed.append("birthday")
    if "tags" in form:
        tags = sorted({t.strip() for t in form["tags"].split(",") if t.strip()})
        if any(len(t) > 50 for t in tags) or len(tags) > 100:
            raise InboxError("bad_tags")
        if tags != list(contact.tags or []):
            contact.tags = tags
            changed.append("tags")
    if "marketing_consent" in form:
        consent = form["marketing_consent"] in ("1", "on", "true", "yes")
        if consent != contact.marketing_consent:
            contact.marketing_consent = consent
            changed.append("marketing_consent")
            consent_log.record(session=session, contact_id=contact.id, opt_in=consent, source="staff",
                               staff_user_id=staff.id)
    if form.get("attr_key", "").strip():
        key = form["attr_key"].strip()
        if not re.match(r"^[\w .-]{1,40}$", key):
            raise InboxError("bad_field_name")
        attributes = dict(contact.attributes or {})
        value = form.get("attr_value", "").strip()[:500]
        if value:
            attributes[key] = value
        else:
            attributes.pop(key, None)
        contact.attributes = attributes
        changed.append(f"attributes.{key}")
    if changed:
        session.add(contact)
        audit(session=session, staff=staff, action="contact.update", target_type="contact", target_id=contact.id,
              details={"fields": changed})
    return changed


# --- agenda ---------------------------------------------------------------------------


def create_task(*, session: Session, staff: StaffUser, contact_id: int, title: str, due_on: date,
                assignee_id: int | None = None) -> FollowUpTask:
    """A follow-up task for a contact, due on a date."""
    title = title.strip()
    if not title or len(title) > 300:
        raise InboxError("bad_task_title")
    if session.get(Contact, contact_id) is None:
        raise InboxError("unknown_contact")
    task = FollowUpTask(contact_id=contact_id, title=title, due_on=due_on, assignee_id=assignee_id or staff.id,
                        created_by_id=staff.id)
    session.add(task)
    session.flush()
    audit(session=session, staff=staff, action="task.add", target_type="task", target_id=task.id,
          details={"contact_id": contact_id, "due_on": due_on.isoformat()})
    return task


def complete_task(*, session: Session, staff: StaffUser, task: FollowUpTask) -> None:
    """Mark a task done."""
    task.done_at = utcnow()
    session.add(task)
    audit(session=session, staff=staff, action="task.done", target_type="task", target_id=task.id)


def agenda(*, session: Session, today: date) -> dict[str, Any]:
    """Open tasks that are due (overdue first), the next ones, and today's birthdays."""
    due = session.exec(select(FollowUpTask, Contact).join(Contact, Contact.id == FollowUpTask.contact_id)
                       .where(FollowUpTask.done_at.is_(None), FollowUpTask.due_on <= today)
                       .order_by(FollowUpTask.due_on, FollowUpTask.id).limit(200)).all()
    upcoming = session.exec(select(FollowUpTask, Contact).join(Contact, Contact.id == FollowUpTask.contact_id)
                            .where(FollowUpTask.done_at.is_(None), FollowUpTask.due_on > today)
                            .order_by(FollowUpTask.due_on, FollowUpTask.id).limit(50)).all()
    birthdays = session.exec(select(Contact).where(extract("month", Contact.birthday) == today.month,
                                                   extract("day", Contact.birthday) == today.day,
                                                   Contact.merged_into.is_(None))
                             .order_by(Contact.display_name).limit(200)).all()
    return {"due": due, "upcoming": upcoming, "birthdays": birthdays, "today": today}
