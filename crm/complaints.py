"""Complaint tickets with severity and SLA (staff are alerted through crm.alerts)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Field, Session, SQLModel, select

from core.db import as_utc, utcnow
from crm import webhooks
from crm.schemas import ComplaintPublic

SEVERITIES = ("low", "medium", "high", "critical")
STATUSES = ("open", "in_progress", "resolved", "closed")
# Time to first resolution per severity (how fast staff must act).
SLA = {"critical": timedelta(hours=1), "high": timedelta(hours=4), "medium": timedelta(hours=24),
       "low": timedelta(hours=72)}
CATEGORIES = {
    "delivery": ("telat", "lama", "belum sampai", "blm nyampe", "ga nyampe", "gak nyampe", "kurir", "driver",
                 "late", "delivery", "never arrived", "not arrived", "ongkir"),
    "product_quality": ("tumpah", "basi", "dingin", "rusak", "pecah", "asin", "pahit", "hambar", "salah", "kurang",
                        "tidak sesuai", "gak sesuai", "ga sesuai", "spilled", "cold", "stale", "broken", "wrong",
                        "missing", "rasa", "kemasan", "bocor", "rambut", "kotor"),
    "payment": ("bayar", "refund", "uang", "saldo", "transfer", "tf", "double", "charged", "payment", "qris", "potong"),
    "service": ("jutek", "kasar", "judes", "lama balas", "slow respon", "rude", "staff", "pelayanan", "kasir",
                "barista", "admin"),
}
CRITICAL_WORDS = ("keracunan", "sakit perut", "diare", "muntah", "poisoning", "allergic", "alergi", "polisi",
                  "lapor", "viral", "bpom", "ylki", "somasi", "lawyer", "pengacara")


class Complaint(SQLModel, table=True):
    """A complaint ticket: what went wrong, how bad, by when it must be handled."""

    id: int | None = Field(default=None, primary_key=True)
    number: str | None = Field(default=None, max_length=20, sa_column_kwargs={"unique": True})
    contact_id: int = Field(foreign_key="contact.id", index=True)
    conversation_id: int | None = Field(default=None, foreign_key="conversation.id")
    order_id: int | None = Field(default=None, foreign_key="order.id")
    message_id: int | None = Field(default=None, foreign_key="message.id")
    category: str = Field(default="other", max_length=20)
    severity: str = Field(default="medium", max_length=10, index=True)
    status: str = Field(default="open", max_length=12, index=True)
    text: str = Field(default="", max_length=5000)
    sla_due_at: datetime
    created_at: datetime = Field(default_factory=utcnow)
    resolved_at: datetime | None = None


def categorize(text: str) -> str:
    """The complaint category suggested by the words used."""
    lowered = text.lower()
    scores = {category: sum(word in lowered for word in words) for category, words in CATEGORIES.items()}
    best = max(scores, key=scores.get)
    return best if scores[best] else "other"


def severity_for(text: str, negative_score: float) -> str:
    """Severity from sentiment strength and alarming words (health, legal, going public)."""
    lowered = text.lower()
    if any(word in lowered for word in CRITICAL_WORDS):
        return "critical"
    if negative_score >= 0.85:
        return "high"
    if negative_score >= 0.5:
        return "medium"
    return "low"


def open_complaint(*, session: Session, contact_id: int, text: str, negative_score: float,
                   conversation_id: int | None = None, order_id: int | None = None,
                   message_id: int | None = None, now: datetime | None = None) -> Complaint:
    """Create a complaint ticket with category, severity and SLA due time."""
    now = now or utcnow()
    severity = severity_for(text, negative_score)
    complaint = Complaint(contact_id=contact_id, conversation_id=conversation_id, order_id=order_id,
                          message_id=message_id, category=categorize(text), severity=severity,
                          text=text[:5000], sla_due_at=now + SLA[severity], created_at=now)
    session.add(complaint)
    session.flush()
    complaint.number = f"C{complaint.id:05d}"
    session.add(complaint)
    session.flush()
    webhooks.emit(session, "complaint.created", lambda: complaint_public(complaint, now).model_dump(mode="json"))
    return complaint


def complaint_public(complaint: Complaint, now: datetime) -> ComplaintPublic:
    """The API shape of a complaint (its SLA breached or not at `now`)."""
    open_ = complaint.status in ("open", "in_progress")
    return ComplaintPublic(
        id=complaint.id, number=complaint.number, contact_id=complaint.contact_id, status=complaint.status,
        severity=complaint.severity, category=complaint.category, order_id=complaint.order_id, text=complaint.text,
        sla_due_at=complaint.sla_due_at, sla_breached=open_ and as_utc(complaint.sla_due_at) < as_utc(now),
        created_at=complaint.created_at, resolved_at=complaint.resolved_at)


def change_complaint_status(*, session: Session, complaint: Complaint, status: str) -> Complaint:
    """Set a complaint's status (resolving stamps the time)."""
    if status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}")
    complaint.status = status
    complaint.resolved_at = utcnow() if status in ("resolved", "closed") else None
    session.add(complaint)
    session.flush()
    return complaint


def open_complaints(*, session: Session, contact_id: int, since: datetime | None = None) -> list[Complaint]:
    """A customer's complaints that are not resolved yet (made after `since`, when given), newest first."""
    query = select(Complaint).where(Complaint.contact_id == contact_id, Complaint.status.in_(("open", "in_progress")))
    if since is not None:
        query = query.where(Complaint.created_at >= since)
    return list(session.exec(query.order_by(Complaint.created_at.desc(), Complaint.id.desc())).all())
