"""A campaign's message: checked when stored, rendered per recipient and channel when sent.

Content is platform-neutral: ``{"text", "image_url", "buttons", "quick_replies"}`` with
personal variables (``{name}``, ``{first_name}``, ``{shop}``, ``{voucher}``,
``{promo_title}``, ``{promo_ends}``, ``{recommended}``: the product most often bought with
what the contact bought (crm.cross_sell), ``{recommended:other words}`` saying the other words
to a contact without one, else `cross_sell.campaign_fallback`), rendered per channel into `core.messages.Reply`
(a LINE flex card with buttons or quick replies; one Telegram message with an inline
keyboard). Buttons open a tracked link (``url``), make the bot answer (``reply``, a
postback), or send a text as if typed (``text``).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import string
from dataclasses import dataclass
from datetime import timezone
from typing import Any
from zoneinfo import ZoneInfo

from core import messages as m
from broadcasts.models import Campaign

VARIABLES = ("name", "first_name", "shop", "voucher", "promo_title", "promo_ends", "recommended")
PERSONAL = ("name", "first_name", "recommended")
RECOMMENDED = "recommended"  # the one variable with a fallback after a colon: {recommended:menu baru kami}
MAX_BUTTONS = 3  # a LINE flex bubble footer shows three
MAX_QUICK_REPLIES = 13
POSTBACK_PREFIX = "bc:"


class CampaignError(ValueError):
    """A campaign request that breaks a rule; `field` names the culprit, `status` the HTTP code."""

    def __init__(self, message: str, field: str | None = None, status: int = 422) -> None:
        super().__init__(message)
        self.field, self.status = field, status


def _variables(text: str) -> set[str]:
    try:
        fields = [(name, spec) for _, name, spec, _ in string.Formatter().parse(text) if name is not None]
    except ValueError as exc:
        raise CampaignError(f"text has a broken {{variable}}: {exc}", "message.text") from None
    odd = sorted({name for name, spec in fields if spec and name != RECOMMENDED})
    if odd:
        raise CampaignError(f"only {{{RECOMMENDED}:…}} takes words after a colon (what it says without a "
                            f"recommendation), not {', '.join('{' + name + '}' for name in odd)}", "message.text")
    return {name for name, _spec in fields}


def uses_recommended(message: dict[str, Any]) -> bool:
    """True when the text names each recipient's recommended product (looked up per recipient when sent)."""
    return RECOMMENDED in _variables(message.get("text", ""))


def validate_message(message: Any, path: str = "message") -> dict[str, Any]:
    """The message checked and normalised (CampaignError naming the field otherwise)."""
    if not isinstance(message, dict):
        raise CampaignError("message must be an object with at least text", path)
    unknown = sorted(set(message) - {"text", "image_url", "buttons", "quick_replies"})
    if unknown:
        raise CampaignError(f"unknown message field(s) {', '.join(unknown)}; use text, image_url, buttons, "
                            "quick_replies", path)
    text = message.get("text")
    if not isinstance(text, str) or not text.strip():
        raise CampaignError("message.text is required", f"{path}.text")
    if len(text) > 4000:
        raise CampaignError("message.text is at most 4000 characters", f"{path}.text")
    bad = sorted(_variables(text) - set(VARIABLES))
    if bad:
        raise CampaignError(f"unknown variable(s) {', '.join('{' + b + '}' for b in bad)}; use "
                            + ", ".join("{" + v + "}" for v in VARIABLES), f"{path}.text")
    image = message.get("image_url")
    if image is not None and (not isinstance(image, str) or not image.startswith("https://") or len(image) > 1000):
        raise CampaignError("image_url must be an https:// URL (LINE and Telegram fetch it)", f"{path}.image_url")
    clean: dict[str, Any] = {"text": text, "image_url": image, "buttons": [], "quick_replies": []}
    for key, limit in (("buttons", MAX_BUTTONS), ("quick_replies", MAX_QUICK_REPLIES)):
        items = message.get(key) or []
        if not isinstance(items, list) or len(items) > limit:
            raise CampaignError(f"{key} is a list of at most {limit}", f"{path}.{key}")
        for index, item in enumerate(items):
            clean[key].append(_button(item, f"{path}.{key}[{index}]"))
    return clean


def _button(item: Any, path: str) -> dict[str, str]:
    if not isinstance(item, dict) or not isinstance(item.get("label"), str) or not item["label"].strip():
        raise CampaignError('a button is {"label", and one of "url", "reply", "text"}', path)
    kinds = [key for key in ("url", "reply", "text") if item.get(key)]
    if len(kinds) != 1 or set(item) - {"label", "url", "reply", "text"}:
        raise CampaignError('a button has a label and exactly one of "url", "reply", "text"', path)
    value = item[kinds[0]]
    if not isinstance(value, str) or (kinds[0] == "url" and not re.match(r"^https?://", value)):
        raise CampaignError(f"{kinds[0]} must be {'an http(s) URL' if kinds[0] == 'url' else 'a string'}", path)
    label = " ".join(item["label"].split())
    if m.label_width(label) > m.LABEL_LIMIT:  # a cut label would read "Pesan sekar…" on LINE
        raise CampaignError(f"a button label is at most {m.LABEL_LIMIT} characters (an emoji counts as 2): "
                            f"{label!r} is {m.label_width(label)}", f"{path}.label")
    return {"label": label, kinds[0]: value[:1000]}


def is_personal(message: dict[str, Any]) -> bool:
    """True when the text differs per recipient (then LINE pushes one by one instead of multicasting)."""
    return bool(_variables(message.get("text", "")) & set(PERSONAL))


@dataclass(frozen=True)
class RenderContext:
    """What rendering needs besides the message: who, where, and the links to track."""

    campaign_id: int
    variant: str
    channel: str
    shop: str
    public_url: str
    secret: str
    name: str = ""
    promotion: Any = None
    links: dict[str, str] | None = None  # url -> token
    delivery_id: int | None = None
    recommended: str = ""  # the recipient's recommended product (crm.cross_sell.recommended); "" when none
    recommended_fallback: str = ""  # what {recommended} says without one (cross_sell.campaign_fallback)


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return ""


@dataclass(frozen=True)
class _Recommended:
    """{recommended}: the product, else the words after its colon, else the shop's fallback."""

    product: str
    fallback: str

    def __format__(self, spec: str) -> str:
        return self.product or spec or self.fallback


def fill(text: str, ctx: RenderContext, tz: ZoneInfo | None = None) -> str:
    """The text with its variables filled in."""
    promotion = ctx.promotion
    ends = ""
    if promotion is not None:
        ends_at = promotion.ends_at if promotion.ends_at.tzinfo else promotion.ends_at.replace(tzinfo=timezone.utc)
        ends = ends_at.astimezone(tz or timezone.utc).strftime("%d-%m-%Y")
    name = (ctx.name or "").strip() or "Kak"
    values = _Blank(name=name, first_name=name.split()[0], shop=ctx.shop,
                    voucher=(promotion.voucher_code or "") if promotion is not None else "",
                    promo_title=promotion.title if promotion is not None else "", promo_ends=ends,
                    recommended=_Recommended(ctx.recommended, ctx.recommended_fallback))
    filled = text.format_map(values)
    if promotion is not None and promotion.voucher_code and "{voucher}" not in text:
        filled += f"\n\nKode voucher: {promotion.voucher_code}"
    return filled


def link_signature(secret: str, token: str, delivery_id: int) -> str:
    """A short HMAC so a tracked link's recipient id cannot be forged."""
    return hmac.new(secret.encode(), f"{token}:{delivery_id}".encode(), hashlib.sha256).hexdigest()[:10]


def _choice(button: dict[str, str], ctx: RenderContext, index: int) -> m.Choice:
    if "url" in button:
        token = (ctx.links or {}).get(button["url"])
        url = button["url"]
        if token:
            url = f"{ctx.public_url.rstrip('/')}/r/{token}"
            if ctx.delivery_id is not None:
                url += f"?d={ctx.delivery_id}.{link_signature(ctx.secret, token, ctx.delivery_id)}"
        return m.Choice(button["label"], url=url)
    if "reply" in button:
        return m.Choice(button["label"], data=f"{POSTBACK_PREFIX}{ctx.campaign_id}:{ctx.variant}:{index}")
    return m.Choice(button["label"], text=button["text"])


def render(message: dict[str, Any], ctx: RenderContext, tz: ZoneInfo | None = None) -> list[m.Reply]:
    """The neutral replies for one recipient on one channel (one message on Telegram)."""
    text = fill(message["text"], ctx, tz)
    buttons = [_choice(b, ctx, i) for i, b in enumerate(message.get("buttons") or [])]
    quick = [_choice(b, ctx, 100 + i) for i, b in enumerate(message.get("quick_replies") or [])]
    image = message.get("image_url")
    if ctx.channel == "line":
        if buttons:
            card = m.Card(title=text[:2000], image_url=image, buttons=tuple(buttons))
            return [m.Reply(text=text[:400], cards=(card,), choices=tuple(quick))]
        if image:
            return [m.Reply(image_url=image), m.Reply(text=text, choices=tuple(quick))]
        return [m.Reply(text=text, choices=tuple(quick))]
    # Telegram (and the simulator): one message, so one chat never needs two sends per second.
    return [m.Reply(text=text, image_url=image, choices=tuple(buttons + quick))]


def button_reply(message: dict[str, Any], index: int) -> str | None:
    """The answer of a campaign's `reply` button (postback index), if any."""
    items = (message.get("buttons") or []) if index < 100 else (message.get("quick_replies") or [])
    position = index if index < 100 else index - 100
    if 0 <= position < len(items):
        return items[position].get("reply")
    return None


def variant_message(campaign: Campaign, variant: str) -> dict[str, Any]:
    """The message of one variant (the campaign's own when there are no variants)."""
    for item in campaign.variants or []:
        if item["name"] == variant:
            return item["message"]
    return campaign.message
