"""Plays typed dialogues (tests/dialogues/*.yaml) against a running shop and judges the outcome through the API.

A customer sends its turns as LINE text messages through the real webhook and pipeline
(the LINE API is the fake on 127.0.0.1). When the turns are spent and the bot still waits
for an answer (the conversation's pending question), the customer answers from its
`answers` in its own words, as a person would. The outcome is then read from the API:
the orders, complaints, conversations and labelled replies of that customer.
"""

from __future__ import annotations

import itertools
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from sqlmodel import Session, select

from core.db import session_scope
from crm.models import ChannelIdentity, Conversation
from crm.orders import Product
from tests.factories import Webhooks, line_text

HERE = Path(__file__).parent
MAX_ANSWERS = 8  # answers to the bot's questions after the turns, before giving up
# The bot's pending question → the key of the customer's `answers` that answers it.
ANSWER_FOR = {"fulfilment": "fulfilment", "minimum": "fulfilment", "store": "store", "address": "address",
              "reach": "address", "phone": "phone", "payment": "payment", "time": "time", "confirm": "confirm",
              "clarify": "clarify"}
# A customer whose question the bot did not get, asked "is it one of these?", asks for a person.
ASK_FOR_A_PERSON = {"id": "bukan kak, mau ngobrol sama admin aja", "en": "none of those, can I talk to a person?"}
# What the bot's labelled replies must include for an `answer:` outcome.
ANSWER_INTENTS = {
    "hours": {"faq", "location"}, "payment": {"faq"}, "delivery_fee": {"faq"}, "faq": {"faq", "points"},  # points: the loyalty answer states its rules
    "promo": {"promotion"}, "nearest_store": {"location"}, "order_status": {"order_status"},
    "greeting": {"greeting", "welcome", "menu"}, "menu": {"order", "menu"},
}
_users = itertools.count(1)


def load(name: str) -> list[dict]:
    """The dialogues of one shop (`coffee` or `bakery`)."""
    with open(HERE / f"{name}.yaml", encoding="utf-8") as file:
        return yaml.safe_load(file)


@dataclass
class Played:
    """What happened in one dialogue: what the customer sent, and the verdict."""

    dialogue: dict
    sent: list[str] = field(default_factory=list)
    transcript: list[str] = field(default_factory=list)  # "> customer" and "< bot" lines
    problems: list[str] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)  # webhook → stored reply, per message

    @property
    def ok(self) -> bool:
        return not self.problems


class Shop:
    """A running shop to play dialogues against: the test client, the runtime, an API token."""

    def __init__(self, client, runtime, token: str, store_names: dict[int, str], fake_line) -> None:
        self.client, self.runtime, self.hooks, self.fake = client, runtime, Webhooks(client), fake_line
        self.auth = {"Authorization": f"Bearer {token}"}
        self.store_names = store_names
        with Session(runtime.engine) as session:  # each dialogue starts on a fresh day's stock
            self.stock = {p.id: p.stock for p in session.exec(select(Product)).all() if p.stock is not None}

    def restock(self) -> None:
        """Put the limited products back to the day's stock (every customer is on a day of their own)."""
        with session_scope(self.runtime.engine) as session:
            for product_id, stock in self.stock.items():
                session.get(Product, product_id).stock = stock

    def api(self, path: str) -> Any:
        response = self.client.get(f"/api/v1{path}", headers=self.auth)
        assert response.status_code == 200, (path, response.status_code, response.get_data(as_text=True))
        return response.get_json()

    def say(self, user: str, text: str, played: Played) -> None:
        event = line_text(text, user=user)
        started = time.perf_counter()
        response = self.hooks.line(event)
        played.seconds.append(time.perf_counter() - started)
        played.sent.append(text)
        played.transcript.append(f"> {text}")
        assert response.status_code == 200
        replies = [call.json for call in self.fake.calls("/v2/bot/message/reply")
                   if call.json.get("replyToken") == event["replyToken"]]
        for message in (message for reply in replies for message in reply["messages"]):
            words = message.get("text") or message.get("altText") or message.get("type")
            buttons = [item["action"].get("label") for item in (message.get("quickReply") or {}).get("items", [])]
            played.transcript.append(f"< {words}" + (f"  [{' | '.join(buttons)}]" if buttons else ""))

    def _chat(self, user: str) -> tuple[int | None, Conversation | None]:
        with Session(self.runtime.engine) as session:
            identity = session.exec(select(ChannelIdentity).where(ChannelIdentity.channel == "line",
                                                                  ChannelIdentity.external_id == user)).first()
            conversation = session.exec(select(Conversation).where(Conversation.channel == "line",
                                                                   Conversation.external_chat_id == user)).first()
            return (identity.contact_id if identity else None), conversation

    def pending(self, user: str) -> str | None:
        """The question the bot is waiting on in this customer's chat (None: none)."""
        _contact, conversation = self._chat(user)
        state = (conversation.state or {}) if conversation else {}
        if state.get("pending"):
            return state["pending"].get("slot")
        if state.get("cancel_asked"):
            return "confirm"  # "cancel order #…?"
        return "clarify" if state.get("unsure") or state.get("faq_clarify") else None  # "is it one of these?"

    def play(self, dialogue: dict, setup_order=None) -> Played:
        """Send the turns, answer what the bot still asks, and judge the outcome."""
        played = Played(dialogue)
        self.restock()
        user = "U" + uuid.uuid4().hex[:31]
        setup_ids: set[int] = set()
        if dialogue.get("setup") == "has_order" and setup_order is not None:
            self.say(user, "halo", played)  # the customer exists before their earlier order
            contact_id, _conversation = self._chat(user)
            setup_ids.add(setup_order(contact_id))
            played.sent.clear()
        for turn in dialogue["turns"]:
            self.say(user, str(turn), played)
        answers = dialogue.get("answers") or {}
        given: set[str] = set()
        for _ in range(MAX_ANSWERS):
            slot = self.pending(user)
            if slot is None:
                break
            key = ANSWER_FOR.get(slot)
            if key is None or key in given and key != "confirm":
                if key is not None or slot not in ("which", "item"):
                    played.problems.append(f"the bot asks for {slot!r} again or for something the customer gave")
                break
            language = "en" if dialogue.get("lang") == "en" else "id"
            words = answers.get(key) or {"confirm": "yes" if language == "en" else "iya",
                                         "clarify": ASK_FOR_A_PERSON[language]}.get(key)
            if words is None:
                played.problems.append(f"the bot asks for {slot!r}, which this customer has no answer for")
                break
            given.add(key)
            self.say(user, str(words), played)
        self.judge(user, dialogue.get("expect") or {}, setup_ids, played)
        return played

    def judge(self, user: str, expect: dict, setup_ids: set[int], played: Played) -> None:
        """Compare the outcome (read through the API) with what the dialogue expects."""
        contact_id, _conversation = self._chat(user)
        if contact_id is None:
            played.problems.append("no contact was recorded")
            return
        orders = [o for o in self.api(f"/orders?contact_id={contact_id}")["items"] if o["id"] not in setup_ids]
        if "order" in expect:
            self._judge_order(expect["order"], orders, played)
        elif expect.get("no_order"):
            if orders:
                played.problems.append(f"an order was placed: {_items(orders[0])}")
        elif "complaint" in expect:
            complaints = self.api(f"/complaints?contact_id={contact_id}")["items"]
            if not complaints:
                played.problems.append("no complaint ticket")
            elif (expect["complaint"] or {}).get("about_order") and complaints[0]["order_id"] is None:
                played.problems.append("the complaint is not linked to the order")
        elif expect.get("handoff"):
            if "human_handoff" not in self._reply_intents(contact_id):
                played.problems.append("not handed to staff")
        elif "answer" in expect:
            self._judge_answer(expect["answer"], contact_id, setup_ids, played)
        if "order" not in expect and orders and not expect.get("no_order") and expect.get("answer") != "menu":
            played.problems.append(f"an unexpected order was placed: {_items(orders[0])}")

    def _judge_order(self, want: dict, orders: list[dict], played: Played) -> None:
        if len(orders) != 1:
            played.problems.append(f"{len(orders)} orders placed, 1 expected")
            return
        order = orders[0]
        got = {item["product"]: item["quantity"] for item in order["items"]}
        wanted = {item["product"]: item["quantity"] for item in want.get("items", [])}
        if got != wanted:
            played.problems.append(f"items {got} != {wanted}")
        for key in ("fulfilment", "payment_method", "phone"):
            if key in want and want[key] != order.get(key):
                played.problems.append(f"{key} {order.get(key)!r} != {want[key]!r}")
        if "store" in want and self.store_names.get(order.get("store_id")) != want["store"]:
            played.problems.append(f"store {self.store_names.get(order.get('store_id'))!r} != {want['store']!r}")
        if "address_contains" in want and want["address_contains"].lower() not in (order.get("address") or "").lower():
            played.problems.append(f"address {order.get('address')!r} lacks {want['address_contains']!r}")
        for product, words in (want.get("note_contains") or {}).items():
            notes = " ".join(item.get("note") or "" for item in order["items"] if item["product"] == product)
            notes += " " + (order.get("note") or "")
            if words.lower() not in notes.lower():
                played.problems.append(f"note of {product} {notes.strip()!r} lacks {words!r}")

    def _reply_intents(self, contact_id: int) -> set[str]:
        messages = self.api(f"/contacts/{contact_id}/messages?limit=200")["items"]
        return {m["intent"] for m in messages if m["direction"] == "out" and m["intent"]}

    def _judge_answer(self, kind: str, contact_id: int, setup_ids: set[int], played: Played) -> None:
        if kind == "cancelled":
            orders = self.api(f"/orders?contact_id={contact_id}")["items"]
            if not any(o["id"] in setup_ids and o["status"] == "cancelled" for o in orders):
                played.problems.append("the existing order was not cancelled")
            return
        intents = self._reply_intents(contact_id)
        if not intents & ANSWER_INTENTS.get(kind, {kind}):
            played.problems.append(f"answered as {sorted(intents)}, expected {kind}")


def _items(order: dict) -> str:
    return ", ".join(f"{item['quantity']}× {item['product']}" for item in order["items"])


def existing_order(runtime, product_name: str):
    """A setup: gives a customer a new delivery order of two `product_name` (returns a function of the contact)."""
    from crm.orders import CartLine, place_order

    def create(contact_id: int) -> int:
        with session_scope(runtime.engine) as session:
            product = session.exec(select(Product).where(Product.name == product_name)).one()
            order = place_order(session=session, contact_id=contact_id, lines=[CartLine(product.id, 2)],
                                fulfilment="delivery", address="Jl. Melati No. 3, Jakarta", phone="+6281200000000",
                                payment_method="qris")
            return order.id

    return create
