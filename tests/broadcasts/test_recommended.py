"""{recommended} in a campaign: each recipient's product from their past orders (crm.cross_sell), or a fallback."""

from __future__ import annotations

import pytest

from broadcasts.campaign_message import CampaignError, validate_message
from core.db import session_scope, utcnow
from crm.cross_sell import CrossSellRule
from crm.orders import Product
from tests.broadcasts.helpers import line_id, make_campaign, run_to_end, seed
from tests.crm.test_cross_sell import seed_orders


def _shop(runtime) -> list[int]:
    """Three LINE contacts: the first bought kopi (often bought with a croissant), the others nothing."""
    contacts = seed(runtime.engine, line=3)
    with session_scope(runtime.engine) as session:
        kopi, croissant = Product(sku="KOPI", name="Kopi Susu", price=20_000), \
            Product(sku="CRO", name="Croissant Butter", price=28_000)
        session.add_all([kopi, croissant])
        session.flush()
        seed_orders(session, [(kopi.id,)], contact_id=contacts[0])
        session.add(CrossSellRule(product_id=kopi.id, suggested_id=croissant.id, orders=8, support=0.2,
                                  confidence=0.6, lift=1.8, computed_at=utcnow()))
    return contacts


def _texts(fake_line) -> dict[str, str]:
    return {call.json["to"]: call.json["messages"][0]["text"] for call in fake_line.calls("/v2/bot/message/push")}


@pytest.mark.parametrize("text, fallback", [("Cobain {recommended} yuk!", "menu favorit kami"),
                                            ("Cobain {recommended:menu baru kami} yuk!", "menu baru kami")])
def test_each_recipient_reads_their_recommended_product_or_the_fallback(runtime, fake_line, text, fallback):
    _shop(runtime)
    run_to_end(runtime, make_campaign(runtime, message={"text": text}))
    assert _texts(fake_line) == {line_id(0): "Cobain Croissant Butter yuk!",  # pushed one by one: it is personal
                                 line_id(1): f"Cobain {fallback} yuk!", line_id(2): f"Cobain {fallback} yuk!"}


def test_a_sold_out_recommendation_falls_back(runtime, fake_line):
    _shop(runtime)
    with session_scope(runtime.engine) as session:
        session.get(Product, 2).stock = 0
    run_to_end(runtime, make_campaign(runtime, message={"text": "Cobain {recommended:menu baru} yuk!"}))
    assert set(_texts(fake_line).values()) == {"Cobain menu baru yuk!"}


def test_only_recommended_takes_words_after_a_colon():
    assert validate_message({"text": "Cobain {recommended:menu baru kami}!"})["text"]
    with pytest.raises(CampaignError, match="only {recommended:…}"):
        validate_message({"text": "Halo {name:Kak}!"})
