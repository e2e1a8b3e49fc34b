"""Login rate limits: shared by every process, no lock-out of a staff member, real client addresses."""

from __future__ import annotations

import os
import re
import subprocess
import time

import pytest
import requests

from bot.app import create_app
from core.db import session_scope
from crm.inbox.auth import LoginLimiter
from crm.staff import create_user
from tests.conftest import make_settings
from tests.crm.inbox.conftest import PASSWORD, ROLE_EMAILS, csrf_token, log_in
from tests.processes import interrupt
from tests.test_end_to_end import ROOT, SAPA, free_port, wait_until_up

AGENT = ROLE_EMAILS["agent"]


def attempt(client, email: str, password: str, address: str = "127.0.0.1", **kwargs):
    """One login attempt from `address` (the test client's REMOTE_ADDR)."""
    return client.post("/inbox/login", data={"email": email, "password": password, "csrf_token": csrf_token(client)},
                       environ_base={"REMOTE_ADDR": address}, **kwargs)


def test_failures_on_one_address_are_limited_whatever_the_email(client, staff):
    for n in range(10):
        assert attempt(client, f"guess{n}@shop.test", "wrong-one").status_code == 401
    refused = attempt(client, "guess-more@shop.test", "wrong-one")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert "Terlalu banyak percobaan gagal" in refused.get_data(as_text=True)
    assert attempt(client, AGENT, PASSWORD, address="10.0.0.9").status_code == 302  # another address is not held


def test_failures_on_one_email_slow_it_down_but_never_lock_its_owner_out(app, staff):
    known, _ = log_in(app, AGENT)  # the agent's own browser: it now carries a device cookie
    known.post("/inbox/logout", data={"csrf_token": csrf_token(known, "/inbox/dashboard")})
    attacker = app.test_client()
    for n in range(5):  # login_delay_after: 5, from five addresses
        assert attempt(attacker, AGENT, "wrong-one", address=f"198.51.100.{n}").status_code == 401
    held = attempt(attacker, AGENT, PASSWORD, address="198.51.100.99")
    assert held.status_code == 429 and held.headers["Retry-After"] == "2"
    assert "Tunggu 2 detik" in held.get_data(as_text=True)
    for n in range(20):  # an attacker going on is held, not counted again
        attempt(attacker, AGENT, "wrong-one", address=f"203.0.113.{n}")
    # The owner's browser is not held at all ...
    assert attempt(known, AGENT, PASSWORD, address="192.0.2.1").status_code == 302
    # ... and a browser the owner never used gets in after the short delay.
    time.sleep(2.1)
    assert attempt(app.test_client(), AGENT, PASSWORD, address="192.0.2.2").status_code == 302


def test_the_delay_grows_and_stops_at_the_maximum(sqlite_url):
    settings = make_settings(sqlite_url, inbox={"login_delay_after": 2, "login_max_delay_seconds": 5})
    limiter = LoginLimiter(settings.inbox, create_app(settings).extensions["sapa.engine"])
    waits = []
    for n in range(6):
        limiter.failed(ip=f"10.1.0.{n}", email="a@shop.test", device=None)
        waits.append(limiter.wait_seconds(ip="10.2.0.1", email="a@shop.test", device=None))
    assert waits == [0, 2, 4, 5, 5, 5]
    limiter.succeeded(email="a@shop.test")
    assert limiter.wait_seconds(ip="10.2.0.1", email="a@shop.test", device=None) == 0


def test_a_forged_device_cookie_is_ignored(app, staff):
    attacker = app.test_client()
    attacker.set_cookie("sapa_device", "eyJpZCI6IngiLCJlbWFpbHMiOlsiYWdlbnRAc2hvcC50ZXN0Il19.forged.sig",
                        path="/inbox/login")
    for n in range(5):
        attempt(attacker, AGENT, "wrong-one", address=f"198.51.100.{n}")
    assert attempt(attacker, AGENT, PASSWORD, address="198.51.100.50").status_code == 429


def test_two_apps_on_one_database_share_the_count(settings, runtime, staff):
    first, second = create_app(settings).test_client(), create_app(settings).test_client()
    for n in range(10):
        assert attempt(first if n % 2 else second, f"x{n}@shop.test", "wrong-one").status_code == 401
    assert attempt(first, AGENT, PASSWORD).status_code == 429
    assert attempt(second, AGENT, PASSWORD).status_code == 429


@pytest.mark.parametrize("proxies", [0, 1])
def test_behind_a_trusted_proxy_each_client_address_counts_on_its_own(sqlite_url, nlu_model_path, proxies):
    settings = make_settings(sqlite_url, nlu={"model_path": nlu_model_path}, inbox={"trusted_proxies": proxies})
    app = create_app(settings)
    with session_scope(app.extensions["sapa.engine"]) as s:
        create_user(session=s, email=AGENT, password=PASSWORD, role="agent")
    client = app.test_client()
    for n in range(10):  # all through the proxy at 10.0.0.1, from one client
        attempt(client, f"x{n}@shop.test", "wrong-one", address="10.0.0.1",
                headers={"X-Forwarded-For": "203.0.113.7"})
    other_client = attempt(app.test_client(), AGENT, PASSWORD, address="10.0.0.1", headers={"X-Forwarded-For": "203.0.113.8"})
    forged = attempt(app.test_client(), AGENT, PASSWORD, address="10.0.0.1", headers={"X-Forwarded-For": "203.0.113.9, 203.0.113.7"})
    # Another staff member behind the same proxy logs in; without the setting the header is not believed.
    assert other_client.status_code == (302 if proxies else 429)
    # A client that puts an address of its own in front is still the one the proxy added (.7).
    assert forged.status_code == 429


def test_login_works_while_the_redis_of_the_limits_is_down(sqlite_url, nlu_model_path, caplog):
    dead_redis = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    settings = make_settings(sqlite_url, nlu={"model_path": nlu_model_path}, inbox={"rate_limit_storage": dead_redis})
    app = create_app(settings)
    with session_scope(app.extensions["sapa.engine"]) as s:
        create_user(session=s, email=AGENT, password=PASSWORD, role="agent")
    client = app.test_client()
    assert attempt(client, AGENT, "wrong-one").status_code == 401
    assert attempt(client, AGENT, PASSWORD).status_code == 302
    assert "counting in the database" in caplog.text
    client = app.test_client()
    for n in range(9):  # still limited meanwhile: the database counts
        attempt(client, f"x{n}@shop.test", "wrong-one")
    assert attempt(client, "y@shop.test", "wrong-one").status_code == 429


@pytest.mark.redis
def test_login_attempts_can_be_counted_in_redis_for_every_web_process(sqlite_url):
    from tests.conftest import REDIS_URL, redis_up, service_or_skip

    service_or_skip("Redis", redis_up())
    settings = make_settings(sqlite_url, inbox={"rate_limit_storage": REDIS_URL, "login_rate_limit": "2 per minute"})
    engine = create_app(settings).extensions["sapa.engine"]
    first, second = LoginLimiter(settings.inbox, engine), LoginLimiter(settings.inbox, engine)
    address = f"10.9.{int(time.time()) % 250}.{os.getpid() % 250}"
    first.failed(ip=address, email="a@shop.test", device=None)
    second.failed(ip=address, email="b@shop.test", device=None)  # another process, the same address
    assert first.wait_seconds(ip=address, email="c@shop.test", device=None) > 0
    assert first.wait_seconds(ip="10.8.0.1", email="c@shop.test", device=None) == 0
    assert first.storage is not first.database  # counted in Redis, not in the fallback


@pytest.mark.slow
def test_gunicorn_workers_share_the_count(tmp_path):
    env = {**os.environ, "SAPA_ENV": "development", "SAPA_DATABASE_URL": f"sqlite:///{tmp_path}/sapa.db",
           "SAPA_QUEUE_URL": f"sqlite:///{tmp_path}/queue.db"}
    subprocess.run(SAPA + ["db", "upgrade"], env=env, cwd=ROOT, check=True, capture_output=True, timeout=60)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(SAPA + ["web", "--port", str(port), "--workers", "2"], env=env, cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_until_up(f"{base}/healthz", process)
        browser = requests.Session()
        browser.headers["Connection"] = "close"  # a new connection each time: either worker may take it
        token = re.search(r'name="csrf-token" content="([^"]+)"', browser.get(f"{base}/inbox/login").text)[1]
        statuses = [browser.post(f"{base}/inbox/login", allow_redirects=False, timeout=10, data={
            "email": f"guess{n}@shop.test", "password": "wrong-one", "csrf_token": token}).status_code
            for n in range(20)]
        assert statuses == [401] * 10 + [429] * 10
    finally:
        interrupt(process)


def test_database_counters_expire_and_are_cleared_away(settings, runtime):
    from sqlmodel import Session, select

    from crm.inbox.auth import DatabaseStorage
    from crm.models import RateLimitCounter

    counters = DatabaseStorage(runtime.engine)
    assert counters.incr("old", expiry=-1) == 1  # expired at once
    assert counters.get("old") == 0
    assert counters.incr("new", expiry=60) == 1 and counters.incr("new", expiry=60) == 2
    with Session(runtime.engine) as s:
        assert [row.key for row in s.exec(select(RateLimitCounter))] == ["new"]
    assert counters.incr("old", expiry=60) == 1  # an expired counter starts again from 0
