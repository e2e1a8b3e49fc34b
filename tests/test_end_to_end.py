"""End to end: `sapa run` as a subprocess, signed webhooks over HTTP, results via /api/v1."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.conftest import REDIS_URL, redis_up, service_or_skip
from tests.factories import LINE_SECRET, TELEGRAM_SECRET, line_body, line_signature, line_text, tg_text
from tests.processes import interrupt

ROOT = Path(__file__).resolve().parent.parent
SAPA = [sys.executable, "-m", "bot.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(url: str, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "sapa run exited early"
        try:
            if requests.get(url, timeout=5).status_code == 200:
                return
        except requests.RequestException:  # still booting
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} did not come up in {timeout}s")


@pytest.mark.slow
@pytest.mark.parametrize("queue", ["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def test_sapa_run_answers_webhooks_and_serves_history(tmp_path, fake_line, fake_telegram, nlu_model_path, queue):
    if queue == "redis":
        service_or_skip("Redis", redis_up())
        import redis

        redis.Redis.from_url(REDIS_URL).flushdb()
    env = {
        **os.environ, "SAPA_ENV": "development",
        "SAPA_DATABASE_URL": f"sqlite:///{tmp_path}/sapa.db",
        "SAPA_QUEUE_URL": REDIS_URL if queue == "redis" else f"sqlite:///{tmp_path}/queue.db",
        "SAPA_LINE__CHANNEL_SECRET": LINE_SECRET, "SAPA_LINE__ACCESS_TOKEN": fake_line.access_token,
        "SAPA_LINE__API_BASE": fake_line.url,
        "SAPA_TELEGRAM__BOT_TOKEN": fake_telegram.token, "SAPA_TELEGRAM__SECRET_TOKEN": TELEGRAM_SECRET,
        "SAPA_TELEGRAM__API_BASE": fake_telegram.url, "SAPA_NLU__MODEL_PATH": nlu_model_path,
    }
    run = lambda *args: subprocess.run(SAPA + list(args), env=env, cwd=ROOT, capture_output=True, text=True,  # noqa: E731
                                       check=True, timeout=60)
    run("db", "upgrade")
    token = run("token", "add", "e2e").stdout.splitlines()[0].strip()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(SAPA + ["run", "--port", str(port)], env=env, cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_until_up(f"{base}/healthz", process)
        user = "U4444444444444444444444444444444d"
        body = line_body(line_text("kak mau pesen es kopi susu 2", user=user, reply_token="e2e-token"))
        response = requests.post(f"{base}/webhooks/line", data=body, timeout=5, headers={
            "Content-Type": "application/json", "X-Line-Signature": line_signature(body)})
        assert response.status_code == 200
        again = requests.post(f"{base}/webhooks/line", data=body, timeout=5, headers={
            "Content-Type": "application/json", "X-Line-Signature": line_signature(body)})
        assert again.json()["duplicates"] == 1
        telegram = requests.post(f"{base}/webhooks/telegram", json=tg_text("/start", user_id=9_100_000_000_001),
                                 headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}, timeout=5)
        assert telegram.status_code == 200

        fake_line.wait_for("/v2/bot/message/reply", timeout=20)
        fake_telegram.wait_for("sendMessage", timeout=20)
        auth = {"Authorization": f"Bearer {token}"}
        contacts = requests.get(f"{base}/api/v1/contacts?channel=line", headers=auth, timeout=5).json()["items"]
        assert [c["identities"][0]["external_id"] for c in contacts] == [user]
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            items = requests.get(f"{base}/api/v1/contacts/{contacts[0]['id']}/messages", headers=auth,
                                 timeout=5).json()["items"]
            if len(items) == 2 and items[1]["status"] == "sent":
                break
            time.sleep(0.2)
        assert [(i["direction"], i["status"]) for i in items] == [("in", "received"), ("out", "sent")]
        assert len(fake_line.calls("/v2/bot/message/reply")) == 1
    finally:
        output = interrupt(process)
    assert process.returncode == 0, "sapa run did not stop cleanly within 30 s of Ctrl-C:\n" + output
    assert "Stopped." in output
