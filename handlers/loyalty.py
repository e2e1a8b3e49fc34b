"""Loyalty points in chat: "poin saya berapa?" / "my points" answers the balance, tier and what it buys (and the
stamp card, when the shop has one: "stempel saya berapa?" / "my stamps" asks for it alone); "tukar poin" lists
the rewards and a tap on one redeems it for a voucher code the order flow takes.

A precise rule, not the intent model: the model reads "poin saya berapa?" as a promotion (0.95),
so this handler comes before the model's handlers, like the other explicit commands.
"""

from __future__ import annotations

import re
from dataclasses import replace

from rapidfuzz import fuzz

from core import messages as m
from crm.loyalty import Standing, reward_name, tier_name
from handlers.base import Context
from handlers.effects import Answer, RedeemReward

POINT_WORDS = frozenset({"poin", "point", "points", "poinku", "pointku", "poinnya", "pointnya", "poin2"})
REDEEM_WORDS = frozenset({"tukar", "tuker", "nukar", "menukar", "tukarkan", "redeem", "pakai", "pake", "use"})
# Words that make a message with "poin" a question about the customer's own points.
ASKING_WORDS = frozenset({"berapa", "brp", "cek", "check", "lihat", "liat", "saldo", "sisa", "my", "saya", "aku",
                          "ku", "gw", "gue", "how", "balance", "total", "punya", "mana", "level", "tier",
                          # credited yet, how to earn, what they buy, when they lapse: the balance answer says each
                          "masuk", "gimana", "bagaimana", "caranya", "dipake", "dipakai", "hangus", "expire", "expired"})
# "level" alone is a spice level as often: the customer's own level only ("level aku", "my level").
OWNED_LEVEL = frozenset({("level", owner) for owner in ("aku", "saya", "ku", "gw", "gue", "ane")} | {("my", "level")})
TIER_WORDS = frozenset({"tier", "membership", "keanggotaan", "levelku"})
STAMP_WORDS = frozenset({"stempel", "stampel", "stamp", "stamps", "stempelku", "stempelnya"})
MAX_WORDS = 8  # a longer message mentioning points is about something else ("promo poin double kapan?" is not)
BUTTON = re.compile(r"^points:redeem:(\d{1,2}):(\d{1,9})$")
REWARD_OPTIONS = "reward_options"  # state: the rewards just offered, [[index, points], ...], for a typed pick
# "1", "no 2", "yang 1 aja": a reward by its number in the list.
PICK_NUMBER = re.compile(r"\s*(?:no\.?|nomor|number|yang|yg|the)?\s*(\d{1,2})\s*(?:aja|ya|please|dong)?\s*[.!]?\s*",
                         re.IGNORECASE)
# Words around a reward's name in a typed pick ("yang kopi susu aja kak", "the free coffee please").
PICK_FILLER = frozenset({"yang", "yg", "mau", "aku", "saya", "aja", "ajah", "dong", "ya", "kak", "kk", "deh", "itu",
                         "tukar", "tuker", "the", "one", "please", "pls", "i", "want", "that", "id", "like", "to"})
PICK_SIMILARITY = 80  # rapidfuzz token_set_ratio: "kopi susu" picks "Gratis kopi susu", "croissant" not


def _words(inbound: m.Inbound) -> list[str]:
    if inbound.kind != m.MESSAGE or inbound.message_type != "text":
        return []
    # A voucher code stays one word: "pakai kode POIN-7JXQX9" is an order's voucher, not a redeem request.
    return re.findall(r"[a-z0-9]+(?:-[a-z0-9]+)*", (inbound.text or "").lower())


def asks_to_redeem(words: list[str]) -> bool:
    """"tukar poin", "redeem points", "pakai poinku"."""
    return bool(POINT_WORDS & set(words)) and bool(REDEEM_WORDS & set(words)) and len(words) <= MAX_WORDS


def asks_for_points(words: list[str]) -> bool:
    """"poin saya berapa?", "cek poin", "my points", or just "poin"; or the tier: "level aku apa?", "my tier"."""
    if len(words) > MAX_WORDS:
        return False
    if POINT_WORDS & set(words):
        return len(words) == 1 or bool(ASKING_WORDS & set(words))
    owned_level = any(pair in OWNED_LEVEL for pair in zip(words, words[1:]))
    return owned_level or bool(TIER_WORDS & set(words) and (len(words) <= 2 or ASKING_WORDS & set(words)))


def asks_for_stamps(words: list[str]) -> bool:
    """"stempel saya berapa?", "cek stempel", "my stamps", or just "stempel"."""
    if not STAMP_WORDS & set(words) or len(words) > MAX_WORDS:
        return False
    return len(words) == 1 or bool(ASKING_WORDS & set(words))


def _button_label(name: str, points: int) -> str:
    """"Gratis kopi (100)" when it fits a button, else the name shortened."""
    label = f"{name} ({points})"
    return label if m.label_width(label) <= m.LABEL_LIMIT else m.shorten_label(name)


def _typed_pick(inbound: m.Inbound, ctx: Context) -> tuple[int, int] | None:
    """The reward (index, points) a typed answer picks from the rewards just offered: its number or its name."""
    options = ctx.state.get(REWARD_OPTIONS) if ctx.data is not None else None
    if not options or inbound.kind != m.MESSAGE or inbound.message_type != "text":
        return None
    offered = {index: points for index, points in options}
    number = PICK_NUMBER.fullmatch(inbound.text or "")
    if number is not None:  # the list's numbers count every reward, from 1
        index = int(number.group(1)) - 1
        return (index, offered[index]) if index in offered else None
    said = " ".join(word for word in _words(inbound) if word not in PICK_FILLER)
    if not said:
        return None
    rewards = ctx.data.loyalty_rules().rewards
    scores = sorted(((max(fuzz.token_set_ratio(said, name.lower()) for name in (reward.name, reward.name_en or "")
                               if name), index)
                     for index, reward in enumerate(rewards) if index in offered), reverse=True)
    if not scores or scores[0][0] < PICK_SIMILARITY or (len(scores) > 1 and scores[1][0] == scores[0][0]):
        return None  # no reward named, or two named alike: not a pick
    return scores[0][1], offered[scores[0][1]]


class PointsHandler:
    """The customer's points: the balance question, the reward list, a reward's button."""

    name = "points"

    def matches(self, inbound: m.Inbound, ctx: Context) -> bool:
        """A direct points question or redeem request, or a reward button, from a known customer."""
        if ctx.data is None or ctx.contact_id is None or not inbound.is_direct:
            return False
        if inbound.kind == m.POSTBACK:
            return BUTTON.match(inbound.postback_data or "") is not None
        words = _words(inbound)
        return asks_to_redeem(words) or asks_for_points(words) or asks_for_stamps(words) or \
            _typed_pick(inbound, ctx) is not None

    def handle(self, inbound: m.Inbound, ctx: Context) -> Answer:
        """The balance, the rewards to pick from, or the chosen reward's redemption (an effect)."""
        standing = ctx.data.points(ctx.now)
        picked = _typed_pick(inbound, ctx)
        ctx.state.pop(REWARD_OPTIONS, None)  # answered once: the offer below sets it again
        if inbound.kind == m.POSTBACK:
            index, points = map(int, BUTTON.match(inbound.postback_data).groups())
            return self._redeem(ctx, standing, index, points)
        if picked is not None:  # the reward typed instead of tapped
            return self._redeem(ctx, standing, *picked)
        words = _words(inbound)
        if asks_to_redeem(words):
            return Answer([self._offer(ctx, standing)])
        if asks_for_stamps(words) and not asks_for_points(words):
            if ctx.data.loyalty_rules().stamps is None:  # no stamp card here: points are what they collect
                balance = self._balance(ctx, standing)
                return Answer([replace(balance, text=ctx.say("stamps_none") + "\n" + balance.text)])
            return Answer([m.Reply(text=self._stamps(ctx))])
        return Answer([self._balance(ctx, standing)])

    def _stamps(self, ctx: Context) -> str:
        card = ctx.data.loyalty_rules().stamps
        item = self._product(ctx, card.sku) if card.sku else card.category
        return ctx.say("stamps_balance", stamps=str(ctx.data.stamps()), card=str(card.stamps), item=item,
                       free=self._product(ctx, card.reward_sku))

    def _product(self, ctx: Context, sku: str) -> str:
        """A product's name by its SKU in the customer's language (the SKU when it is off sale)."""
        product = next((p for p in ctx.data.products() if p.sku.upper() == sku.upper()), None)
        if product is None:
            return sku
        return product.name_en if ctx.language == "en" and product.name_en else product.name

    def _balance(self, ctx: Context, standing: Standing) -> m.Reply:
        rules = ctx.data.loyalty_rules()
        lines = [ctx.say("points_balance", balance=str(standing.balance), tier=tier_name(standing.tier, ctx.language))]
        if standing.next_tier is not None:
            lines.append(ctx.say("points_next_tier", points=str(standing.to_next_tier),
                                 tier=tier_name(standing.next_tier, ctx.language)))
        lines.append(ctx.say("points_earn_how", rate=f"{rules.points_per_1000_rupiah:g}"))
        if rules.expiry_months is not None:
            lines.append(ctx.say("points_expiry", months=str(rules.expiry_months)))
        if rules.stamps is not None:
            lines.append(self._stamps(ctx))
        if standing.rewards:
            lines.append(ctx.say("points_rewards", rewards=self._list(ctx, standing)))
        code = ctx.data.member_code()  # for a purchase or a reward at the counter
        lines.append(ctx.say("points_member_code", code=code) if code else ctx.say("points_member_code_ask"))
        if any(reward.points <= standing.balance for reward in standing.rewards):  # a button only for what they can have
            return m.Reply(text="\n".join(lines), choices=(m.Choice(label=ctx.say("button.redeem_points"),
                                                                    text=ctx.say("button.redeem_points")),))
        return m.Reply(text="\n".join(lines))

    def _list(self, ctx: Context, standing: Standing) -> str:
        return "\n".join(ctx.say("points_reward_line", number=str(number), name=reward_name(reward, ctx.language),
                                 points=str(reward.points))
                         for number, reward in enumerate(standing.rewards, 1))

    def _offer(self, ctx: Context, standing: Standing) -> m.Reply:
        if not standing.rewards:
            return m.Reply(text=ctx.say("points_no_rewards"))
        cheapest = min(standing.rewards, key=lambda reward: reward.points)
        if cheapest.points > standing.balance:  # nothing to pick yet: say how far they are, no buttons to refuse
            return m.Reply(text=ctx.say("points_too_few", balance=str(standing.balance), points=str(cheapest.points),
                                        reward=reward_name(cheapest, ctx.language)))
        affordable = [(index, reward) for index, reward in enumerate(standing.rewards) if reward.points <= standing.balance]
        choices = tuple(m.Choice(label=_button_label(reward_name(reward, ctx.language), reward.points),
                                 data=f"points:redeem:{index}:{reward.points}")
                        for index, reward in affordable[:13])  # LINE shows 13 quick replies at most
        ctx.state[REWARD_OPTIONS] = [[index, reward.points] for index, reward in affordable]
        return m.Reply(text=ctx.say("points_pick_reward", balance=str(standing.balance),
                                    rewards=self._list(ctx, standing)), choices=choices)

    def _redeem(self, ctx: Context, standing: Standing, index: int, points: int) -> Answer:
        rewards = standing.rewards
        if index >= len(rewards) or rewards[index].points != points:  # the list changed since it was offered
            return Answer([self._offer(ctx, standing)])
        reward = rewards[index]
        if standing.balance < reward.points:
            return Answer([m.Reply(text=ctx.say("points_too_few", balance=str(standing.balance), points=str(points),
                                                reward=reward_name(reward, ctx.language)))])
        return Answer([], (RedeemReward(index=index, points=points, language=ctx.language),))
