"""Handlers are pure: they read a view and return (replies, effects); they never write or reach a session."""

from __future__ import annotations

import ast
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import event
from sqlmodel import Session

from core import messages as m
from core.db import utcnow
from crm.models import Contact
from crm.orders import Order
from crm.shop import ShopView
from handlers import effects as fx
from handlers.base import Context
from handlers.complaints import ComplaintHandler
from handlers.handoff import HandoffHandler
from handlers.location import LocationHandler
from handlers.marketing import OptOutHandler
from handlers.order_status import CancelOrderHandler

HANDLERS = Path(__file__).resolve().parents[2] / "handlers"
# What a handler module may not import: a database session, or a floor above its own.
FORBIDDEN = ("sqlmodel", "sqlalchemy", "broadcasts", "bot", "linebot", "telegram")


def imported(path: Path) -> set[str]:
    """The top-level packages a module imports (inside functions too)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("path", sorted(HANDLERS.glob("*.py")), ids=lambda p: p.name)
def test_a_handler_module_imports_no_session_and_nothing_above_its_floor(path):
    assert not imported(path) & set(FORBIDDEN)


def test_the_view_offers_no_session_and_no_writes():
    public = {name for name in dir(ShopView) if not name.startswith("_")}
    assert not {"session", "place_order", "cancel", "open_complaint", "alert", "handoff",
                "remember_location", "forget_location"} & public


@pytest.fixture
def view(runtime):
    """A customer with one fresh order, seen through the handlers' view; fails the test if anything is written."""
    with Session(runtime.engine) as session:
        contact = Contact(display_name="Dewi", language="id")
        session.add(contact)
        session.flush()
        session.add(Order(contact_id=contact.id, channel="line", fulfilment="pickup", number="10001", subtotal=25_000,
                          total=25_000, created_at=utcnow() - timedelta(hours=1)))
        session.commit()
        writes: list[bool] = []
        event.listen(session, "before_flush", lambda *_: writes.append(True))
        yield ShopView(session=session, contact=contact, tz=runtime.settings.tz, channel="line")
        assert not writes and not session.new and not session.dirty and not session.deleted


def context(view: ShopView, **values) -> Context:
    return Context(contact_id=view.contact_id, contact_name="Dewi", language="id", shop_name="Kopi", now=utcnow(),
                   data=view, **values)


def text(words: str, **values) -> m.Inbound:
    return m.Inbound(channel="line", kind=m.MESSAGE, user_id="U1", chat_id="U1", chat_type="direct",
                     message_type="text", text=words, **values)


class Analysis:
    """A stand-in for the NLU's analysis."""

    def __init__(self, intent: str, negative_score: float = 0.0) -> None:
        self.intent, self.confidence, self.negative_score, self.lang = intent, 0.9, negative_score, "id"
        self.entities = type("Entities", (), {"order_numbers": (), "products": (), "addresses": ()})()
        self.text, self.scores = "", {intent: 0.9}


def test_a_complaint_is_an_effect_about_the_latest_order_and_writes_nothing(view):
    ctx = context(view, analysis=Analysis("complaint", negative_score=0.9))
    replies, effects = ComplaintHandler().handle(text("kopinya tumpah"), ctx)
    assert replies == []  # the apology names the ticket, which exists once the effect is applied
    [complaint] = effects
    assert isinstance(complaint, fx.OpenComplaint) and complaint.order_number == "10001"
    assert complaint.text == "kopinya tumpah" and ctx.state["alerted"]


def test_a_handoff_and_a_cancel_are_effects(view):
    replies, effects = HandoffHandler().handle(text("mau ngomong sama admin"), context(view))
    # quiet or not depends on the staff hours at the test's clock (tests/handlers/test_typed_conversations.py)
    assert [effect.reason for effect in effects] == ["Customer asked for staff: mau ngomong sama admin"] and replies
    order_id = view.latest_orders()[0].id
    postback = m.Inbound(channel="line", kind=m.POSTBACK, user_id="U1", chat_id="U1", chat_type="direct",
                         postback_data=f"cancel:yes:{order_id}")
    replies, effects = CancelOrderHandler().handle(postback, context(view))
    assert effects == (fx.CancelOrder(order_id),) and "dibatalkan" in replies[0].text


def test_opting_out_and_a_shared_location_are_effects(view):
    replies, effects = OptOutHandler().handle(text("berhenti"), context(view))
    assert effects == (fx.SetOptOut(True),) and "chat ini" in replies[0].text and "LINE" not in replies[0].text
    # The reply is in the language the router chose (for "stop": the customer's last one, see
    # tests/handlers/test_typed_conversations.py), never naming the channel.
    english = context(view)
    english.language = "en"
    replies, _effects = OptOutHandler().handle(text("stop"), english)
    assert "promo" in replies[0].text and "kamu" not in replies[0].text and "LINE" not in replies[0].text
    location = m.Inbound(channel="line", kind=m.MESSAGE, user_id="U1", chat_id="U1", chat_type="direct",
                         message_type="location", data={"lat": -6.2, "lon": 106.8, "title": "Rumah"})
    _replies, effects = LocationHandler().handle(location, context(view))
    assert effects == (fx.RememberLocation(-6.2, 106.8),)
