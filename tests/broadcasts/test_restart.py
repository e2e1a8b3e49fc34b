"""Exactly once under a crash: a real `sapa worker` (SQLite queue) is killed with SIGKILL in the
middle of a campaign, restarted, and the clock's sweep resumes the run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.queue import configure_queue
from bot.runtime import build_runtime
from core.runtime import Runtime, set_runtime
from broadcasts import tasks
from broadcasts.models import CampaignRecipient
from core.db import session_scope
from tests.broadcasts.helpers import make_campaign, seed, tg_id
from tests.conftest import make_settings
from tests.factories import LINE_SECRET, TELEGRAM_SECRET

ROOT = Path(__file__).resolve().parents[2]
LINE_CONTACTS, TELEGRAM_CONTACTS = 1201, 40


def _worker(env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "bot.cli", "worker"], env=env, cwd=ROOT, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _status(engine) -> Counter:
    with session_scope(engine) as session:
        return Counter(dict(session.execute(select(CampaignRecipient.channel + ":" + CampaignRecipient.status, func.count())
                                            .group_by(CampaignRecipient.channel, CampaignRecipient.status)).all()))


@pytest.mark.slow
def test_kill_minus_nine_mid_campaign_then_restart_sends_each_message_once(
        tmp_path, sqlite_url, fake_line, fake_telegram, nlu_model_path):
    queue_url = f"sqlite:///{tmp_path}/queue.db"
    settings = make_settings(sqlite_url, fake_line, fake_telegram, queue_url=queue_url,
                             broadcasts={"stale_seconds": 2}, nlu={"model_path": nlu_model_path})
    rt = build_runtime(settings)
    previous = set_runtime(rt)
    env = {**os.environ, "SAPA_ENV": "test", "SAPA_DATABASE_URL": sqlite_url, "SAPA_QUEUE_URL": queue_url,
           "SAPA_LINE__CHANNEL_SECRET": LINE_SECRET, "SAPA_LINE__ACCESS_TOKEN": fake_line.access_token,
           "SAPA_LINE__API_BASE": fake_line.url, "SAPA_TELEGRAM__BOT_TOKEN": fake_telegram.token,
           "SAPA_TELEGRAM__SECRET_TOKEN": TELEGRAM_SECRET, "SAPA_TELEGRAM__API_BASE": fake_telegram.url,
           "SAPA_NLU__MODEL_PATH": nlu_model_path, "SAPA_QUEUE__WORKERS": "2", "SAPA_QUEUE__WORKER_TYPE": "thread",
           "SAPA_BROADCASTS__STALE_SECONDS": "2", "SAPA_BROADCASTS__TELEGRAM_PER_SECOND": "10"}
    seed(rt.engine, line=LINE_CONTACTS, telegram=TELEGRAM_CONTACTS)
    fake_line.delay = 1.0  # slow multicasts: the first kill lands while one is in flight
    fake_telegram.delay = 0.05
    worker = None
    try:
        configure_queue(queue_url)
        campaign_id = make_campaign(rt, message={"text": "Promo akhir pekan!"})
        tasks.enqueue_campaign(campaign_id, "now")
        worker = _worker(env)
        # kill 1: a multicast was accepted, the next one is on its way to LINE
        fake_line.wait_for("/v2/bot/message/multicast", 1, timeout=60)
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
        first_kill = _status(rt.engine)
        assert first_kill["line:sent"] < LINE_CONTACTS, first_kill
        # kill 2: Telegram messages are in flight
        worker = _worker(env)
        deadline = time.monotonic() + 60
        while fake_telegram.count_of("sendMessage") < 5 and time.monotonic() < deadline:
            tasks.requeue_stale_runs()
            time.sleep(0.05)
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
        at_kill = _status(rt.engine)
        assert at_kill["telegram:sent"] < TELEGRAM_CONTACTS, at_kill

        worker = _worker(env)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            tasks.requeue_stale_runs()  # what the clock's sweep does every 30 s
            now = _status(rt.engine)
            if not any(n for key, n in now.items() if key.endswith((":queued", ":sending"))):
                break
            time.sleep(0.5)
        final = _status(rt.engine)
    finally:
        if worker is not None and worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=10)
        configure_queue("memory:")
        set_runtime(previous)
        rt.close()
    assert final["line:sent"] == LINE_CONTACTS, final
    per_user = fake_line.deliveries_per_user()
    assert len(per_user) == LINE_CONTACTS and set(per_user.values()) == {1}  # LINE: exactly once each
    sent_chats = Counter(chat for chat, _, _ in fake_telegram.sent)
    assert set(sent_chats.values()) == {1}  # Telegram: never twice
    assert final["telegram:sent"] + final["telegram:unknown"] == TELEGRAM_CONTACTS, final
    assert final["telegram:sent"] <= len(sent_chats) <= final["telegram:sent"] + final["telegram:unknown"]
    with session_scope(rt.engine) as session:
        unknown = session.execute(select(CampaignRecipient.external_id).where(CampaignRecipient.status == "unknown")).scalars().all()
        sent = session.execute(select(CampaignRecipient.external_id).where(CampaignRecipient.status == "sent",
                                                                  CampaignRecipient.channel == "telegram")).scalars().all()
    assert {int(x) for x in sent} <= set(sent_chats)  # every "sent" did arrive
    assert set(sent_chats) <= {int(x) for x in sent} | {int(x) for x in unknown}
    assert set(sent_chats) <= {int(tg_id(i)) for i in range(TELEGRAM_CONTACTS)}
