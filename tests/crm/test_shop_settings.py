"""Shop settings: defaults, saving whole keys, a bad patch changing nothing, the cache, fees and staff hours."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError
from sqlmodel import Session, select

from core.db import get_engine, session_scope
from core.settings import Settings
from crm import shop_settings
from crm.delivery import delivery_fee
from crm.shop_settings import (
    ShopSetting, ShopSettings, effective_config, load_settings, next_staff_time, save_settings,
    staff_on_duty,
)

JKT = ZoneInfo("Asia/Jakarta")
PER_KM = {"mode": "per_km", "base_fee": 8_000, "base_km": 3, "per_km": 2_500, "free_above": 150_000,
          "min_order": 30_000, "max_km": 25}


@pytest.fixture
def engine(database_url):
    return get_engine(database_url)


def test_a_new_shop_reads_the_defaults(engine):
    with Session(engine) as session:
        settings = load_settings(session)
    assert [m.code for m in settings.payment_methods] == ["qris", "transfer", "cod"]
    assert settings.delivery.mode == "flat" and settings.delivery.flat_fee == 0 and settings.delivery.min_order == 0
    assert settings.staff_hours["sun"] == [["08:00", "21:00"]] and len(settings.staff_hours) == 7


def test_a_patch_replaces_only_the_keys_it_names(engine):
    with session_scope(engine) as session:
        save_settings(session, {"delivery": PER_KM})
    with session_scope(engine) as session:
        saved = save_settings(session, {"payment_methods": [{"code": "qris", "label": "QRIS",
                                                             "fulfilment": ["pickup"]}]})
    assert saved.delivery.base_fee == 8_000  # untouched by the second patch
    with Session(engine) as session:
        settings = load_settings(session)
        assert settings == saved
        assert settings.payment_method("qris").fulfilment == ["pickup"] and settings.payment_method("cod") is None
        assert sorted(session.exec(select(ShopSetting.key)).all()) == ["delivery", "payment_methods"]


@pytest.mark.parametrize("patch", [
    {"payment_methods": [{"code": "qris", "label": "A"}, {"code": "qris", "label": "B"}]},  # a code twice
    {"payment_methods": [{"code": "QRIS!", "label": "A"}]},
    {"payment_methods": [{"code": "qris", "label": "A", "fulfilment": []}]},
    {"payment_methods": [{"code": "qris", "label": "A", "fulfilment": ["pickup", "pickup"]}]},
    {"delivery": {"mode": "per_km", "per_km": -1}},
    {"delivery": {"mode": "by_weight"}},
    {"staff_hours": {"mon": [["10:00", "10:00"]]}},  # an empty window: the stores' own rule
    {"staff_hours": {"monday": []}},
    {"staff_hours": {"mon": [["08:00"]]}},
    {"delivery": PER_KM, "colour": "red"},  # an unknown key next to a good one
])
def test_a_bad_patch_changes_nothing(engine, patch):
    with session_scope(engine) as session:
        save_settings(session, {"delivery": {"flat_fee": 5_000}})
    with pytest.raises(ValueError):
        with session_scope(engine) as session:
            save_settings(session, patch)
    with Session(engine) as session:
        settings = load_settings(session)
        assert settings.delivery.flat_fee == 5_000 and settings.delivery.mode == "flat"
        assert [m.code for m in settings.payment_methods] == ["qris", "transfer", "cod"]
        assert settings.staff_hours["mon"] == [["08:00", "21:00"]]


def test_every_read_sees_the_latest_save_even_from_another_process(engine):
    with session_scope(engine) as session:
        save_settings(session, {"delivery": {"flat_fee": 7_000}})
    with Session(engine) as session:
        assert load_settings(session).delivery.flat_fee == 7_000
    # Another process's save: the row changes behind this process's back.
    with session_scope(engine) as session:
        row = session.get(ShopSetting, "delivery")
        row.value, row.updated_at = {"flat_fee": 9_000}, shop_settings.utcnow()
    with Session(engine) as session:
        assert load_settings(session).delivery.flat_fee == 9_000


def test_a_value_stored_invalid_by_hand_reads_as_its_default(engine, caplog):
    with session_scope(engine) as session:
        save_settings(session, {"delivery": {"flat_fee": 7_000}})
        session.add(ShopSetting(key="staff_hours", value={"mon": "always"}))
    with Session(engine) as session:
        settings = load_settings(session)
    assert settings.staff_hours["mon"] == [["08:00", "21:00"]] and settings.delivery.flat_fee == 7_000
    assert "staff_hours" in caplog.text


def test_a_rolled_back_save_is_never_served(engine):
    with Session(engine) as session:
        save_settings(session, {"delivery": {"flat_fee": 1_000}})
        assert load_settings(session).delivery.flat_fee == 1_000  # inside the transaction
        session.rollback()
    with Session(engine) as session:
        assert load_settings(session).delivery.flat_fee == 0


def test_settings_loaded_are_read_only():
    with pytest.raises(ValidationError):
        ShopSettings().delivery.flat_fee = 1  # type: ignore[misc]


def test_flat_delivery_fee_and_free_delivery_threshold():
    flat = ShopSettings(delivery={"flat_fee": 10_000, "free_above": 100_000})
    assert delivery_fee(flat.delivery, 50_000, None) == 10_000
    assert delivery_fee(flat.delivery, 50_000, 40.0) == 10_000  # distance does not matter
    assert delivery_fee(flat.delivery, 100_000, 2.0) == 0  # at the threshold: free


@pytest.mark.parametrize(("km", "fee"), [
    (None, 8_000), (0.0, 8_000), (2.5, 8_000), (3.0, 8_000), (3.0000000001, 8_000),  # float noise is no extra km
    (3.01, 10_500), (4.0, 10_500), (4.2, 13_000), (10.0, 25_500),
])
def test_per_km_fee_counts_every_started_km_beyond_the_base(km, fee):
    settings = ShopSettings(delivery=PER_KM)
    assert delivery_fee(settings.delivery, 50_000, km) == fee


def test_per_km_fee_is_free_above_threshold_and_refuses_a_negative_distance():
    settings = ShopSettings(delivery=PER_KM)
    assert delivery_fee(settings.delivery, 150_000, 12.0) == 0
    assert delivery_fee(settings.delivery, 149_999, 12.0) == 8_000 + 9 * 2_500
    with pytest.raises(ValueError):
        delivery_fee(settings.delivery, 50_000, -1.0)


def test_staff_on_duty_and_the_next_staff_time():
    settings = ShopSettings(staff_hours={day: [["08:00", "21:00"]] for day in ("mon", "tue", "wed", "thu", "fri")})
    monday_early = datetime(2024, 6, 3, 7, 59, tzinfo=JKT)
    assert not staff_on_duty(settings, monday_early, JKT)
    assert next_staff_time(settings, monday_early, JKT) == datetime(2024, 6, 3, 8, 0, tzinfo=JKT)
    assert staff_on_duty(settings, datetime(2024, 6, 3, 8, 0, tzinfo=JKT), JKT)
    friday_night = datetime(2024, 6, 7, 21, 0, tzinfo=JKT)
    assert not staff_on_duty(settings, friday_night, JKT)
    assert next_staff_time(settings, friday_night, JKT) == datetime(2024, 6, 10, 8, 0, tzinfo=JKT)  # after the weekend
    # 01:30 UTC is 08:30 in Jakarta: the hours are the shop's local time.
    utc = datetime(2024, 6, 3, 1, 30, tzinfo=ZoneInfo("UTC"))
    assert staff_on_duty(settings, utc, JKT) and not staff_on_duty(settings, utc, ZoneInfo("UTC"))
    assert next_staff_time(ShopSettings(staff_hours={}), monday_early, JKT) is None


def test_the_demo_seeds_sapa_coffees_settings_once_and_keeps_a_shops_own(sqlite_url):
    from crm import demo

    engine = get_engine(sqlite_url)
    with session_scope(engine) as session:
        save_settings(session, {"staff_hours": {"mon": [["09:00", "17:00"]]}})  # the shop's own, set before
    for _ in range(2):
        with session_scope(engine) as session:
            demo.load(session)
    with Session(engine) as session:
        settings = load_settings(session)
    assert [(m.code, m.label) for m in settings.payment_methods] == [
        ("qris", "QRIS"), ("transfer", "Transfer bank"), ("cod", "COD / tunai")]  # fit a button
    assert settings.payment_method("cod").label_en == "Cash / COD"
    assert "BCA" in settings.payment_method("transfer").how_to_pay("id")
    assert settings.delivery.model_dump() == {"mode": "per_km", "flat_fee": 0, "base_fee": 8_000, "base_km": 3.0,
                                              "per_km": 2_500, "free_above": 150_000, "min_order": 30_000,
                                              "max_km": 25.0}
    assert settings.staff_hours["mon"] == [["09:00", "17:00"]] and settings.staff_hours["tue"] == []


def test_saved_shop_wide_values_lay_over_config_yaml_and_unsaved_ones_keep_it():
    config = Settings(bot={"shop_name": "Sapa Coffee", "handoff_timeout_minutes": 240},
                      broadcasts={"max_per_week": 3, "quiet_hours": ""})
    untouched = effective_config(config, ShopSettings())
    assert (untouched.bot.shop_name, untouched.timezone, untouched.broadcasts.max_per_week) == \
        ("Sapa Coffee", config.timezone, 3)
    saved = ShopSettings(shop_name="Warung Bu Sri", timezone="Asia/Jayapura", handoff_timeout_minutes=15,
                         quiet_hours="21:00-08:00", max_per_week=0)
    changed = effective_config(config, saved)
    assert (changed.bot.shop_name, changed.tz, changed.bot.handoff_timeout_minutes) == \
        ("Warung Bu Sri", ZoneInfo("Asia/Jayapura"), 15)
    assert (changed.broadcasts.quiet_hours, changed.broadcasts.max_per_week) == ("21:00-08:00", 0)
    assert config.bot.shop_name == "Sapa Coffee"  # the process-wide config is not changed


@pytest.mark.parametrize(("languages", "default", "wanted", "answer"), [
    (None, None, "en-US", "en"), (None, None, None, "id"), (None, "en", None, "en"),
    (["id"], None, "en", "id"), (["en"], None, "id", "en"), (["en"], "en", None, "en"),
])
def test_the_reply_language_is_one_the_shop_offers(languages, default, wanted, answer):
    shop = ShopSettings(languages=languages, default_language=default)
    assert shop_settings.reply_language(shop, Settings(), wanted) == answer
