"""Answering one recorded event: build the handlers' view, route, label the intent, apply effects, store replies.

`decide` only reads (so the worker may call it before taking the write lock); `apply`
writes what was decided: the conversation's state and labels, each effect once, and the
replies as one batch.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from broadcasts import consent, results
from broadcasts.campaign_message import button_reply, variant_message
from broadcasts.journeys import welcome_text
from broadcasts.models import Campaign
from core import messages as m
from core.after_commit import send_after_commit
from core.db import utcnow
from core.runtime import Runtime
from core.settings import Settings
from core.texts import text
from crm import (account_links, alerts, complaints, csat, episodes, history, loyalty, member_codes, merge, orders,
                 shop, shop_settings, staff_links)
from crm.inbox import data as inbox_data
from crm.inbox.auth import can
from crm.inbox.i18n import error_text
from crm.models import Contact, Conversation, Message
from handlers import effects as fx
from handlers.base import Context
from handlers.account_link import code_reply, redeemed_reply
from handlers.complaints import complaint_reply
from handlers.member_code import member_code_reply
from handlers.orders import placed_reply
from handlers.staff_link import link_reply

log = logging.getLogger(__name__)
# Kinds of inbound events the bot answers.
ANSWERED = {m.MESSAGE, m.POSTBACK, m.FOLLOW}


class EffectRefused(Exception):
    """An effect the handler decided from its reads is refused now (the last item sold meanwhile): decide again."""


@dataclass
class Decision:
    """What answering an event will write: replies, effects, and the conversation's bookkeeping."""

    replies: list[m.Reply]
    effects: tuple[fx.Effect, ...]
    intent: str | None  # the handler's: labels the replies
    label: tuple[str, float | None] | None  # the customer's message's intent and confidence, when it has none
    state: dict | None  # the conversation state to save (None: left as it is)
    last_intent: str | None  # the chat's latest topic, noted while the bot leaves the chat to staff
    bot_back: bool  # the handoff timed out: the bot answers again
    now: datetime
    rules: shop_settings.ShopSettings  # the shop settings staff saved, as read for this decision
    config: Settings  # config.yaml with those settings laid over it


class CampaignReads:
    """The broadcasts side of the handlers' view (`handlers.base.Marketing`): reads only."""

    __slots__ = ("_session",)

    def __init__(self, session: Session) -> None:
        self._session = session

    def welcome(self) -> tuple[bool, str | None]:
        """Whether the welcome journey is on, and its edited text."""
        return welcome_text(session=self._session)

    def has_campaign(self, campaign_id: int) -> bool:
        """True when the campaign exists."""
        return self._session.get(Campaign, campaign_id) is not None

    def campaign_answer(self, campaign_id: int, variant: str, position: int) -> str | None:
        """The answer of a campaign's reply button."""
        campaign = self._session.get(Campaign, campaign_id)
        return button_reply(variant_message(campaign, variant), position) if campaign else None


def understand(rt: Runtime, session: Session, inbound: m.Inbound) -> Any:
    """The NLU's analysis of an event's text (None for other events), from reads only."""
    ctx = Context(contact_id=None, contact_name="", language="id", shop_name="", now=utcnow(),
                  data=shop.ShopView(session=session, contact=None, tz=rt.settings.tz, channel=inbound.channel))
    rt.router.prepare(inbound, ctx)
    return ctx.analysis


def reply_language(rt: Runtime, rules: shop_settings.ShopSettings, contact: Contact | None,
                   inbound: m.Inbound) -> str:
    """Reply in the customer's language when the shop offers it (English or Indonesian), else the shop's default."""
    wanted = (contact.language if contact else None) or inbound.language
    return shop_settings.reply_language(rules, rt.settings, wanted)


def decide(rt: Runtime, session: Session, inbound: m.Inbound, recorded: history.Recorded,
           analysis: Any = None) -> Decision:
    """Route the event through the handlers, from reads only (nothing in the session is changed)."""
    conversation, contact, message = recorded.conversation, recorded.contact, recorded.message
    now = utcnow()
    rules = shop_settings.load_settings(session)  # staff's latest save, read fresh for every message
    config = shop_settings.effective_config(rt.settings, rules)
    ctx = Context(
        contact_id=contact.id if contact else None,
        contact_name=(contact.display_name if contact else "") or inbound.display_name or "Kak",
        language=reply_language(rt, rules, contact, inbound),
        shop_name=config.bot.shop_name,
        now=now,
        state=history.live_state(conversation, timedelta(minutes=config.bot.conversation_idle_minutes), now),
        data=shop.ShopView(session=session, contact=contact, tz=config.tz, channel=inbound.channel, settings=rules,
                           loyalty_rules=config.loyalty),
        marketing=CampaignReads(session),
        threshold=rt.settings.nlu.confidence_threshold,
        analysis=analysis,
    )
    handoff_over = not conversation.bot_active and conversation.handoff_until is not None \
        and conversation.handoff_until <= now
    if inbound.kind not in ANSWERED or not inbound.addressed or not (conversation.bot_active or handoff_over):
        # Staff have the chat, or a group talks among itself: the bot stays quiet, but the
        # message is still labelled with what it is about (inbox filters, dashboard).
        rt.router.prepare(inbound, ctx)
        answer = rt.router.answer_while_bot_inactive(inbound, ctx)
        label = _label(message, ctx)
        if answer is not None:
            return Decision(answer.replies, answer.effects, ctx.intent, label, None, None, False, now, rules, config)
        intent = message.intent if message is not None and message.intent else (label[0] if label else None)
        confident = ctx.analysis is None or ctx.analysis.confidence >= ctx.threshold
        last_intent = intent if intent not in (None, "other") and confident else None
        return Decision([], (), ctx.intent, label, None, last_intent, False, now, rules, config)
    answer = rt.router.route(inbound, ctx)
    replies = answer.replies
    if handoff_over and history.staff_asked_for(conversation):
        replies = [m.Reply(text=ctx.say("staff_late")), *replies]
    return Decision(replies, answer.effects, ctx.intent, _label(message, ctx), ctx.state, None, handoff_over, now,
                    rules, config)


def apply(rt: Runtime, session: Session, inbound: m.Inbound, recorded: history.Recorded, decision: Decision,
          batch_id: str) -> tuple[str | None, list[Message]]:
    """Write a decision: bookkeeping, effects (raising EffectRefused when one is refused), replies as one batch.

    Returns the batch id and the rows to send right after the commit, or None when silent.
    """
    conversation, message = recorded.conversation, recorded.message
    if decision.bot_back:
        conversation.bot_active, conversation.handoff_until = True, None
    if decision.state is not None:
        conversation.state, conversation.state_updated_at = decision.state, decision.now
    if decision.last_intent is not None:
        conversation.last_intent = decision.last_intent
    session.add(conversation)
    if decision.label is not None and message is not None:
        message.intent, message.confidence = decision.label
        session.add(message)
    replies = list(decision.replies)
    if decision.effects:
        session.flush()  # the effects link to the customer's message by its id
        target = _Target(rt, session, inbound, recorded, decision.now, decision.config, decision.rules)
        for effect in decision.effects:
            replies += APPLY[type(effect)](target, effect)
    if not replies:
        return None, []
    return batch_id, _store_replies(session, inbound, recorded, batch_id, replies, decision.intent)


def answer_safely(rt: Runtime, session: Session, inbound: m.Inbound, recorded: history.Recorded,
                  batch_id: str, analysis: Any = None) -> tuple[str | None, list[Message], Exception | None]:
    """Decide and apply in a savepoint: if that fails, the recorded message still commits (and the error is returned)."""
    try:
        with session.begin_nested():
            if recorded.already_recorded:  # a retry: was the answer of an earlier attempt committed?
                if history.batch_messages(session=session, batch_id=batch_id):
                    return batch_id, [], None  # its replies exist: only sending may be left
                if recorded.message is not None and recorded.message.intent is not None:
                    return None, [], None  # labelled by a silent answer: its effects are applied already
            decision = decide(rt, session, inbound, recorded, analysis)
            return *apply(rt, session, inbound, recorded, decision, batch_id), None
    except Exception as exc:  # noqa: BLE001 - re-raised by the caller after the commit
        return None, [], exc


def _label(message: Message | None, ctx: Context) -> tuple[str, float | None] | None:
    """The intent of the customer's message (the NLU's, a menu button's or the handler's), unless it has one."""
    if message is None or message.intent is not None:
        return None
    analysis = ctx.analysis
    intent = analysis.intent if analysis else (ctx.requested_intent or ctx.intent)
    if ctx.intent == "order" and analysis is not None:
        return "order", None  # an answer to the order's question ("qris", "ga jadi croissantnya") is about the order
    if ctx.intent in ("points", "member_code"):
        return ctx.intent, None  # a precise rule, over the model (which reads "poin saya berapa?" as a promotion)
    if intent is None:
        return None
    return intent, round(analysis.confidence, 4) if analysis else None


def _store_replies(session: Session, inbound: m.Inbound, recorded: history.Recorded, batch_id: str,
                   replies: list[m.Reply], intent: str | None) -> list[Message]:
    """Store the replies as one batch: the rows to send right after the commit."""
    # Fresh replies are stored as `sending`, to be sent right after the commit (no second
    # transaction). Not on Telegram: there a row in `sending` after a crash means "maybe
    # sent" (unknown), so rows become `sending` only just before the call, in deliver_batch.
    sending = recorded.conversation.channel != "telegram"
    rows = history.record_outbound(session=session, conversation=recorded.conversation, replies=replies,
                                   batch_id=batch_id, intent=intent, sending=sending,
                                   meta={"reply_token": inbound.reply_token, "chat_type": inbound.chat_type})
    return rows if sending else []


# --- effects: each type and what applies it (in the event's transaction) -----------------


@dataclass
class _Target:
    """Where an effect lands: the event's session, customer, chat and message."""

    rt: Runtime
    session: Session
    inbound: m.Inbound
    recorded: history.Recorded
    now: datetime
    config: Settings  # config.yaml with the shop settings staff saved laid over it
    rules: shop_settings.ShopSettings  # those saved settings (payment methods)

    @property
    def contact_id(self) -> int | None:
        return self.recorded.contact.id if self.recorded.contact else None

    @property
    def message_id(self) -> int | None:
        return self.recorded.message.id if self.recorded.message is not None else None

    def alert(self, kind: str, text: str, severity: str = "medium", params: dict | None = None,
              **links: int | None) -> None:
        """Tell staff about this conversation now (`params`: its line in staff words; `links`: order_id, complaint_id)."""
        alerts.raise_alert(session=self.session, kind=kind, text=text, severity=severity, params=params,
                           contact_id=self.contact_id, conversation_id=self.recorded.conversation.id,
                           message_id=self.message_id, now=self.now, **links)


def _place_order(at: _Target, effect: fx.PlaceOrder) -> list[m.Reply]:
    try:
        order = orders.place_order(session=at.session, contact_id=at.contact_id, lines=list(effect.lines),
                                   fulfilment=effect.fulfilment, address=effect.address, store_id=effect.store_id,
                                   conversation_id=at.recorded.conversation.id, channel=at.inbound.channel,
                                   phone=effect.phone, payment_method=effect.payment_method,
                                   scheduled_for=effect.scheduled_for, note=effect.note,
                                   delivery_fee=effect.delivery_fee, lat=effect.lat, lon=effect.lon,
                                   voucher_code=effect.voucher_code, tz=at.config.tz,
                                   cross_sell_product_id=effect.cross_sell_product_id)
    except orders.OrderError as exc:
        raise EffectRefused(f"order refused: {exc.code}") from exc
    at.alert("order_waiting", f"Order #{order.number} waits for confirmation ({order.total:,} IDR)",
             params={"line": "order_waiting", "number": order.number, "amount": order.total},
             order_id=order.id)
    shop.remember_contact_details(session=at.session, contact=at.recorded.contact, phone=effect.phone,
                                  address=effect.address if effect.lat is None else None)
    method = at.rules.payment_method(order.payment_method)
    placed = placed_reply(order, effect.language, method.how_to_pay(effect.language) if method else None)
    if method is None or not method.image_url:
        return [placed]
    return [m.Reply(image_url=method.image_url, preview_url=method.preview_url), placed]  # the QR, then the words


def _cancel_order(at: _Target, effect: fx.CancelOrder) -> list[m.Reply]:
    order = at.session.get(orders.Order, effect.order_id)
    if order is None or order.contact_id != at.contact_id:
        raise EffectRefused("no such order of this customer")
    try:
        orders.cancel_by_customer(session=at.session, order=order)
    except orders.OrderError as exc:
        raise EffectRefused(f"cancel refused: {exc.code}") from exc
    return []


def _open_complaint(at: _Target, effect: fx.OpenComplaint) -> list[m.Reply]:
    complaint = complaints.open_complaint(
        session=at.session, contact_id=at.contact_id, text=effect.text, negative_score=effect.negative_score,
        conversation_id=at.recorded.conversation.id, order_id=effect.order_id, message_id=at.message_id)
    at.alert("complaint", f"Complaint {complaint.number} ({complaint.severity}): {effect.text}", complaint.severity,
             params={"line": "complaint", "number": complaint.number, "quote": effect.text},
             complaint_id=complaint.id, order_id=complaint.order_id)
    return [complaint_reply(complaint, effect.order_number, effect.language, at.config.tz)]


def _alert_staff(at: _Target, effect: fx.AlertStaff) -> list[m.Reply]:
    at.alert(effect.kind, effect.text, effect.severity, effect.params, complaint_id=effect.complaint_id,
             order_id=effect.order_id)
    return []


def _hand_off(at: _Target, effect: fx.HandOff) -> list[m.Reply]:
    shop.hand_off(session=at.session, conversation=at.recorded.conversation,
                  minutes=at.config.bot.handoff_answer_minutes if effect.quiet else 0)
    at.alert("handoff", effect.reason, params=effect.params)
    return []


def _set_opt_out(at: _Target, effect: fx.SetOptOut) -> list[m.Reply]:
    consent.set_opt_out(session=at.session, contact_id=at.contact_id, channel=at.inbound.channel,
                        opted_out=effect.opted_out)
    return []


def _record_click(at: _Target, effect: fx.RecordClick) -> list[m.Reply]:
    results.record_click(session=at.session, campaign_id=effect.campaign_id, variant=effect.variant,
                         contact_id=at.contact_id)
    return []


def _remember_location(at: _Target, effect: fx.RememberLocation) -> list[m.Reply]:
    shop.remember_location(session=at.session, contact=at.recorded.contact, lat=effect.lat, lon=effect.lon)
    return []


def _forget_location(at: _Target, effect: fx.ForgetLocation) -> list[m.Reply]:
    shop.forget_location(session=at.session, contact=at.recorded.contact)
    return []


def _link_staff_account(at: _Target, effect: fx.LinkStaffAccount) -> list[m.Reply]:
    staff = staff_links.redeem(session=at.session, code=effect.code, channel=at.inbound.channel,
                               external_id=at.inbound.chat_id, contact_id=at.contact_id, now=at.now)
    return [link_reply(staff, effect.language)]


def _request_link_code(at: _Target, effect: fx.RequestLinkCode) -> list[m.Reply]:
    code, _ = account_links.new_code(session=at.session, contact_id=at.contact_id,
                                     conversation_id=at.recorded.conversation.id, now=at.now)
    return [code_reply(code, _link_urls(at.rt, at.inbound.channel, code), effect.language)]


def _link_urls(rt: Runtime, asked_on: str, code: str) -> list[str]:
    """Deep links that send the code from the other channels the shop has (none for a channel without one)."""
    urls = []
    if asked_on != "telegram" and rt.settings.telegram.enabled:
        username = rt.settings.telegram.username or _sender_attribute(rt, "telegram", "username")
        if username:
            urls.append(account_links.telegram_link(username, code))
    if asked_on != "line" and rt.settings.line.enabled and rt.settings.line.basic_id:
        urls.append(account_links.line_link(rt.settings.line.basic_id, account_links.shown(code)))
    return urls


def _sender_attribute(rt: Runtime, channel: str, name: str) -> str | None:
    try:
        return getattr(rt.senders.get(channel), name, None)
    except KeyError:
        return None


def _link_accounts(at: _Target, effect: fx.LinkAccounts) -> list[m.Reply]:
    try:
        with at.session.begin_nested():
            redeemed = account_links.redeem(session=at.session, code=effect.code, contact_id=at.contact_id, now=at.now)
    except merge.MergeError as exc:  # merged meanwhile: the contacts are one already, or one is gone
        log.info("account link refused: %s", exc)
        redeemed = account_links.Redeemed("same")
    if redeemed.record is not None:
        # Also confirmed in the chat that asked for the code (it lives on: it is the survivor's).
        batch_id = history.notify_customer(
            session=at.session, contact_id=redeemed.record.survivor_id, conversation_id=redeemed.asker_conversation_id,
            words=lambda language: text("account_linked_asker", language),
            batch_id=f"link:{redeemed.record.id}", intent="account_link")
        if batch_id is not None:
            send_after_commit(at.session, batch_id)
    return [redeemed_reply(redeemed.status, effect.language)]


def _staff_reply(at: _Target, effect: fx.StaffReply) -> list[m.Reply]:
    staff = staff_links.staff_of(session=at.session, channel=at.inbound.channel, external_id=at.inbound.chat_id)
    if staff is None:
        raise EffectRefused("the chat is no longer a linked staff account")  # decided again: customer text
    if not can("conversations.reply", staff):
        return [m.Reply(text=text("staff_reply_not_allowed", effect.language))]
    conversation = at.session.get(Conversation, effect.conversation_id)
    if conversation is None:
        return [m.Reply(text=text("staff_reply_unknown", effect.language, id=str(effect.conversation_id)))]
    contact = at.session.get(Contact, conversation.contact_id) if conversation.contact_id else None
    draft = inbox_data.ReplyDraft(text=inbox_data.fill_variables(effect.text, contact=contact, staff=staff,
                                                                 shop=at.config.bot.shop_name))
    try:
        # The inbox's own path: the customer's history and the inbox show it as this staff member's reply.
        with at.session.begin_nested():
            batch_id = inbox_data.send_reply(session=at.session, conversation=conversation, staff=staff, draft=draft,
                                             handoff_minutes=at.config.bot.handoff_timeout_minutes)
    except inbox_data.InboxError as exc:
        return [m.Reply(text=text("staff_reply_refused", effect.language, why=error_text(str(exc))))]
    send_after_commit(at.session, batch_id)
    name = (contact.display_name if contact else "") or f"#{conversation.id}"
    return [m.Reply(text=text("staff_reply_sent", effect.language, name=name))]


def _rate_service(at: _Target, effect: fx.RateService) -> list[m.Reply]:
    survey = csat.get_survey(session=at.session, survey_id=effect.survey_id, contact_id=at.contact_id)
    if survey is None or survey.score is not None:
        raise EffectRefused("survey unknown or already rated")  # decided again: "already noted"
    csat.rate(session=at.session, survey=survey, score=effect.score, comment=effect.comment, now=at.now)
    episodes.keep_resolved(session=at.session, conversation=at.recorded.conversation, since=survey.sent_at)
    if effect.score <= csat.LOW:
        _alert_low_rating(at, survey)
    return []


def _skip_survey_comment(at: _Target, effect: fx.SkipSurveyComment) -> list[m.Reply]:
    survey = csat.get_survey(session=at.session, survey_id=effect.survey_id, contact_id=at.contact_id)
    if survey is not None:
        episodes.keep_resolved(session=at.session, conversation=at.recorded.conversation, since=survey.sent_at)
    return []


def _comment_on_service(at: _Target, effect: fx.CommentOnService) -> list[m.Reply]:
    survey = csat.get_survey(session=at.session, survey_id=effect.survey_id, contact_id=at.contact_id)
    if survey is None or survey.score is None:
        return []
    csat.add_comment(session=at.session, survey=survey, comment=effect.text)
    episodes.keep_resolved(session=at.session, conversation=at.recorded.conversation, since=survey.sent_at)
    if survey.score <= csat.LOW:
        _alert_low_rating(at, survey)  # staff see why (the open alert is updated)
    return []


def _alert_low_rating(at: _Target, survey: csat.CsatSurvey) -> None:
    order = at.session.get(orders.Order, survey.order_id) if survey.order_id else None
    about = f" (order #{order.number})" if order else ""
    comment = f": {survey.comment}" if survey.comment else ""
    line = "low_rating_order" if order else "low_rating"
    params = {"line": line + ("_comment" if survey.comment else ""), "score": survey.score,
              "number": order.number if order else None, "quote": survey.comment}
    at.alert("low_rating", f"Rating {survey.score}/5{about}{comment}", "high" if survey.score == 1 else "medium",
             params=params, order_id=survey.order_id)


def _redeem_reward(at: _Target, effect: fx.RedeemReward) -> list[m.Reply]:
    rules = at.config.loyalty
    if effect.index >= len(rules.rewards) or rules.rewards[effect.index].points != effect.points:
        raise EffectRefused("the reward list changed")  # decided again: the new list is offered
    reward = rules.rewards[effect.index]
    try:
        entry, voucher = loyalty.redeem_reward(session=at.session, contact_id=at.contact_id, reward=reward,
                                               rules=rules, by="customer", now=at.now)
    except loyalty.LoyaltyError as exc:  # spent meanwhile (another chat, the counter): decided again, "too few"
        raise EffectRefused(f"redeem refused: {exc.code}") from exc
    until = voucher.ends_at.astimezone(at.config.tz).strftime("%d/%m/%Y")
    left = loyalty.balance(session=at.session, contact_id=at.contact_id)
    return [m.Reply(text=text("points_redeemed", effect.language, points=str(reward.points), code=entry.voucher_code,
                              reward=loyalty.reward_name(reward, effect.language), until=until, balance=str(left)))]


def _show_member_code(at: _Target, effect: fx.ShowMemberCode) -> list[m.Reply]:
    code = member_codes.ensure_code(session=at.session, contact_id=at.contact_id, now=at.now)
    return [member_code_reply(code, loyalty.balance(session=at.session, contact_id=at.contact_id), effect.language)]


# What applies each effect; the replies it returns follow the handler's.
APPLY: dict[type, Callable[[_Target, Any], list[m.Reply]]] = {
    fx.PlaceOrder: _place_order, fx.CancelOrder: _cancel_order, fx.OpenComplaint: _open_complaint,
    fx.AlertStaff: _alert_staff, fx.HandOff: _hand_off, fx.SetOptOut: _set_opt_out, fx.RecordClick: _record_click,
    fx.RememberLocation: _remember_location, fx.ForgetLocation: _forget_location,
    fx.LinkStaffAccount: _link_staff_account, fx.RequestLinkCode: _request_link_code,
    fx.LinkAccounts: _link_accounts, fx.StaffReply: _staff_reply,
    fx.RateService: _rate_service, fx.CommentOnService: _comment_on_service, fx.SkipSurveyComment: _skip_survey_comment,
    fx.RedeemReward: _redeem_reward, fx.ShowMemberCode: _show_member_code,
}
