"""End to end, the CRM side (issue 21): `sapa run` against the fake LINE and Telegram APIs and a webhook receiver.

A LINE customer orders in typed text; staff move the order to delivered through the API; the points are announced on
LINE; the same person links their Telegram account with a one-time code and asks for their points there; a
registered receiver gets `order.status_changed` and `points.changed`, signed, and a retry of the delivery it
answered 500 with the same event id. On SQLite with the SQLite queue, and (marked) PostgreSQL with Redis.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Callable
from typing import Any

import pytest
import requests

from tests.conftest import POSTGRES_URL, REDIS_URL, _postgres_up, redis_up, service_or_skip
from tests.factories import LINE_SECRET, TELEGRAM_SECRET, line_body, line_signature, line_text, tg_text
from tests.fakes.webhook_receiver import receiver, verified  # noqa: F401
from tests.processes import interrupt
from tests.test_end_to_end import ROOT, SAPA, free_port, wait_until_up

LINE_USER = "U5555555555555555555555555555555e"
TG_USER = 9_100_000_000_055
CODE = re.compile(r"\b([A-HJ-KM-NP-Z2-9]{3}-[A-HJ-KM-NP-Z2-9]{3}-[A-HJ-KM-NP-Z2-9]{3})\b")
# The first retry of a failed delivery comes within a minute (crm.webhooks.FIRST_RETRY, swept every 30 s).
RETRY_WAIT = 90


def wait_until(condition: Callable[[], Any], what: str, timeout: float = 20) -> Any:
    """The first truthy value of `condition()`, polled until `timeout` seconds have passed (then the test fails)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"still waiting after {timeout} s for {what}"
        time.sleep(0.1)


class Shop:
    """The running app seen from outside: the customer's chats, the staff's API."""

    def __init__(self, base: str, token: str, fake_line, fake_telegram) -> None:
        self.base, self.auth = base, {"Authorization": f"Bearer {token}"}
        self.fake_line, self.fake_telegram = fake_line, fake_telegram
        self.replies = 0

    def line_texts(self) -> list[str]:
        """Every text the LINE user got, replies and pushes, in the order the fake received them."""
        texts = []
        for call in self.fake_line.calls():
            body = call.json if isinstance(call.json, dict) else {}
            if call.path.endswith("/message/reply") or body.get("to") == LINE_USER:
                texts += [m.get("text", "") for m in body.get("messages", [])]
        return texts

    def line_says(self, text: str, expect: str) -> str:
        """Send `text` on LINE; the first new text the customer gets that contains `expect`."""
        seen = len(self.line_texts())
        self.replies += 1
        body = line_body(line_text(text, user=LINE_USER, reply_token=f"e2e-reply-{self.replies}"))
        response = requests.post(f"{self.base}/webhooks/line", data=body, timeout=5, headers={
            "Content-Type": "application/json", "X-Line-Signature": line_signature(body)})
        assert response.status_code == 200
        return self.line_gets(expect, after=seen, what=f"an answer to {text!r} with {expect!r}")

    def line_gets(self, expect: str, *, after: int, what: str) -> str:
        """The first text after the `after` first ones that contains `expect`."""
        return wait_until(lambda: next((t for t in self.line_texts()[after:] if expect in t), None), what)

    def telegram_says(self, text: str, expect: str) -> str:
        """Send `text` on Telegram; the first new text the customer gets there that contains `expect`."""
        seen = len(self.fake_telegram.texts_to(TG_USER))
        response = requests.post(f"{self.base}/webhooks/telegram", json=tg_text(text, user_id=TG_USER), timeout=5,
                                 headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET})
        assert response.status_code == 200
        return wait_until(lambda: next((t for t in self.fake_telegram.texts_to(TG_USER)[seen:] if expect in t), None),
                          f"a Telegram answer to {text!r} with {expect!r}")

    def line_contact_id(self) -> int | None:
        """The id of the contact with the LINE user's identity (the demo customers are there too)."""
        for contact in self.api("GET", "/contacts?channel=line&limit=100").json()["items"]:
            if any(i["external_id"] == LINE_USER for i in contact["identities"]):
                return contact["id"]
        return None

    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        return requests.request(method, f"{self.base}/api/v1{path}", headers=self.auth, timeout=10, **kwargs)


def _environment(tmp_path, fake_line, fake_telegram, nlu_model_path, database: str) -> dict[str, str]:
    if database == "postgres":
        service_or_skip("PostgreSQL", _postgres_up())
        service_or_skip("Redis", redis_up())
        import redis
        from sqlalchemy import create_engine, text

        redis.Redis.from_url(REDIS_URL).flushdb()
        engine = create_engine(POSTGRES_URL)
        with engine.begin() as connection:  # `sapa db upgrade` below builds it from nothing, as in production
            connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    return {
        **os.environ, "SAPA_ENV": "development",
        "SAPA_DATABASE_URL": POSTGRES_URL if database == "postgres" else f"sqlite:///{tmp_path}/sapa.db",
        "SAPA_QUEUE_URL": REDIS_URL if database == "postgres" else f"sqlite:///{tmp_path}/queue.db",
        "SAPA_LINE__CHANNEL_SECRET": LINE_SECRET, "SAPA_LINE__ACCESS_TOKEN": fake_line.access_token,
        "SAPA_LINE__API_BASE": fake_line.url,
        "SAPA_TELEGRAM__BOT_TOKEN": fake_telegram.token, "SAPA_TELEGRAM__SECRET_TOKEN": TELEGRAM_SECRET,
        "SAPA_TELEGRAM__API_BASE": fake_telegram.url, "SAPA_NLU__MODEL_PATH": nlu_model_path,
    }


@pytest.mark.slow
@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgres", marks=[pytest.mark.postgres,
                                                                              pytest.mark.redis])])
def test_order_points_account_link_and_signed_webhooks_end_to_end(tmp_path, fake_line, fake_telegram,  # noqa: F811
                                                                  nlu_model_path, receiver, database):
    env = _environment(tmp_path, fake_line, fake_telegram, nlu_model_path, database)
    run = lambda *args: subprocess.run(SAPA + list(args), env=env, cwd=ROOT, capture_output=True, text=True,  # noqa: E731
                                       check=True, timeout=120)
    run("db", "upgrade")
    run("demo")  # the catalog the customer orders from
    token = run("token", "add", "e2e").stdout.splitlines()[0].strip()
    port = free_port()
    process = subprocess.Popen(SAPA + ["run", "--port", str(port)], env=env, cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        shop = Shop(f"http://127.0.0.1:{port}", token, fake_line, fake_telegram)
        wait_until_up(f"{shop.base}/healthz", process)
        hook = shop.api("POST", "/webhooks", json={"url": receiver.url,
                                                  "events": ["order.status_changed", "points.changed"]})
        assert hook.status_code == 201, hook.text
        secret = hook.json()["secret"]
        receiver.answers.append(500)  # the first delivery fails once: it must come again with the same id

        # A LINE customer orders in typed text.
        shop.line_says("kak mau pesen es kopi susu 2 ya, anter ke kantor di jl sudirman 21", "")
        shop.line_says("0812 3456 7890", "")
        shop.line_says("qris", "")
        shop.line_says("ya", "#")
        contact_id = wait_until(shop.line_contact_id, "the LINE contact")
        order = wait_until(lambda: shop.api("GET", f"/orders?contact_id={contact_id}").json()["items"],
                           "the order in the API")[0]
        earned = (order["total"] - order.get("delivery_fee", 0)) // 1000
        assert earned > 0

        # Staff deliver it; the points are announced on LINE (once).
        seen = len(shop.line_texts())
        for status in ("confirmed", "preparing", "shipped", "delivered"):
            changed = shop.api("PATCH", f"/orders/{order['id']}", json={"status": status})
            assert changed.status_code == 200, changed.text
        announced = shop.line_gets(f"+{earned} poin", after=seen, what="the points announced on LINE")
        assert f"#{order['number']}" in announced and f"sekarang {earned}" in announced
        balance = wait_until(lambda: shop.api("GET", f"/contacts/{contact_id}/points").json()["balance"],
                             "the balance in the API")
        assert balance == earned

        # The same person links their Telegram account with a code asked for on LINE.
        code = CODE.search(shop.line_says("link account", "-")).group(1)
        shop.telegram_says(code, "terhubung")
        contact = shop.api("GET", f"/contacts/{contact_id}").json()
        assert sorted(i["channel"] for i in contact["identities"]) == ["line", "telegram"]
        assert contact["points"] == earned
        assert f"Poin kakak: {earned}" in shop.telegram_says("poin saya berapa?", "Poin kakak")

        # The receiver got the status changes and the points, signed; the one it refused came again, same id.
        def events() -> list[dict]:
            return [verified(secret, headers, body) for headers, body in list(receiver.received)]

        refused = wait_until(events, "the first webhook delivery")[0]
        wait_until(lambda: [e for e in events()[1:] if e["id"] == refused["id"]], "the retry of the refused delivery",
                   timeout=RETRY_WAIT)
        got = events()
        statuses = [e["data"]["status"] for e in got if e["type"] == "order.status_changed"]
        assert {"confirmed", "preparing", "shipped", "delivered"} <= set(statuses)
        delivered = next(e for e in got if e["type"] == "order.status_changed" and e["data"]["status"] == "delivered")
        assert delivered["data"]["previous_status"] == "shipped" and delivered["data"]["id"] == order["id"]
        points = [e["data"] for e in got if e["type"] == "points.changed"]
        assert points and points[-1] == {"contact_id": contact_id, "balance": earned, "delta": earned, "kind": "earn",
                                         "order_id": order["id"]}
        assert len({e["id"] for e in got}) == len(got) - 1  # only the refused one came twice
    finally:
        output = interrupt(process)
    assert process.returncode == 0, "sapa run did not stop cleanly within 30 s of Ctrl-C:\n" + output
