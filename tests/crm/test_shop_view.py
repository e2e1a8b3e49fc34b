"""What ShopView adds for the conversation: the shop's settings (read once) and the stores by distance, however far."""

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


def test_stores_by_distance_however_far_and_only_active_stores(database_url):
    engine = get_engine(database_url)
    with Session(engine) as session:
        assert ShopView(session=session, contact=None, tz=JKT).stores_by_distance(*KEMANG) == []
    with session_scope(engine) as session:
        stores.create_store(session=session, name="Dago", lat=BANDUNG[0], lon=BANDUNG[1])
        stores.create_store(session=session, name="Kemang", lat=KEMANG[0], lon=KEMANG[1], active=False)
        stores.create_store(session=session, name="Menteng", lat=-6.1960, lon=106.8335)
    with Session(engine) as session:
        view = ShopView(session=session, contact=None, tz=JKT)
        [(near, near_km), (far, far_km)] = view.stores_by_distance(-6.2615, 106.8106)  # beside Kemang, closed for good
        assert (near.name, far.name) == ("Menteng", "Dago") and near_km < 10 and 110 < far_km < 130
        with pytest.raises(ValueError):
            view.stores_by_distance(91.0, 0.0)
