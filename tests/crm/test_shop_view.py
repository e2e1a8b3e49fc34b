"""What ShopView adds for the conversation: the shop's settings (read once) and the nearest store at any distance."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session

from core.db import get_engine, session_scope
from crm import stores
from crm.shop import ShopView
from crm.shop_settings import save_settings

JKT = ZoneInfo("Asia/Jakarta")
KEMANG, BANDUNG = (-6.2608, 106.8137), (-6.8853, 107.6134)


def test_settings_are_read_once_per_view(database_url):
    engine = get_engine(database_url)
    with Session(engine) as session:
        view = ShopView(session=session, contact=None, tz=JKT)
        assert view.settings().delivery.flat_fee == 0
        with session_scope(engine) as other:
            save_settings(other, {"delivery": {"flat_fee": 9_000}})
        assert view.settings().delivery.flat_fee == 0  # one message sees one version of the rules
    with Session(engine) as session:
        assert ShopView(session=session, contact=None, tz=JKT).settings().delivery.flat_fee == 9_000


def test_nearest_store_km_however_far_and_only_active_stores(database_url):
    engine = get_engine(database_url)
    with Session(engine) as session:
        assert ShopView(session=session, contact=None, tz=JKT).nearest_store_km(*KEMANG) is None
    with session_scope(engine) as session:
        stores.create_store(session=session, name="Dago", lat=BANDUNG[0], lon=BANDUNG[1])
        stores.create_store(session=session, name="Kemang", lat=KEMANG[0], lon=KEMANG[1], active=False)
    with Session(engine) as session:
        view = ShopView(session=session, contact=None, tz=JKT)
        store, km = view.nearest_store_km(-6.2615, 106.8106)  # beside Kemang, which is closed for good
        assert store.name == "Dago" and 110 < km < 130  # beyond the 25 km of the store finder
        with pytest.raises(ValueError):
            view.nearest_store_km(91.0, 0.0)
