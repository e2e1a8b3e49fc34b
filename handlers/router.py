"""Routes an inbound event to the first handler that matches; a fallback comes last.

Before routing, the message is understood once (intent, entities, sentiment); after it,
a strongly negative message alerts staff whatever the intent (an effect like the handler's).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from core import messages as m
from crm import account_links
from crm.phone_claims import STATE_KEY
from handlers.account_link import AccountLinkHandler
from handlers.base import UPSET, Context, Handler
from handlers.complaints import ComplaintHandler
from handlers.csat import SurveyHandler
from handlers.effects import AlertStaff, Answer, Effect
from handlers.faq import FaqHandler, KnownQuestionHandler
from handlers.handoff import HandoffHandler, UnsureHandler
from handlers.location import LocationHandler
from handlers.loyalty import REWARD_OPTIONS, PointsHandler
from handlers.marketing import CampaignButtonHandler, OptOutHandler, WelcomeJourneyHandler
from handlers.member_code import MemberCodeHandler
from handlers.menu import MenuHandler, MenuQuestionHandler, OutOfScopeHandler, StalePostbackHandler, postback_intent
from handlers.nlu import analyze, get_model
from handlers.nlu.lang import reply_language
from handlers.nlu.order_text import party_size
from handlers.order_status import CancelOrderHandler, OrderStatusHandler
from handlers.order_flow import resume_reply
from handlers.orders import PARTY, OrderHandler
from handlers.payment_proof import PaymentProofHandler
from handlers.phone_claim import PhoneClaimHandler
from handlers.promotions import PromotionHandler
from handlers.staff_link import StaffLinkHandler
from handlers.staff_reply import StaffReplyHandler
from handlers.welcome import GreetingHandler, WelcomeHandler

log = logging.getLogger(__name__)
STRONGLY_NEGATIVE = UPSET  # negative_score above which staff are alerted proactively


class Router:
    """An ordered list of handlers; the first whose `matches` is true answers.

    The last handler matches everything (the fallback), so every customer message gets an
    answer. `understand` (the NLU) runs before the handlers see a text message.
    """

    def __init__(self, handlers: Sequence[Handler], understand: Callable[[str, Context], object] | None = None) -> None:
        self.handlers = list(handlers)
        self.understand = understand

    def route(self, inbound: m.Inbound, ctx: Context) -> Answer:
        """The answer of the first matching handler (nothing when none matches), plus an alert if upset."""
        self.prepare(inbound, ctx)
        answer = Answer([])
        for handler in self.handlers:
            if handler.matches(inbound, ctx):
                ctx.intent = ctx.intent or handler.name
                answer = handler.handle(inbound, ctx)
                if handler.name not in ("order", "cancel_order") and ctx.intent != "human_handoff":
                    resume = resume_reply(ctx)  # a question in the middle of an order: the order goes on
                    if resume is not None:
                        answer = Answer([*answer.replies, resume], answer.effects)
                break
        party = party_size(inbound.text or "")
        if party is not None:
            # "bisa buat acara 30 orang?" asked first: "kopsus aja semua" later is 30. Kept after the handlers,
            # which compare it with the count said before ("eh jadi 25 orang").
            ctx.state[PARTY] = party
        if ctx.intent != "cancel_order":
            ctx.state.pop("cancel_asked", None)  # a later "iya" must not cancel an order asked about before
        if ctx.intent != "faq":
            ctx.state.pop("faq_options", None)  # a later "2" is a quantity, not the second question listed
        if ctx.intent != "csat":
            ctx.state.pop("csat", None)  # not an answer to the satisfaction survey: it is dropped
        if ctx.intent != "points":
            ctx.state.pop(REWARD_OPTIONS, None)  # a later "1" is a quantity, not the first reward offered
        if ctx.intent != "phone_claim":
            ctx.state.pop(STATE_KEY, None)  # not an answer to "is this member you?": asked once, left unanswered
        alert = self.alert_if_upset(inbound, ctx)
        return Answer(answer.replies, (*answer.effects, alert)) if alert else answer

    def answer_while_bot_inactive(self, inbound: m.Inbound, ctx: Context) -> Answer | None:
        """The answer of a handler that answers whatever the bot state (a staff link code, stop), or None."""
        for handler in self.handlers:
            if getattr(handler, "answers_while_bot_inactive", False) and handler.matches(inbound, ctx):
                ctx.intent = handler.name
                return handler.handle(inbound, ctx)
        return None

    def prepare(self, inbound: m.Inbound, ctx: Context) -> None:
        """Understand the message: menu-button intent, or NLU for text (language follows it)."""
        # The clarifying question the bot asked last is answered by this message: a handler may ask anew.
        ctx.clarifying = bool(ctx.state.pop("unsure", False))
        if inbound.kind == m.POSTBACK:
            ctx.requested_intent = postback_intent(inbound.postback_data)
        if self.understand is not None and inbound.kind == m.MESSAGE and inbound.message_type == "text" \
                and inbound.command is None and not explicit_request(inbound.text):
            if ctx.analysis is None:  # the worker may have understood it before taking the write lock
                ctx.analysis = self.understand(inbound.text or "", ctx)
        if inbound.kind == m.MESSAGE and inbound.message_type == "text":
            # One language per reply: the message's, or the one the customer last wrote in when
            # the message could be either ("ok", "stop", an emoji).
            said = reply_language(inbound.text or "", ctx.state.get("lang"))
            if said is not None:
                ctx.state["lang"] = said
            chosen = said or ctx.state.get("lang")
            offered = ctx.data.settings().languages if ctx.data is not None else None
            if chosen and (not offered or chosen in offered):  # else the shop's language chosen before stands
                ctx.language = chosen

    @staticmethod
    def alert_if_upset(inbound: m.Inbound, ctx: Context) -> Effect | None:
        """A strongly negative message alerts staff proactively (once per message)."""
        analysis = ctx.analysis
        covered = ctx.state.pop("alerted", False)  # this message's complaint ticket or low rating alerted staff
        if covered or analysis is None or ctx.data is None or analysis.negative_score < STRONGLY_NEGATIVE:
            return None
        return AlertStaff("negative", f"Very unhappy customer ({analysis.negative_score:.2f}): {inbound.text}", "high",
                          params={"line": "negative", "score": f"{analysis.negative_score:.2f}",
                                  "quote": inbound.text or ""})


def explicit_request(text: str | None) -> bool:
    """True for a message that names what it wants exactly (an account-link request or code): no model reads it."""
    return account_links.asks_for_code(text, None) or account_links.code_in(text) is not None


def nlu_understanding(model_path: str, threshold: float) -> Callable[[str, Context], object]:
    """The NLU step: analyze text against the shop's catalog with the trained model."""
    def understand(text: str, ctx: Context) -> object:
        ctx.threshold = threshold
        catalog = ctx.data.catalog() if ctx.data is not None else ()
        return analyze(text, catalog=catalog, model=get_model(model_path))

    return understand


def default_router(understand: Callable[[str, Context], object] | None = None) -> Router:
    """The product's handler chain, most specific first."""
    return Router([
        StaffLinkHandler(),  # a staff member's link code, before any conversation
        AccountLinkHandler(),  # a customer asks for an account-link code or sends one: explicit, never a guess
        StaffReplyHandler(),  # a staff member's /r answer from their linked chat
        WelcomeJourneyHandler(), WelcomeHandler(), OptOutHandler(), CampaignButtonHandler(),
        SurveyHandler(),  # a score or comment for the satisfaction survey the chat waits on
        PhoneClaimHandler(),  # "is the member with this number you?": its yes/no, or a member's number typed alone
        PaymentProofHandler(),  # a photo while an order waits for a transfer, before the photo is just thanked
        MemberCodeHandler(),  # "kartu member", "my member code": a precise rule over the model (FAQ, promo, handoff)
        HandoffHandler(),  # an explicit request for a person wins over a product or a question it names
        PointsHandler(),  # "poin saya berapa?", "tukar poin": a precise rule over the model (it says promotion)
        KnownQuestionHandler(),  # a question the FAQ answers, before it is taken for an order or a promo
        OrderHandler(), MenuQuestionHandler(), CancelOrderHandler(), OrderStatusHandler(), ComplaintHandler(),
        PromotionHandler(), LocationHandler(), FaqHandler(), GreetingHandler(),
        OutOfScopeHandler(),  # sure it is not for the shop: said so, not a guess
        UnsureHandler(), StalePostbackHandler(), MenuHandler(),
    ], understand)
