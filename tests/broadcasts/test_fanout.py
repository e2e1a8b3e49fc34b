"""Fan-out against the fake LINE and Telegram APIs (real SDK clients): chunks, retry keys,
errors, guard rails. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from broadcasts import consent, delivery, runs
from broadcasts.results import stats
from broadcasts.models import Campaign, CampaignRun, CampaignRecipient
from core.db import session_scope, utcnow
from crm.alerts import StaffAlert
from crm.models import ChannelIdentity, Contact
from crm.shop_settings import save_settings
from tests.broadcasts.helpers import line_id, make_campaign, run_to_end, seed, statuses, tg_id

MULTICAST = "/v2/bot/message/multicast"


def test_1201_line_contacts_go_out_in_three_multicasts_of_at_most_500(runtime, fake_line):
    seed(runtime.engine, line=1201)
    campaign_id = make_campaign(runtime)
    run_to_end(runtime, campaign_id)
    calls = fake_line.calls(MULTICAST)
    assert sorted(len(call.json["to"]) for call in calls) == [201, 500, 500]
    assert len({call.headers["x-line-retry-key"] for call in calls}) == 3
    assert set(fake_line.deliveries_per_user().values()) == {1}
    assert len(fake_line.deliveries_per_user()) == 1201
    with session_scope(runtime.engine) as session:
        result = stats(session=session, campaign_id=campaign_id, attribution_days=7)
        campaign = session.get(Campaign, campaign_id)
    assert (result["targeted"], result["sent"], result["failed"]) == (1201, 1201, 0)
    assert campaign.status == "done"


def test_retry_key_is_stable_across_5xx_and_429_retries(runtime, fake_line):
    seed(runtime.engine, line=600)
    campaign_id = make_campaign(runtime)
    fake_line.fail_next(MULTICAST, 500, times=1)
    fake_line.fail_next(MULTICAST, 429, times=1)
    run_to_end(runtime, campaign_id)
    calls = fake_line.calls(MULTICAST)
    by_key: dict[str, list[int]] = {}
    for call in calls:
        by_key.setdefault(call.headers["x-line-retry-key"], []).append(call.status)
    assert len(by_key) == 2  # two chunks, each always with its own key
    assert sorted(len(v) for v in by_key.values()) == [1, 3] or sorted(len(v) for v in by_key.values()) == [2, 2]
    assert len(fake_line.deliveries_per_user()) == 600
    assert set(fake_line.deliveries_per_user().values()) == {1}
    assert statuses(runtime.engine, campaign_id) == {"sent": 600}


def test_409_retry_key_conflict_counts_as_sent(runtime, fake_line):
    seed(runtime.engine, line=3)
    campaign_id = make_campaign(runtime)
    fake_line.fail_next(MULTICAST, 409, times=1)
    run_to_end(runtime, campaign_id)
    assert statuses(runtime.engine, campaign_id) == {"sent": 3}


def test_a_chunk_caught_mid_send_is_resent_with_the_same_key_and_not_delivered_twice(runtime, fake_line):
    seed(runtime.engine, line=10)
    campaign_id = make_campaign(runtime)
    run_id = runs.open_run(runtime, campaign_id, "now")
    runs.resolve(runtime, run_id)
    plan = runs.dispatch(runtime, run_id)
    delivery.send_chunk(runtime, run_id, plan.chunks[0])
    # as if the worker died after LINE accepted but before the outcome was written
    with session_scope(runtime.engine) as session:
        session.execute(CampaignRecipient.__table__.update().values(status="sending", sent_at=None))
        session.execute(CampaignRun.__table__.update().values(status="sending", finished_at=None))
        session.execute(Campaign.__table__.update().values(status="sending"))
    delivery.send_chunk(runtime, run_id, plan.chunks[0])
    keys = [call.headers["x-line-retry-key"] for call in fake_line.calls(MULTICAST)]
    assert len(keys) == 2 and keys[0] == keys[1]
    assert [call.status for call in fake_line.calls(MULTICAST)] == [200, 409]
    assert set(fake_line.deliveries_per_user().values()) == {1}
    assert statuses(runtime.engine, campaign_id) == {"sent": 10}


def test_telegram_one_message_per_chat_403_marks_blocked_and_429_is_retried(runtime, fake_telegram):
    ids = seed(runtime.engine, telegram=6)
    fake_telegram.blocked_chats.add(int(tg_id(2)))
    fake_telegram.fail_next("sendMessage", 429, retry_after=1, times=1)
    campaign_id = make_campaign(runtime)
    run_to_end(runtime, campaign_id)
    sent_chats = [chat for chat, _, _ in fake_telegram.sent]
    assert sorted(sent_chats) == sorted(int(tg_id(i)) for i in range(6) if i != 2)
    assert statuses(runtime.engine, campaign_id) == {"sent": 5, "blocked": 1}
    with session_scope(runtime.engine) as session:
        identity = session.execute(select(ChannelIdentity).where(ChannelIdentity.external_id == tg_id(2))).scalar_one()
        assert identity.blocked
        assert session.get(Contact, ids[2]).status == "blocked"
        result = stats(session=session, campaign_id=campaign_id, attribution_days=7)
    assert result["blocked"] == 1 and result["failed_by_reason"] == {"blocked:blocked": 1}
    # the blocked contact is skipped by the next campaign, without any call
    before = len(fake_telegram.calls("sendMessage"))
    second = make_campaign(runtime, name="again")
    run_to_end(runtime, second)
    assert statuses(runtime.engine, second) == {"sent": 5, "blocked": 1}
    assert len(fake_telegram.calls("sendMessage")) - before == 5


def test_telegram_message_caught_mid_send_is_marked_unknown_not_resent(runtime, fake_telegram):
    seed(runtime.engine, telegram=3)
    campaign_id = make_campaign(runtime)
    run_id = runs.open_run(runtime, campaign_id, "now")
    runs.resolve(runtime, run_id)
    with session_scope(runtime.engine) as session:
        first = session.execute(select(CampaignRecipient).order_by(CampaignRecipient.id)).scalars().first()
        first.status, first.sending_at = "sending", utcnow() - timedelta(hours=1)
        session.add(first)
    run_to_end(runtime, campaign_id)
    assert len(fake_telegram.sent) == 2
    assert statuses(runtime.engine, campaign_id) == {"sent": 2, "unknown": 1}


def test_opted_out_and_blocked_contacts_get_nothing(runtime, fake_line, fake_telegram):
    ids = seed(runtime.engine, line=3, telegram=2)
    with session_scope(runtime.engine) as session:
        consent.set_opt_out(session=session, contact_id=ids[0], channel="line", opted_out=True)
        contact = session.get(Contact, ids[3])
        contact.marketing_consent = False
        identity = session.execute(select(ChannelIdentity).where(ChannelIdentity.contact_id == ids[1])).scalar_one()
        identity.blocked = True
        session.add_all([contact, identity])
    campaign_id = make_campaign(runtime)
    run_to_end(runtime, campaign_id)
    assert set(fake_line.deliveries_per_user()) == {line_id(2)}
    assert [chat for chat, _, _ in fake_telegram.sent] == [int(tg_id(1))]
    with session_scope(runtime.engine) as session:
        result = stats(session=session, campaign_id=campaign_id, attribution_days=7)
    assert result["targeted"] == 5 and result["sent"] == 2 and result["blocked"] == 1 and result["skipped"] == 2
    assert result["failed_by_reason"] == {"skipped:opted_out": 2, "blocked:blocked": 1}


def test_frequency_cap_skips_contacts_that_had_enough_this_week(runtime, fake_line):
    seed(runtime.engine, line=2)
    cap = runtime.settings.broadcasts.max_per_week
    for n in range(cap):
        run_to_end(runtime, make_campaign(runtime, name=f"c{n}"))
    last = make_campaign(runtime, name="one too many")
    run_to_end(runtime, last)
    assert statuses(runtime.engine, last) == {"skipped": 2}
    assert set(fake_line.deliveries_per_user().values()) == {cap}


def test_quiet_hours_hold_the_campaign_until_the_window_ends(runtime, fake_line):
    seed(runtime.engine, line=2)
    runtime.settings.broadcasts.quiet_hours = "21:00-08:00"
    campaign_id = make_campaign(runtime)
    run_id = runs.open_run(runtime, campaign_id, "now")
    runs.resolve(runtime, run_id)
    late = datetime(2026, 12, 1, 22, 30, tzinfo=timezone(timedelta(hours=7)))  # 22:30 in Jakarta
    plan = runs.dispatch(runtime, run_id, now=late)
    assert plan.wait_until == datetime(2026, 12, 2, 1, 0, tzinfo=timezone.utc)  # 08:00 WIB
    assert not plan.chunks and not fake_line.calls(MULTICAST)
    noon = datetime(2026, 12, 2, 12, 0, tzinfo=timezone(timedelta(hours=7)))
    assert runs.dispatch(runtime, run_id, now=noon).chunks


def test_the_cap_and_quiet_hours_staff_save_apply_to_the_next_run_over_config_yaml(runtime, fake_line):
    seed(runtime.engine, line=2)
    # Quiet hours that start two hours from now (Jakarta time): the first campaign goes out whenever the test runs.
    quiet_from = datetime.now(timezone(timedelta(hours=7))).replace(minute=0, second=0, microsecond=0) + timedelta(hours=2)
    with session_scope(runtime.engine) as session:
        save_settings(session, {"max_per_week": 1,
                                "quiet_hours": f"{quiet_from:%H:%M}-{quiet_from + timedelta(hours=2):%H:%M}"})
    run_to_end(runtime, make_campaign(runtime, name="first"))
    second = make_campaign(runtime, name="second")
    run_id = runs.open_run(runtime, second, "now")
    runs.resolve(runtime, run_id)
    late = quiet_from + timedelta(minutes=30)
    assert runs.dispatch(runtime, run_id, now=late).wait_until is not None  # config.yaml has no quiet hours
    assert statuses(runtime.engine, second) == {"skipped": 2}  # config.yaml's cap is 3


def test_line_quota_refuses_before_sending_with_a_clear_message(runtime, fake_line):
    seed(runtime.engine, line=10)
    fake_line.quota, fake_line.quota_used = 1000, 995
    campaign_id = make_campaign(runtime)
    run_to_end(runtime, campaign_id)
    assert not fake_line.calls(MULTICAST)
    with session_scope(runtime.engine) as session:
        campaign = session.get(Campaign, campaign_id)
    assert campaign.status == "paused"
    assert "10 LINE messages needed but only 5 are left" in campaign.notice
    with session_scope(runtime.engine) as session:  # staff see it without opening the campaign
        alert = session.exec(select(StaffAlert).where(StaffAlert.kind == "campaign_paused")).one()
        assert alert[0].status == "new" and "only 5 are left" in alert[0].text


def test_line_quota_trims_when_the_campaign_says_so(runtime, fake_line):
    seed(runtime.engine, line=10)
    fake_line.quota, fake_line.quota_used = 1000, 996
    campaign_id = make_campaign(runtime, quota_policy="trim")
    run_to_end(runtime, campaign_id)
    assert len(fake_line.deliveries_per_user()) == 4
    assert statuses(runtime.engine, campaign_id) == {"sent": 4, "skipped": 6}
    with session_scope(runtime.engine) as session:
        assert "trimmed to 4" in session.get(Campaign, campaign_id).notice


def test_personal_variables_make_line_push_each_recipient_with_their_name(runtime, fake_line):
    seed(runtime.engine, line=3, display_name="Budi Santoso")
    campaign_id = make_campaign(runtime, message={"text": "Halo {first_name}, promo {shop}!"})
    run_to_end(runtime, campaign_id)
    assert not fake_line.calls(MULTICAST)
    pushes = fake_line.calls("/v2/bot/message/push")
    assert len(pushes) == 3 and len({p.headers["x-line-retry-key"] for p in pushes}) == 3
    assert pushes[0].json["messages"][0]["text"] == "Halo Budi, promo Sapa Coffee!"


def test_buttons_render_as_flex_on_line_and_one_keyboard_message_on_telegram(runtime, fake_line, fake_telegram):
    seed(runtime.engine, line=1, telegram=1)
    message = {"text": "Diskon 20%!", "image_url": "https://example.com/promo.jpg",
               "buttons": [{"label": "Lihat", "url": "https://example.com/menu"},
                           {"label": "Klaim", "reply": "Kode: HEMAT20"}]}
    campaign_id = make_campaign(runtime, message=message)
    run_to_end(runtime, campaign_id)
    line_message = fake_line.calls(MULTICAST)[0].json["messages"][0]
    assert line_message["type"] == "flex"
    footer = line_message["contents"]["contents"][0]["footer"]["contents"]
    assert footer[0]["action"]["uri"].startswith(f"{runtime.settings.public_url}/r/")
    assert footer[1]["action"]["data"] == f"bc:{campaign_id}::1"
    (chat, method, params), = fake_telegram.sent
    assert method == "sendPhoto" and params["caption"] == "Diskon 20%!"
    keyboard = params["reply_markup"]["inline_keyboard"][0]
    assert "?d=" in keyboard[0]["url"] and keyboard[1]["callback_data"] == f"bc:{campaign_id}::1"


def test_ab_variants_split_the_test_group_and_the_winner_goes_to_the_rest(runtime, fake_line):
    seed(runtime.engine, line=400)
    variants = [{"name": "A", "message": {"text": "Versi A"}}, {"name": "B", "message": {"text": "Versi B"}}]
    campaign_id = make_campaign(runtime, variants=variants, message=None, ab_test={"test_percent": 20})
    run_id = run_to_end(runtime, campaign_id)
    first = statuses(runtime.engine, campaign_id)
    assert 40 <= first["sent"] <= 120 and first["held"] == 400 - first["sent"]
    texts = [call.json["messages"][0]["text"] for call in fake_line.calls(MULTICAST)]
    assert set(texts) == {"Versi A", "Versi B"}
    released = delivery.release_winner(runtime, campaign_id, "B")
    assert released == first["held"]
    run_to_end(runtime, campaign_id)
    assert statuses(runtime.engine, campaign_id) == {"sent": 400}
    with session_scope(runtime.engine) as session:
        per = stats(session=session, campaign_id=campaign_id, attribution_days=7, by_variant=True)
        assert session.get(CampaignRun, run_id).status == "done"
    assert per["A"]["sent"] + per["B"]["sent"] == 400 and per["B"]["sent"] > per["A"]["sent"]
    assert set(fake_line.deliveries_per_user().values()) == {1}


def test_a_run_fired_twice_is_one_run(runtime, fake_line):
    seed(runtime.engine, line=5)
    campaign_id = make_campaign(runtime)
    assert runs.open_run(runtime, campaign_id, "2026-12-04T03:00:00+00:00") == \
        runs.open_run(runtime, campaign_id, "2026-12-04T03:00:00+00:00")
    run_to_end(runtime, campaign_id, "2026-12-04T03:00:00+00:00")
    run_to_end(runtime, campaign_id, "2026-12-04T03:00:00+00:00")
    assert set(fake_line.deliveries_per_user().values()) == {1}
