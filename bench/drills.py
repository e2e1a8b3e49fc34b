"""Fault drill: `sapa run` under the faults of issue 15, on SQLite and on PostgreSQL + Redis.

    .venv/bin/python bench/drills.py                      # both backends, 25 s lock, 30 s Redis outage
    .venv/bin/python bench/drills.py --backend sqlite --lock-seconds 25
    SAPA_TEST_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test_h1 \\
        .venv/bin/python bench/drills.py --backend postgres

Each backend runs a real `sapa run` (web, worker, clock) in a temp dir against a fake LINE API,
and a LINE-like customer that sends signed webhooks and, like the platform, redelivers every
event not answered 200. The drills, in order:

* write lock: another connection holds the database's write lock (SQLite: `BEGIN IMMEDIATE`;
  PostgreSQL: `LOCK TABLE webhookevent IN ACCESS EXCLUSIVE MODE`) → every process keeps running,
  webhooks are answered 503 within 5 s during the lock, and after it every redelivered event
  is answered exactly once;
* dropped connections (PostgreSQL): every connection to the database terminated a few times
  while events are processed → every process keeps running, every event is answered once;
* Redis outage (PostgreSQL + Redis; the drill's own redis-server, stopped) → staff login still
  works, and every event sent during the outage or redelivered after it is answered once;
* SIGKILL of `sapa run` → no process of it left within 5 s, and a new `sapa run` on the same
  port starts.

Prints the figures as it goes; the exit status is non-zero when a check fails. PostgreSQL's
database (SAPA_TEST_POSTGRES_URL or --postgres-url) is emptied first: give it a test database.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.factories import LINE_SECRET, line_body, line_signature, line_text  # noqa: E402
from tests.fakes.line_api import FakeLine  # noqa: E402

SAPA = [sys.executable, "-m", "bot.cli"]
STAFF_EMAIL, STAFF_PASSWORD = "drill@shop.id", "drill-password-4711"
KILL_WITHIN = 5.0  # seconds: the processes of a killed `sapa run`
ANSWER_WITHIN = 5.0  # seconds: a webhook during a fault, with the default webhooks.store_timeout_seconds


def say(line: str) -> None:
    """Print a line of the drill's report at once."""
    print(line, flush=True)


def free_port() -> int:
    """A TCP port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (children, their children, …), from /proc."""
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        try:
            for task in Path(f"/proc/{parent}/task").iterdir():
                kids = [int(kid) for kid in (task / "children").read_text().split()]
                found += kids
                todo += kids
        except OSError:  # exited meanwhile
            continue
    return found


def alive(pids: list[int]) -> list[int]:
    """The processes of `pids` that still run (a zombie waiting for its parent does not)."""
    running = []
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state not in ("Z", "X"):
            running.append(pid)
    return running


def wait_gone(pids: list[int], timeout: float) -> tuple[float, list[int]]:
    """Seconds until every process of `pids` exited (or `timeout`), and those still running then."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if not alive(pids):
            break
        time.sleep(0.05)
    return time.monotonic() - started, alive(pids)


@dataclass
class Checks:
    """The drill's verdicts: each printed, the failures kept for the exit status."""

    label: str
    failures: list[str] = field(default_factory=list)

    def check(self, ok: bool, what: str) -> bool:
        """Print `what` with OK or FAIL."""
        say(f"[{self.label}] {'OK  ' if ok else 'FAIL'} {what}")
        if not ok:
            self.failures.append(f"{self.label}: {what}")
        return ok


class Sapa:
    """`sapa run` in a temp dir, its output in a log file."""

    def __init__(self, env: dict, workdir: Path, port: int) -> None:
        self.env, self.workdir, self.port = env, workdir, port
        self.base = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen | None = None
        self.log_path = workdir / "sapa-run.log"

    def command(self, *args: str, stdin: str | None = None) -> str:
        """Run another `sapa` command with the same settings; its output."""
        return subprocess.run(SAPA + list(args), env=self.env, cwd=self.workdir, input=stdin, text=True,
                              capture_output=True, check=True, timeout=120).stdout

    def start(self, timeout: float = 90) -> float:
        """Start `sapa run`; seconds until /healthz answered 200."""
        started = time.monotonic()
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(SAPA + ["run", "--port", str(self.port)], env=self.env, cwd=self.workdir,
                                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        while time.monotonic() - started < timeout:
            if self.process.poll() is not None:
                raise RuntimeError(f"sapa run exited with code {self.process.returncode}:\n{self.tail()}")
            try:
                if requests.get(f"{self.base}/healthz", timeout=2).status_code == 200:
                    return time.monotonic() - started
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"sapa run did not answer /healthz within {timeout:.0f} s:\n{self.tail()}")

    def pids(self) -> list[int]:
        """`sapa run` and every process below it."""
        return [self.process.pid] + descendants(self.process.pid)

    def tail(self, lines: int = 40) -> str:
        """The end of the log."""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def log_text(self) -> str:
        """The whole log."""
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 30) -> int | None:
        """Ctrl-C; the exit code (None when it had to be killed)."""
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else None
        pids = self.pids()
        self.process.send_signal(signal.SIGINT)
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            code = None
        for pid in alive(pids):
            os.kill(pid, signal.SIGKILL)
        self.process.wait()
        return code


def _accepted(call) -> bool:
    """True when the fake platform answered the call with success (2xx)."""
    return call.status is not None and 200 <= call.status < 300


class Customer:
    """LINE customers sending text messages; like the platform, redelivers each event until it gets 200."""

    def __init__(self, base: str, fake: FakeLine) -> None:
        self.base, self.fake = base, fake
        self.events: dict[str, bytes] = {}  # user id -> the signed body of that user's one event
        self.accepted: set[str] = set()

    def send_new(self, timeout: float = 30) -> tuple[int | None, float]:
        """One new event from a new customer; (status or None when refused/timed out, seconds)."""
        user = "U" + uuid.uuid4().hex
        self.events[user] = line_body(line_text("halo kak", user=user, reply_token=f"rt-{user}",
                                                event_id=uuid.uuid4().hex.upper()[:26]))
        return self.deliver(user, timeout)

    def deliver(self, user: str, timeout: float = 30) -> tuple[int | None, float]:
        """(Re)deliver `user`'s event; (status or None, seconds)."""
        body = self.events[user]
        started = time.monotonic()
        try:
            status = requests.post(f"{self.base}/webhooks/line", data=body, timeout=timeout, headers={
                "Content-Type": "application/json", "X-Line-Signature": line_signature(body, LINE_SECRET)}).status_code
        except requests.RequestException:
            status = None
        if status == 200:
            self.accepted.add(user)
        return status, time.monotonic() - started

    def redeliver_pending(self, timeout: float) -> int:
        """Redeliver every event not answered 200, every second, until all are or `timeout` passes; redeliveries."""
        deadline, count = time.monotonic() + timeout, 0
        while time.monotonic() < deadline:
            pending = [user for user in self.events if user not in self.accepted]
            if not pending:
                break
            for user in pending:
                self.deliver(user, timeout=10)
                count += 1
            time.sleep(1)
        return count

    def answers(self) -> Counter:
        """How many answers (reply or push calls LINE accepted) each of our customers got.

        A retry after an uncertain send tries the reply token again on purpose: LINE rejects a used
        token (400), the customer gets nothing twice, and such a call is no answer."""
        counts: Counter = Counter()
        for call in self.fake.calls("/v2/bot/message/reply"):
            token = (call.json or {}).get("replyToken", "")
            if token.startswith("rt-") and _accepted(call):
                counts[token[3:]] += 1
        for call in self.fake.calls("/v2/bot/message/push"):
            if _accepted(call):
                counts[(call.json or {}).get("to", "")] += 1
        return counts

    def wait_answered(self, timeout: float) -> tuple[float, Counter]:
        """Seconds until every event was answered (or `timeout`), then the answers per customer after a settle."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if all(self.answers()[user] for user in self.events):
                break
            time.sleep(0.2)
        took = time.monotonic() - started
        time.sleep(3)  # a duplicate would come now
        return took, self.answers()


def hold_lock_command(database_url: str, seconds: float) -> list[str]:
    """A process holding the database's write lock for `seconds` (as another program would)."""
    if database_url.startswith("sqlite"):
        path = database_url.split("///", 1)[1]
        code = (f"import sqlite3,time;c=sqlite3.connect({path!r},isolation_level=None);c.execute('BEGIN IMMEDIATE');"
                f"print('held',flush=True);time.sleep({seconds})")
    else:
        dsn = re.sub(r"^postgresql\+\w+://", "postgresql://", database_url)
        code = (f"import psycopg,time;c=psycopg.connect({dsn!r});c.execute('LOCK TABLE webhookevent IN ACCESS "
                f"EXCLUSIVE MODE');print('held',flush=True);time.sleep({seconds});c.rollback()")
    return [sys.executable, "-c", code]


def send_during(customer: Customer, until: float, every: float) -> list[tuple[int | None, float]]:
    """New events, one every `every` seconds, until the monotonic time `until`; their (status, seconds)."""
    results = []
    while time.monotonic() + min(1.0, every) < until:
        sent_at = time.monotonic()
        results.append(customer.send_new(timeout=30))
        time.sleep(max(0.0, every - (time.monotonic() - sent_at)))
    return results


def check_answered_once(checks: Checks, customer: Customer, users: list[str], timeout: float) -> None:
    """Redeliver what was refused, then check each of `users` got exactly one answer."""
    redeliveries = customer.redeliver_pending(timeout=30)
    took, answers = customer.wait_answered(timeout)
    counts = Counter(answers[user] for user in users)
    checks.check(all(user in customer.accepted for user in users),
                 f"every event stored after {redeliveries} redeliveries ({len(customer.accepted & set(users))} "
                 f"of {len(users)})")
    checks.check(counts == Counter({1: len(users)}),
                 f"every event answered exactly once ({took:.1f} s): answers per event {dict(counts)}")


def lock_drill(checks: Checks, sapa: Sapa, customer: Customer, seconds: float) -> None:
    """A write lock held `seconds` by another connection."""
    before = sapa.pids()
    say(f"[{checks.label}] holding the write lock for {seconds:g} s ({len(before)} processes)")
    holder = subprocess.Popen(hold_lock_command(sapa.env["SAPA_DATABASE_URL"], seconds), stdout=subprocess.PIPE,
                              text=True)
    assert holder.stdout.readline().strip() == "held", "the lock holder did not get the lock"
    until = time.monotonic() + seconds
    health: list[int | None] = []

    def probe_health() -> None:
        time.sleep(min(8.0, seconds / 2))
        try:
            health.append(requests.get(f"{sapa.base}/healthz", timeout=10).status_code)
        except requests.RequestException:
            health.append(None)

    prober = threading.Thread(target=probe_health)
    prober.start()
    first = len(customer.events)
    results = send_during(customer, until - 2, every=2.5)
    users = list(customer.events)[first:]
    prober.join()
    holder.wait()
    statuses = Counter(status for status, _took in results)
    slowest = max((took for _status, took in results), default=0.0)
    say(f"[{checks.label}] during the lock: {len(results)} webhooks, statuses {dict(statuses)}, slowest "
        f"{slowest:.1f} s; /healthz said {health[0] if health else '-'}")
    checks.check(all(status == 503 and took <= ANSWER_WITHIN for status, took in results),
                 f"webhooks answered 503 within {ANSWER_WITHIN:g} s during the lock (needs "
                 f"webhooks.store_timeout_seconds)")
    gone = sorted(set(before) - set(alive(before)))
    checks.check(not gone, f"every process still running after the lock ({len(before) - len(gone)} of "
                           f"{len(before)}{'; gone: ' + str(gone) if gone else ''})")
    check_answered_once(checks, customer, users, timeout=60)


def drop_connections(database_url: str) -> int:
    """Terminate every other connection to the PostgreSQL database (as a failover or restart would); how many."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    engine = create_engine(database_url, poolclass=NullPool)
    with engine.begin() as connection:
        dropped = connection.execute(text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                          "WHERE datname = current_database() AND pid <> pg_backend_pid()")).scalar()
    engine.dispose()
    return int(dropped)


def connection_drop_drill(checks: Checks, sapa: Sapa, customer: Customer, drops: int = 3) -> None:
    """PostgreSQL connections dropped while events are being processed."""
    before = sapa.pids()
    first = len(customer.events)
    results: list[tuple[int | None, float]] = []
    sender = threading.Thread(target=lambda: results.extend(send_during(customer, time.monotonic() + 3, every=0.3)))
    sender.start()
    dropped = []
    for _ in range(drops):  # while the events are stored and processed
        time.sleep(0.3)
        dropped.append(drop_connections(sapa.env["SAPA_DATABASE_URL"]))
    sender.join()
    statuses = Counter(status for status, _took in results)
    users = list(customer.events)[first:]
    say(f"[{checks.label}] {len(results)} webhooks ({dict(statuses)}) while every connection was dropped {drops} times "
        f"({dropped} each time)")
    time.sleep(2)  # a job meeting a dropped connection retries
    gone = sorted(set(before) - set(alive(before)))
    checks.check(not gone, f"every process still running after the dropped connections ({len(before) - len(gone)} "
                           f"of {len(before)}{'; gone: ' + str(gone) if gone else ''})")
    check_answered_once(checks, customer, users, timeout=60)


class PrivateRedis:
    """A redis-server of the drill's own on a free port, to stop and start again."""

    def __init__(self, workdir: Path) -> None:
        self.port, self.workdir = free_port(), workdir
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        """Start it and wait until it answers."""
        self.process = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                                         "--save", "", "--appendonly", "no", "--dir", str(self.workdir)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as connection:
                    connection.sendall(b"PING\r\n")
                    if connection.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        """Stop it (its data is lost, as after a crash without persistence)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


def staff_login(base: str) -> tuple[bool, str]:
    """Log in to the inbox as the drill's staff member; (worked, what happened)."""
    session = requests.Session()
    try:
        page = session.get(f"{base}/inbox/login", timeout=10)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text)
        response = session.post(f"{base}/inbox/login", timeout=10, allow_redirects=False, data={
            "email": STAFF_EMAIL, "password": STAFF_PASSWORD, "csrf_token": token.group(1) if token else ""})
        inbox = session.get(f"{base}/inbox/", timeout=10, allow_redirects=False)
    except requests.RequestException as exc:
        return False, f"request failed: {exc}"
    worked = response.status_code in (302, 303) and inbox.status_code == 200
    return worked, f"login {response.status_code}, then /inbox/ {inbox.status_code}"


def redis_drill(checks: Checks, sapa: Sapa, customer: Customer, redis: PrivateRedis, seconds: float) -> None:
    """The queue's (and the rate limits') Redis stopped for `seconds`."""
    before = sapa.pids()
    say(f"[{checks.label}] stopping Redis for {seconds:g} s")
    redis.stop()
    until = time.monotonic() + seconds
    started = time.monotonic()
    worked, what = staff_login(sapa.base)
    checks.check(worked, f"staff login while Redis is down ({what}, {time.monotonic() - started:.1f} s)")
    first = len(customer.events)
    results = send_during(customer, until, every=3)
    users = list(customer.events)[first:]
    time.sleep(max(0.0, until - time.monotonic()))
    redis.start()
    statuses = Counter(status for status, _took in results)
    slowest = max((took for _status, took in results), default=0.0)
    say(f"[{checks.label}] during the outage: {len(results)} webhooks, statuses {dict(statuses)}, slowest "
        f"{slowest:.1f} s; Redis back")
    gone = sorted(set(before) - set(alive(before)))
    checks.check(not gone, f"every process still running after the outage ({len(before) - len(gone)} of "
                           f"{len(before)}{'; gone: ' + str(gone) if gone else ''})")
    # Stored events whose task was lost with Redis are queued again by the clock's sweep.
    check_answered_once(checks, customer, users, timeout=90)


def kill_drill(checks: Checks, sapa: Sapa) -> None:
    """SIGKILL of `sapa run`, then a new one on the same port."""
    pids = sapa.pids()
    sapa.process.send_signal(signal.SIGKILL)
    took, left = wait_gone(pids, timeout=15)
    checks.check(not left and took <= KILL_WITHIN,
                 f"SIGKILL of sapa run: its {len(pids)} processes gone in {took:.1f} s (within {KILL_WITHIN:g} s)"
                 + (f"; still running: {left}" if left else ""))
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    sapa.process.wait()
    try:
        took = sapa.start(timeout=60)
        checks.check(True, f"a new sapa run on the same port answered in {took:.1f} s")
    except RuntimeError as exc:
        checks.check(False, f"a new sapa run on the same port: {exc}")


def prepare(label: str, workdir: Path, database_url: str, queue_url: str, fake: FakeLine, model_path: str,
            extra_env: dict) -> Sapa:
    """An empty, migrated database, a staff login, and the `sapa run` settings."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("SAPA_")}
    env.update({
        "SAPA_ENV": "development", "SAPA_DATABASE_URL": database_url, "SAPA_QUEUE_URL": queue_url,
        "SAPA_LINE__CHANNEL_SECRET": LINE_SECRET, "SAPA_LINE__ACCESS_TOKEN": fake.access_token,
        "SAPA_LINE__API_BASE": fake.url, "SAPA_NLU__MODEL_PATH": model_path,
        "SAPA_MEDIA_DIR": str(workdir / "media"), "SAPA_SECRET_KEY": "drill-secret-key-0123456789",
        # Events stored but not queued (Redis down) are queued again by the clock's sweep this soon.
        "SAPA_QUEUE__STALE_EVENT_SECONDS": "5",
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")])),
        **extra_env,
    })
    sapa = Sapa(env, workdir, free_port())
    if database_url.startswith("postgresql"):
        from sqlalchemy import create_engine, text

        engine = create_engine(database_url)
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    sapa.command("db", "upgrade")
    sapa.command("user", "add", STAFF_EMAIL, "--role", "agent", stdin=STAFF_PASSWORD + "\n")
    return sapa


def run_backend(label: str, args, fake: FakeLine, model_path: str) -> list[str]:
    """Every drill on one backend; the failures."""
    checks = Checks(label)
    workdir = Path(tempfile.mkdtemp(prefix=f"sapa-drill-{label}-"))
    redis = PrivateRedis(workdir) if label == "postgres" else None
    sapa = None
    try:
        if redis is not None:
            redis.start()
            sapa = prepare(label, workdir, args.postgres_url, redis.url, fake, model_path,
                           {"SAPA_INBOX__RATE_LIMIT_STORAGE": redis.url})
        else:
            sapa = prepare(label, workdir, f"sqlite:///{workdir}/sapa.db", f"sqlite:///{workdir}/queue.db", fake,
                           model_path, {})
        fake.reset()
        took = sapa.start()
        customer = Customer(sapa.base, fake)
        say(f"[{label}] sapa run up in {took:.1f} s on port {sapa.port} ({len(sapa.pids())} processes); "
            f"log {sapa.log_path}")
        status, took = customer.send_new()
        checks.check(status == 200, f"a webhook before any fault: {status} in {took:.2f} s")
        lock_drill(checks, sapa, customer, args.lock_seconds)
        if redis is not None:
            connection_drop_drill(checks, sapa, customer)
            redis_drill(checks, sapa, customer, redis, args.redis_seconds)
        log = sapa.log_text()
        checks.check("exited unexpectedly" not in log, "no process of sapa run exited during the faults")
        kill_drill(checks, sapa)
    except Exception as exc:  # noqa: BLE001 - reported as a failed drill, with the log's end
        checks.check(False, f"the drill broke: {type(exc).__name__}: {exc}")
    finally:
        if sapa is not None:
            if checks.failures:
                say(f"[{label}] end of the sapa run log:\n{sapa.tail()}")
            code = sapa.stop()
            checks.check(code == 0, f"Ctrl-C stops sapa run cleanly (exit code {code})")
        if redis is not None:
            redis.stop()
        if args.keep or checks.failures:
            say(f"[{label}] temp dir kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return checks.failures


def main(argv: list[str] | None = None) -> int:
    """Run the drills; 0 when every check passed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres", "all"], default="all")
    parser.add_argument("--lock-seconds", type=float, default=25.0)
    parser.add_argument("--redis-seconds", type=float, default=30.0)
    parser.add_argument("--postgres-url", default=os.environ.get("SAPA_TEST_POSTGRES_URL", ""))
    parser.add_argument("--nlu-model", default="", help="a trained intent model (default: train one)")
    parser.add_argument("--keep", action="store_true", help="keep the temp dirs (logs, databases)")
    args = parser.parse_args(argv)
    backends = ["sqlite", "postgres"] if args.backend == "all" else [args.backend]
    if "postgres" in backends and not args.postgres_url:
        parser.error("PostgreSQL needs --postgres-url or SAPA_TEST_POSTGRES_URL (its database is emptied)")
    if "postgres" in backends and shutil.which("redis-server") is None:
        parser.error("PostgreSQL + Redis needs redis-server on the PATH")
    from handlers.nlu import get_model

    model_path = args.nlu_model or str(Path(tempfile.mkdtemp(prefix="sapa-drill-nlu-")) / "model.joblib")
    get_model(model_path)  # trained once, shared by every backend's workers
    started = time.monotonic()
    failures: list[str] = []
    with FakeLine() as fake:
        for backend in backends:
            failures += run_backend(backend, args, fake, model_path)
    say(f"drills done in {time.monotonic() - started:.0f} s: "
        + ("every check passed" if not failures else f"{len(failures)} failed:\n  " + "\n  ".join(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
