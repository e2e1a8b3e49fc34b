"""Ingest benchmark: signed LINE webhooks against gunicorn, compared with a bare Flask app.

What it measures (all on this machine, everything in a temporary directory):

1. Max sustained throughput, closed loop (N keep-alive connections, --duration s), of
   a bare Flask ``POST /hello`` (the ceiling) and of ``POST /webhooks/line`` with signed
   single-event bodies (each a new webhookEventId). Both apps run under gunicorn with the
   product's settings (bot/gunicorn_conf.py: gthread, 16 threads, one SO_REUSEPORT socket
   and one core per worker), 2 workers. Ratio webhook / hello (target >= 0.5).
2. Ack latency at a fixed --rate (default 1,000 req/s), open loop, latency measured from
   the scheduled send time (no coordinated omission): p50 / p99 (target p99 <= 50 ms),
   for the webhook and, for comparison, the bare endpoint.
3. Exactly-once storage: every acknowledged event is in ``webhookevent`` exactly once,
   every stored event was queued exactly once, and a redelivery of already stored events
   (``isRedelivery: true``) stores and queues nothing.
4. Webhook -> reply latency at --reply-rate (default 100 msg/s) with ``sapa worker``
   running and the fake LINE API (tests/fakes/line_api.py) receiving the replies in this
   process: arrival of ``/v2/bot/message/reply`` with the event's reply token minus the
   scheduled send time (same clock). Target p50 <= 50 ms, p99 <= 250 ms, all replies in.
5. RSS of the gunicorn master + workers and of the worker process, after the load.

During phases 1-3 no queue worker runs (tasks pile up in the queue; they are flushed
before phase 4), so the web path is measured alone; phase 4 runs web and worker together.

Run from the repository root (about 1.5 minutes with the defaults):

    .venv/bin/python bench/ingest.py
    .venv/bin/python bench/ingest.py --duration 5 --rate 1000
    .venv/bin/python bench/ingest.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/sapa_bench

The load generator is the single-threaded epoll client in bench/_load.py (pre-signed
bodies, keep-alive). Results: printed table + bench/results/ingest.json. Exit status is
non-zero only when the benchmark itself fails, never for a missed target.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import http.client
import json
import os
import platform
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bot import gunicorn_conf  # noqa: E402  (the bare app runs with the product's gunicorn settings)
from bot.cli.processes import POLL_BACKOFF  # noqa: E402
from _load import percentile, run_load  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "ingest.json"
SECRET = "bench-line-channel-secret"
ACCESS_TOKEN = "bench-line-access-token"
DESTINATION = "Ubench0000000000000000000000000000"
USERS = [f"U{i:032x}" for i in range(1, 101)]     # 100 customers
# What customers write: each gets a real answer (order, FAQ, promotions, greeting).
TEXTS = ["halo kak", "mau lihat menunya dong", "mau pesan kopi susu 2", "jam buka?", "terima kasih", "ada promo?"]

TARGET_RATIO = 0.5
TARGET_ACK_P99_MS = 50.0
TARGET_REPLY_P50_MS = 50.0
TARGET_REPLY_P99_MS = 250.0

HELLO_APP = textwrap.dedent('''\
    from flask import Flask

    app = Flask(__name__)


    @app.post("/hello")
    def hello():
        return "ok"
''')


# --- output -------------------------------------------------------------------------

_TTY = sys.stderr.isatty()


def say(message: str) -> None:
    if _TTY:
        sys.stderr.write("\r\033[K")
    print(message, file=sys.stderr, flush=True)


def progress_line(message: str) -> None:
    if _TTY:
        sys.stderr.write("\r\033[K" + message)
        sys.stderr.flush()


def phase_progress(name: str, total_hint: int | None = None):
    last = [0.0]

    def report(seconds_left: float, completed: int) -> None:
        text = f"  [{name}] {seconds_left:4.0f} s left, {completed} responses"
        if _TTY:
            progress_line(text)
        elif time.monotonic() - last[0] >= 5:
            last[0] = time.monotonic()
            print(text, file=sys.stderr, flush=True)
    return report


# --- processes ----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Proc:
    """A child process in its own session (process group), logging to a file."""

    def __init__(self, name: str, argv: list[str], env: dict, cwd: Path, log_dir: Path) -> None:
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self.log = open(self.log_path, "ab")
        self.popen = subprocess.Popen(argv, env=env, cwd=cwd, stdout=self.log, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL, start_new_session=True)
        self.pid = self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> None:
        if self.popen.poll() is None:
            try:
                os.killpg(self.pid, sig)
            except ProcessLookupError:
                pass
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
        # whatever is left in the group (gunicorn workers, consumer threads' children)
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.popen.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        self.log.close()


def children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            text = (task / "children").read_text().split()
            out.extend(int(x) for x in text)
    except OSError:
        pass
    return out


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def cpu_seconds(pids: list[int]) -> float:
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError, ValueError):
            pass
    return total


def machine_seconds() -> tuple[float, float]:
    """CPU seconds since boot (all cores): used on this machine, and stolen by the hypervisor for others."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    steal = fields[7] if len(fields) > 7 else 0
    tick = os.sysconf("SC_CLK_TCK")
    return (sum(fields[:7]) - idle) / tick, steal / tick


class CpuMeter:
    """CPU used by groups of processes between start() and stop(), in % of one core.

    ``other`` is what the rest of the machine used meanwhile (other users' tests...) and
    ``steal`` what the hypervisor took for other virtual machines: either makes every figure
    on a 2-core machine worse, so both are reported.
    """

    def __init__(self, groups: dict[str, callable]) -> None:
        self.groups = groups
        self.totals: dict[str, float] = {}

    def start(self) -> None:
        self.t = time.monotonic()
        self.pids = {name: pids() for name, pids in self.groups.items()}
        self.before = {name: cpu_seconds(p) for name, p in self.pids.items()}
        self.machine, self.steal = machine_seconds()

    def stop(self) -> dict[str, float]:
        dt = time.monotonic() - self.t
        used = {name: cpu_seconds(self.pids[name]) - self.before[name] for name in self.groups}
        out = {name: round(100 * v / dt) for name, v in used.items()}
        busy, steal = machine_seconds()
        out["other"] = max(0, round(100 * (busy - self.machine - sum(used.values())) / dt))
        out["steal"] = round(100 * (steal - self.steal) / dt)
        return out


def background_load(seconds: float = 1.0) -> float:
    """% of one core used on the machine while the benchmark is idle."""
    before, t = machine_seconds()[0], time.monotonic()
    time.sleep(seconds)
    return 100 * (machine_seconds()[0] - before) / (time.monotonic() - t)


def wait_http(port: int, method: str, path: str, proc: Proc, timeout: float = 60.0, body: bytes | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not proc.alive():
            raise RuntimeError(f"{proc.name} exited with code {proc.popen.returncode}:\n{proc.tail()}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request(method, path, body=body)
            status = conn.getresponse().status
            conn.close()
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{proc.name} did not answer {method} {path} within {timeout:.0f} s:\n{proc.tail()}")


# --- payloads -----------------------------------------------------------------------


def sign(body: bytes) -> str:
    return base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()


class Events:
    """Signed single-event LINE webhook requests, every event with its own id and reply token."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.run = f"{int(time.time()) % 100000:05d}"
        self.n = 0
        self.keys: list[str] = []          # event id of request i (global numbering)
        self.tokens: list[str] = []
        self.events: list[dict] = []

    def _request(self, path: str, body: bytes) -> bytes:
        head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nUser-Agent: LineBotWebhook/2.0\r\n"
                f"Content-Type: application/json; charset=utf-8\r\nX-Line-Signature: {sign(body)}\r\n"
                f"Content-Length: {len(body)}\r\n\r\n")
        return head.encode() + body

    def new(self) -> tuple[int, bytes]:
        """A new text message event: (global index, request bytes)."""
        i = self.n
        self.n += 1
        key = f"01BENCH{self.run}{i:014d}"
        token = f"rt{self.run}{i:030d}"
        user = USERS[i % len(USERS)]
        event = {
            "type": "message", "mode": "active", "timestamp": int(time.time() * 1000),
            "source": {"type": "user", "userId": user}, "webhookEventId": key,
            "deliveryContext": {"isRedelivery": False}, "replyToken": token,
            "message": {"id": str(700000000000000 + i), "type": "text", "text": TEXTS[i % len(TEXTS)],
                        "quoteToken": f"q{i:020d}"},
        }
        self.keys.append(key)
        self.tokens.append(token)
        self.events.append(event)
        return i, self._request("/webhooks/line", self.body(event))

    @staticmethod
    def body(event: dict) -> bytes:
        return json.dumps({"destination": DESTINATION, "events": [event]}, separators=(",", ":"),
                          ensure_ascii=False).encode()

    def redelivery(self, i: int) -> bytes:
        event = dict(self.events[i], deliveryContext={"isRedelivery": True})
        return self._request("/webhooks/line", self.body(event))

    def hello(self) -> bytes:
        """Same size and headers as a webhook, to the bare endpoint."""
        event = dict(self.events[0]) if self.events else {"type": "message"}
        return self._request("/hello", self.body(event))


class Batch:
    """A phase's requests: pre-generated (outside the measurement), grown on demand."""

    def __init__(self, events: Events, n: int) -> None:
        self.events = events
        self.index: list[int] = []
        self.data: list[bytes] = []
        self.grow(n)

    def grow(self, n: int) -> None:
        for _ in range(n):
            i, data = self.events.new()
            self.index.append(i)
            self.data.append(data)

    def __call__(self, k: int) -> bytes:
        if k >= len(self.data):
            self.grow(max(1000, k + 1 - len(self.data)))
        return self.data[k]


class Acks:
    """Webhook responses of a phase: which events were acknowledged as stored / duplicate."""

    def __init__(self, batch: Batch | None = None, index: list[int] | None = None) -> None:
        self.batch = batch
        self.fixed = index
        self.stored: set[int] = set()
        self.duplicates: set[int] = set()
        self.other: Counter = Counter()
        self.sent = 0

    def sent_indices(self) -> list[int]:
        return (self.batch.index if self.batch is not None else self.fixed)[:self.sent]

    def __call__(self, k: int, status: int, body: bytes, _t0: float, _t1: float) -> None:
        i = self.batch.index[k] if self.batch is not None else self.fixed[k]
        if status == 200:
            try:
                data = json.loads(body)
                stored, dups = data.get("stored"), data.get("duplicates")
            except ValueError:
                stored = dups = None
            if stored == 1 and dups == 0:
                self.stored.add(i)
                return
            if stored == 0 and dups == 1:
                self.duplicates.add(i)
                return
        self.other[status] += 1


# --- database -----------------------------------------------------------------------


def prepare_database(url: str | None, tmp: Path) -> tuple[str, str]:
    """The database URL to use (created empty) and a printable description."""
    if not url:
        return f"sqlite:///{tmp / 'sapa.db'}", "SQLite (WAL) in the temp dir"
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:" and Path(path).exists():
            raise SystemExit(f"refusing to benchmark against an existing SQLite file: {path}")
        return url, f"SQLite {path}"
    if url.startswith("postgres"):
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        parsed = make_url(url if "+" in url.split("://")[0] else url.replace("postgresql://", "postgresql+psycopg://", 1))
        name = parsed.database or ""
        if "bench" not in name:
            say(f"note: not touching database {name!r}; using a dedicated database 'sapa_bench' on the same server")
            parsed = parsed.set(database="sapa_bench")
            name = "sapa_bench"
        admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        rendered = parsed.render_as_string(hide_password=False)
        return rendered, f"PostgreSQL {parsed.host}:{parsed.port or 5432}/{name} (dropped and recreated)"
    raise SystemExit(f"unsupported --database-url {url!r}")


def drop_database(url: str) -> None:
    if not url.startswith("postgres"):
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
    finally:
        admin.dispose()


class Db:
    """Read-only checks on the product database (SQLAlchemy, so SQLite and PostgreSQL)."""

    def __init__(self, url: str) -> None:
        from sqlalchemy import create_engine

        self.engine = create_engine(url)

    def rows(self, sql: str) -> list[tuple]:
        from sqlalchemy import text

        with self.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql))]

    def close(self) -> None:
        self.engine.dispose()


def queue_tasks(path: Path) -> int:
    conn = sqlite3.connect(path, timeout=10)
    try:
        return conn.execute("SELECT count(*) FROM task WHERE queue = 'sapa'").fetchone()[0]
    finally:
        conn.close()


def queued_events(path: Path) -> Counter:
    """How often each event id is in a queued task (a task carries up to bot.tasks.EVENTS_PER_TASK ids)."""
    from core.queue import huey

    conn = sqlite3.connect(path, timeout=10)
    try:
        blobs = [row[0] for row in conn.execute("SELECT data FROM task WHERE queue = 'sapa'")]
    finally:
        conn.close()
    counts: Counter = Counter()
    for blob in blobs:
        message = huey.serializer.deserialize(bytes(blob))
        ids = message.args[0]
        counts.update(ids if isinstance(ids, list) else [ids])
    return counts


def wait_quiet(db: Db, queue_path: Path, timeout: float = 60.0) -> None:
    """Wait until the web has finished every request it accepted (rows and tasks stop growing)."""
    deadline = time.monotonic() + timeout
    last = None
    stable_since = time.monotonic()
    while time.monotonic() < deadline:
        now = (db.rows("SELECT count(*) FROM webhookevent")[0][0], queue_tasks(queue_path))
        if now != last:
            last, stable_since = now, time.monotonic()
        elif time.monotonic() - stable_since >= 1.0:
            return
        progress_line(f"  waiting for the web to finish its backlog: {now[0]} rows, {now[1]} tasks")
        time.sleep(0.2)
    say("  WARNING: the web was still storing events after 60 s")


def flush_queue(path: Path) -> int:
    conn = sqlite3.connect(path, timeout=10, isolation_level=None)
    try:
        return conn.execute("DELETE FROM task WHERE queue = 'sapa'").rowcount
    finally:
        conn.close()


# --- the benchmark ------------------------------------------------------------------


def ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per load phase (default 10)")
    parser.add_argument("--rate", type=float, default=1000.0, help="fixed ack-latency rate, req/s (default 1000)")
    parser.add_argument("--reply-rate", type=float, default=100.0, help="messages/s for the reply phase (default 100)")
    parser.add_argument("--connections", type=int, default=16, help="closed-loop connections (default 16)")
    parser.add_argument("--rounds", type=int, default=2,
                        help="max-throughput runs alternate hello/webhook in this many rounds (default 2)")
    parser.add_argument("--database-url", default=None,
                        help="product database (default: SQLite WAL in the temp dir); a PostgreSQL URL uses a "
                             "dedicated database whose name contains 'bench' (else 'sapa_bench'), dropped and "
                             "recreated")
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn workers for both apps (default 2)")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (logs, databases)")
    parser.add_argument("--skip-reply", action="store_true", help="skip the worker / reply-latency phase")
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"JSON results (default {RESULTS.relative_to(ROOT)})")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="sapa-bench-ingest-"))
    procs: list[Proc] = []
    fake = None
    db_url = None
    started = time.monotonic()
    try:
        return run(args, tmp, procs, started)
    finally:
        for proc in procs:
            proc.stop()
        if args.keep:
            say(f"temp dir kept: {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def run(args, tmp: Path, procs: list, started: float) -> int:
    from tests.fakes.line_api import FakeLine

    results: dict = {"benchmark": "ingest", "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                     "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                                 "platform": platform.platform()},
                     "settings": {"duration_s": args.duration, "rate": args.rate, "reply_rate": args.reply_rate,
                                  "connections": args.connections, "web_workers": args.web_workers,
                                  "gunicorn": f"{gunicorn_conf.worker_class}, {gunicorn_conf.threads} threads, "
                                              f"a core per worker"},
                     "phases": {}, "targets": {}}
    db_url, db_label = prepare_database(args.database_url, tmp)
    results["database"] = db_label
    queue_path = tmp / "queue.db"
    fake = FakeLine(access_token=ACCESS_TOKEN).start()
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SAPA_")}
        env.update({
            "SAPA_ENV": "development", "SAPA_DATABASE_URL": db_url, "SAPA_QUEUE_URL": f"sqlite:///{queue_path}",
            "SAPA_LINE__CHANNEL_SECRET": SECRET, "SAPA_LINE__ACCESS_TOKEN": ACCESS_TOKEN,
            "SAPA_LINE__API_BASE": fake.url, "SAPA_NLU__MODEL_PATH": str(tmp / "nlu" / "model.joblib"),
            "SAPA_SECRET_KEY": "bench-secret-key-0123456789", "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")])),
        })
        from core.settings import Settings  # noqa: F401  (fail early on a broken install)

        say(f"Sapa ingest benchmark — {os.cpu_count()} CPUs, {db_label}, temp dir {tmp}")
        idle_load = background_load(1.0)
        results["machine"]["background_cpu_percent"] = round(idle_load)
        if idle_load > 25:
            say(f"WARNING: the machine is busy before the benchmark starts ({idle_load:.0f}% of a core used by "
                f"other processes); results will be pessimistic")
        say("setup: creating the schema and the demo shop (catalog, FAQ, stores, promotions)")
        for command in (["db", "upgrade"], ["demo"]):
            subprocess.run([sys.executable, "-m", "bot.cli", *command], env=env, cwd=tmp, check=True,
                           stdout=subprocess.DEVNULL)
        (tmp / "hello.py").write_text(HELLO_APP)
        web_port, hello_port = free_port(), free_port()
        web = Proc("web", [sys.executable, "-m", "bot.cli", "web", "--host", "127.0.0.1", "--port", str(web_port),
                           "--workers", str(args.web_workers)], env, tmp, tmp)
        procs.append(web)
        hello = Proc("hello", [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{hello_port}",
                               "--workers", str(args.web_workers), "-c", f"python:{gunicorn_conf.__name__}", "hello:app"], env, tmp, tmp)
        procs.append(hello)
        say("setup: starting gunicorn (sapa web) and the bare Flask app")
        wait_http(web_port, "GET", "/healthz", web)
        wait_http(hello_port, "POST", "/hello", hello, body=b"{}")
        time.sleep(0.5)  # let every gunicorn worker finish booting

        events = Events(web_port)
        group = lambda proc: (lambda: [proc.pid] + children(proc.pid))  # noqa: E731
        meter = CpuMeter({"web": group(web), "hello": group(hello), "bench": lambda: [os.getpid()]})
        web_addr, hello_addr = ("127.0.0.1", web_port), ("127.0.0.1", hello_port)
        all_acks: list[Acks] = []
        hello_request = events.hello()

        def report(name: str, res, cpu: dict, record: bool = True) -> None:
            summary = res.summary()
            summary["cpu_percent"] = cpu
            if record:
                results["phases"][name] = summary
            lat = summary["latency_ms"]
            say(f"  {summary['rate_per_s']:8.1f} req/s  p50 {lat['p50']} ms  p99 {lat['p99']} ms  "
                f"errors {res.errors}  statuses {dict(res.statuses)}  cpu% {cpu}")
            if res.errors or any(s >= 300 for s in res.statuses):
                say(f"  WARNING: {res.errors} errors, statuses {dict(res.statuses)}")
            if cpu.get("other", 0) > 25:
                say(f"  WARNING: other processes used {cpu['other']}% CPU during this phase; figures are pessimistic")
            if cpu.get("steal", 0) > 10:
                say(f"  WARNING: the hypervisor took {cpu['steal']}% CPU for other machines during this phase; "
                    f"figures are pessimistic")

        def phase(name: str, address, request, acks=None, record: bool = True, **kw):
            say(f"phase: {name}")
            meter.start()
            res = run_load(address, request, label=name, duration=kw.pop("duration", args.duration),
                           progress=phase_progress(name), on_response=acks, **kw)
            if acks is not None:
                acks.sent = res.sent
            cpu = meter.stop()
            res.cpu = cpu
            report(name, res, cpu, record)
            return res

        # warm-up: imports, connection pools, SQLite pages (not reported)
        warm = Batch(events, 1000)
        acks = Acks(warm)
        all_acks.append(acks)
        phase("warm-up webhook", web_addr, warm, acks, duration=1.5, connections=args.connections, record=False)
        phase("warm-up hello", hello_addr, lambda k: hello_request, duration=1.5, connections=args.connections,
              record=False)

        # 1. max sustained throughput (closed loop), hello and webhook alternating in rounds so
        #    that a change in background load affects both alike
        rounds = max(1, args.rounds)
        per_round = args.duration / rounds
        parts: dict[str, list] = {"max hello": [], "max webhook": []}
        for r in range(rounds):
            tag = f" ({r + 1}/{rounds})" if rounds > 1 else ""
            parts["max hello"].append(phase("max hello" + tag, hello_addr, lambda k: hello_request,
                                            connections=args.connections, duration=per_round, record=False))
            batch = Batch(events, int(per_round * 3000))
            acks = Acks(batch)
            all_acks.append(acks)
            parts["max webhook"].append(phase("max webhook" + tag, web_addr, batch, acks,
                                              connections=args.connections, duration=per_round, record=False))
        hello_max, web_max = (merge_results(name, parts[name]) for name in ("max hello", "max webhook"))
        if rounds > 1:
            for res in (hello_max, web_max):
                say(f"{res.label} over {rounds} rounds:")
                report(res.label, res, res.cpu)
        else:
            results["phases"]["max hello"] = dict(hello_max.summary(), cpu_percent=hello_max.cpu)
            results["phases"]["max webhook"] = dict(web_max.summary(), cpu_percent=web_max.cpu)
        rss_web_after_max = {"master": rss_mb(web.pid), "workers": [rss_mb(p) for p in children(web.pid)]}

        # 2. ack latency at a fixed rate (open loop)
        n = int(args.rate * args.duration)
        hello_fixed = phase(f"hello @{args.rate:g}/s", hello_addr, lambda k: hello_request, mode="open",
                            rate=args.rate, connections=16, max_connections=64)
        batch = Batch(events, n)
        acks = Acks(batch)
        all_acks.append(acks)
        web_fixed = phase(f"webhook @{args.rate:g}/s", web_addr, batch, acks, mode="open", rate=args.rate,
                          connections=16, max_connections=64)

        # 3. exactly once
        say("check: stored exactly once")
        db = Db(db_url)
        wait_quiet(db, queue_path)
        acked = set().union(*(a.stored for a in all_acks))
        dup_acked = set().union(*(a.duplicates for a in all_acks))
        other = sum((a.other for a in all_acks), Counter())
        stored_rows = db.rows("SELECT id, event_key FROM webhookevent WHERE channel = 'line'")
        bench_keys = [key for _, key in stored_rows]
        stored_counts = Counter(bench_keys)
        dup_rows = sum(1 for c in stored_counts.values() if c > 1)
        acked_keys = {events.keys[i] for i in acked}
        missing = acked_keys - set(stored_counts)
        sent_keys = {events.keys[i] for a in all_acks for i in a.sent_indices()}
        unexpected = set(stored_counts) - sent_keys
        queued = queued_events(queue_path)
        stored_ids = {event_id for event_id, _ in stored_rows}
        queued_twice = sum(1 for c in queued.values() if c > 1)
        stored_not_queued = len(stored_ids - set(queued))
        rows_before = len(bench_keys)
        # redelivery of already stored events (same webhookEventId, isRedelivery: true)
        redeliver = sorted(acked)[: min(len(acked), max(500, int(args.rate)))]
        re_acks = Acks(index=redeliver)
        say(f"phase: redelivery of {len(redeliver)} stored events")
        re_res = run_load(web_addr, lambda k: events.redelivery(redeliver[k]), label="redelivery", duration=len(redeliver) / 500,
                          mode="open", rate=500, count=len(redeliver), on_response=re_acks)
        wait_quiet(db, queue_path)
        rows_after = db.rows("SELECT count(*) FROM webhookevent WHERE channel = 'line'")[0][0]
        queued_after = queued_events(queue_path)
        exactly_once = {
            "events_sent": len(sent_keys), "acked_stored": len(acked), "acked_duplicate": len(dup_acked),
            "other_responses": dict(other), "rows": rows_before, "keys_with_several_rows": dup_rows,
            "acked_but_missing": len(missing), "rows_not_sent_by_bench": len(unexpected),
            "unacked_but_stored": len(set(stored_counts) - acked_keys),
            "queued_events": sum(queued.values()), "events_queued_twice": queued_twice,
            "stored_not_queued": stored_not_queued,
            "redelivered": len(redeliver), "redelivery_acked_duplicate": len(re_acks.duplicates),
            "redelivery_other": dict(re_acks.other) or {}, "redelivery_errors": re_res.errors,
            "rows_after_redelivery": rows_after, "queued_events_after_redelivery": sum(queued_after.values()),
        }
        exactly_once["pass"] = (
            dup_rows == 0 and not missing and not unexpected
            and set(queued) == stored_ids and not queued_twice
            and rows_after == rows_before and queued_after == queued
            and len(re_acks.duplicates) == len(redeliver) and not other
        )
        results["exactly_once"] = exactly_once
        say(f"  {rows_before} rows for {len(acked)} acknowledged events, {dup_rows} duplicate keys, "
            f"{sum(queued.values())} queued events ({queued_twice} twice, {stored_not_queued} stored but not queued); "
            f"redelivery of {len(redeliver)}: rows {rows_after}, queued events {sum(queued_after.values())}"
            f" -> {'PASS' if exactly_once['pass'] else 'FAIL'}")

        rss = {"web_after_ingest": {**rss_web_after_max,
                                    "after_fixed_rate": {"master": rss_mb(web.pid),
                                                         "workers": [rss_mb(p) for p in children(web.pid)]}}}

        # 4. reply latency with the worker
        reply = None
        failed = False
        if not args.skip_reply:
            flushed = flush_queue(queue_path)
            say(f"setup: flushed {flushed} queued tasks; starting sapa worker")
            worker = Proc("worker", [sys.executable, "-m", "bot.cli", "worker"], env, tmp, tmp)
            procs.append(worker)
            meter_w = CpuMeter({"web": group(web), "worker": group(worker), "bench": lambda: [os.getpid()]})
            fake.reset()
            fake.access_token = ACCESS_TOKEN
            try:
                reply = reply_phase(args, events, web_addr, fake, worker, meter_w, db)
            except RuntimeError as exc:
                say(f"ERROR in the reply phase: {exc}")
                results["reply_error"] = str(exc)[:3000]
                failed = True
            else:
                results["phases"].update(reply.pop("phases"))
                results["reply"] = reply
            rss["worker"] = {"process": rss_mb(worker.pid), "children": [rss_mb(p) for p in children(worker.pid)]}
            rss["web_after_reply"] = {"master": rss_mb(web.pid), "workers": [rss_mb(p) for p in children(web.pid)]}
        for key in list(rss):
            entry = rss[key]
            if "workers" in entry:
                entry["total"] = round((entry["master"] or 0) + sum(w or 0 for w in entry["workers"]), 1)
        results["rss_mb"] = rss
        db.close()

        # targets
        ratio = web_max.rate / hello_max.rate if hello_max.rate else 0.0
        fixed = web_fixed.summary()
        results["ratio"] = round(ratio, 3)
        # Each round's own ratio: the spread shows how far one run's figure can be trusted.
        results["ratio_per_round"] = [round(w.rate / h.rate, 3) if h.rate else 0.0
                                      for h, w in zip(parts["max hello"], parts["max webhook"])]
        t = results["targets"]
        t["throughput ratio >= 0.5"] = {"value": round(ratio, 3), "pass": ratio >= TARGET_RATIO}
        p99 = fixed["latency_ms"]["p99"]
        achieved = web_fixed.rate >= 0.97 * args.rate and not web_fixed.errors
        t[f"ack p99 <= 50 ms @ {args.rate:g}/s"] = {"value": p99, "achieved_rate": fixed["rate_per_s"],
                                                    "pass": p99 is not None and p99 <= TARGET_ACK_P99_MS and achieved}
        t["stored exactly once"] = {"value": exactly_once["pass"], "pass": exactly_once["pass"]}
        if reply is None and not args.skip_reply:
            t[f"reply p50 <= 50 ms @ {args.reply_rate:g}/s"] = {"value": "no result (error)", "pass": False}
            t[f"reply p99 <= 250 ms @ {args.reply_rate:g}/s"] = {"value": "no result (error)", "pass": False}
        if reply is not None:
            t[f"reply p50 <= 50 ms @ {args.reply_rate:g}/s"] = {
                "value": reply["latency_ms"]["p50"], "pass": reply["all_arrived"] and
                (reply["latency_ms"]["p50"] or 1e9) <= TARGET_REPLY_P50_MS}
            t[f"reply p99 <= 250 ms @ {args.reply_rate:g}/s"] = {
                "value": reply["latency_ms"]["p99"], "pass": reply["all_arrived"] and
                (reply["latency_ms"]["p99"] or 1e9) <= TARGET_REPLY_P99_MS}
        results["total_seconds"] = round(time.monotonic() - started, 1)
        print_summary(results, hello_max, web_max, hello_fixed, web_fixed)
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(results, indent=2) + "\n")
        say(f"results written to {args.output}")
        for proc in procs:
            if not proc.alive():
                raise RuntimeError(f"{proc.name} died during the benchmark:\n{proc.tail()}")
        if failed:
            say("benchmark incomplete: the reply phase failed (see above); exit status 1")
            return 1
        return 0
    finally:
        fake.stop()
        if db_url and db_url.startswith("postgres") and not args.keep:
            for proc in procs:
                proc.stop()
            try:
                drop_database(db_url)
            except Exception as exc:  # noqa: BLE001
                say(f"could not drop the bench database: {exc}")


def merge_results(label: str, parts: list):
    """One LoadResult from several runs of the same phase (CPU averaged by time)."""
    from _load import LoadResult

    out = LoadResult(label=label, mode=parts[0].mode, target_rate=parts[0].target_rate,
                     duration=sum(p.duration for p in parts), elapsed=sum(p.elapsed for p in parts))
    for p in parts:
        out.sent += p.sent
        out.completed += p.completed
        out.errors += p.errors
        out.statuses.update(p.statuses)
        out.latencies.extend(p.latencies)
        out.max_backlog = max(out.max_backlog, p.max_backlog)
        out.connections_opened += p.connections_opened
    keys = parts[0].cpu.keys()
    out.cpu = {k: round(sum(p.cpu.get(k, 0) * p.elapsed for p in parts) / max(out.elapsed, 1e-9)) for k in keys}
    return out


def _worker_settings() -> str:
    from core.settings import Settings

    queue = Settings().queue
    return (f"queue.workers={queue.workers} ({queue.worker_type}), poll {queue.poll_interval_seconds} s growing "
            f"x{POLL_BACKOFF} to {queue.max_poll_interval_seconds} s (config.yaml)")


def reply_phase(args, events: Events, web_addr, fake, worker: Proc, meter: CpuMeter, db: Db) -> dict:
    """Messages at --reply-rate with the worker running; reply arrival at the fake LINE API."""
    phases: dict = {}

    def wait_replies(tokens: list[str], timeout: float, label: str) -> dict[str, float]:
        wanted = set(tokens)
        deadline = time.monotonic() + timeout
        arrived: dict[str, float] = {}
        seen = 0
        while True:
            with fake.lock:
                reqs = fake.requests[seen:]
                seen = len(fake.requests)
            for rec in reqs:
                if rec.path == "/v2/bot/message/reply" and isinstance(rec.json, dict):
                    tok = rec.json.get("replyToken")
                    if tok in wanted and tok not in arrived:
                        arrived[tok] = rec.time
            if len(arrived) >= len(wanted) or time.monotonic() >= deadline:
                return arrived
            if not worker.alive():
                raise RuntimeError(f"worker exited:\n{worker.tail()}")
            progress_line(f"  [{label}] waiting for replies: {len(arrived)}/{len(wanted)}, "
                          f"{deadline - time.monotonic():.0f} s before giving up")
            time.sleep(0.1)

    # warm-up: every customer once (profile fetch, contact + conversation rows, imports)
    warm = Batch(events, len(USERS))
    say(f"phase: worker warm-up ({len(USERS)} customers, first message each)")
    run_load(web_addr, warm, label="worker warm-up", duration=len(USERS) / 50, mode="open", rate=50,
             count=len(USERS), progress=phase_progress("worker warm-up"))
    got = wait_replies([events.tokens[i] for i in warm.index], 30, "worker warm-up")
    say(f"  {len(got)}/{len(USERS)} warm-up replies arrived")
    if len(got) < len(USERS):
        raise RuntimeError(f"the worker did not answer the warm-up messages ({len(got)}/{len(USERS)}):\n"
                           f"{worker.tail()}")

    with fake.lock:
        fake.requests.clear()
    n = int(args.reply_rate * args.duration)
    batch = Batch(events, n)
    sent_at: dict[int, float] = {}
    acks = Acks(batch)
    name = f"reply @{args.reply_rate:g}/s"
    say(f"phase: {name}")
    meter.start()
    res = run_load(web_addr, batch, label=name, duration=args.duration, mode="open", rate=args.reply_rate,
                   connections=8, on_send=lambda k, t: sent_at.__setitem__(k, t), on_response=acks,
                   progress=phase_progress(name))
    tokens = {events.tokens[batch.index[k]]: k for k in range(len(batch.index[:res.sent]))}
    arrived = wait_replies(list(tokens), 30, name)
    cpu = meter.stop()
    latencies = sorted(arrived[tok] - sent_at[k] for tok, k in tokens.items() if tok in arrived)
    with fake.lock:
        counts = Counter(r.path for r in fake.requests)
        reply_errors = sum(1 for r in fake.requests if r.path == "/v2/bot/message/reply" and r.status != 200)
    summary = res.summary()
    summary["cpu_percent"] = cpu
    phases[name + " (ack)"] = summary
    keys = ",".join(f"'{events.keys[i]}'" for i in batch.index[:res.sent])
    statuses = dict(db.rows(f"SELECT status, count(*) FROM webhookevent WHERE event_key IN ({keys}) GROUP BY status")) \
        if keys else {}
    out = {
        "phases": phases,
        "messages": res.sent, "acked": len(acks.stored), "replies_arrived": len(arrived),
        "all_arrived": len(arrived) == res.sent and res.sent > 0,
        "fake_line_calls": dict(counts), "reply_errors": reply_errors, "event_statuses": statuses,
        "latency_ms": {"p50": ms(percentile(latencies, 50)), "p90": ms(percentile(latencies, 90)),
                       "p99": ms(percentile(latencies, 99)), "max": ms(latencies[-1] if latencies else None),
                       "mean": ms(sum(latencies) / len(latencies) if latencies else None)},
        "cpu_percent": cpu,
        "worker_settings": _worker_settings(),
    }
    lat = out["latency_ms"]
    say(f"  {len(arrived)}/{res.sent} replies, webhook->reply p50 {lat['p50']} ms p99 {lat['p99']} ms "
        f"max {lat['max']} ms; ack p99 {summary['latency_ms']['p99']} ms; cpu% {cpu}")
    return out


def print_summary(results: dict, hello_max, web_max, hello_fixed, web_fixed) -> None:
    ph = results["phases"]
    rows = [("phase", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "errors",
             "cpu% server", "worker", "bench", "other*", "steal*")]
    for name, s in ph.items():
        if name.startswith("warm-up"):
            continue
        lat = s["latency_ms"]
        cpu = s.get("cpu_percent", {})
        server = cpu.get("web", 0) if "webhook" in name or "reply" in name else cpu.get("hello", 0)
        bad = s["errors"] + s.get("unsent", 0) + sum(v for k, v in s["statuses"].items() if not k.startswith("2"))
        rows.append((name, f"{s['rate_per_s']:.0f}", lat["p50"], lat["p90"], lat["p99"], lat["max"], bad,
                     server, cpu.get("worker", "-"), cpu.get("bench", "-"), cpu.get("other", "-"), cpu.get("steal", "-")))
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    lines = ["", "=" * 100, f"Sapa ingest benchmark — {results['database']}, {results['machine']['cpus']} CPUs, "
             f"{results['settings']['web_workers']} gunicorn workers "
             f"({gunicorn_conf.worker_class} x{gunicorn_conf.threads}), {results['total_seconds']} s", "=" * 100]
    for k, r in enumerate(rows):
        lines.append("  ".join(str(v).ljust(widths[i]) if i == 0 else str(v).rjust(widths[i]) for i, v in enumerate(r)))
        if k == 0:
            lines.append("-" * (sum(widths) + 2 * len(widths)))
    lines.append("")
    lines.append(f"throughput ratio webhook/hello: {web_max.rate:.0f} / {hello_max.rate:.0f} = {results['ratio']:.3f}"
                 + (f" (per round: {', '.join(f'{r:.3f}' for r in results['ratio_per_round'])})"
                    if len(results.get("ratio_per_round", ())) > 1 else ""))
    eo = results["exactly_once"]
    lines.append(f"exactly once: {eo['rows']} rows for {eo['acked_stored']} acknowledged events "
                 f"({eo['events_sent']} sent), {eo['keys_with_several_rows']} keys with several rows, "
                 f"{eo['acked_but_missing']} acked but missing, {eo['queued_events']} events queued "
                 f"({eo['events_queued_twice']} twice, {eo['stored_not_queued']} stored but not queued); "
                 f"redelivery of {eo['redelivered']}: {eo['redelivery_acked_duplicate']} answered duplicate, "
                 f"rows {eo['rows_after_redelivery']}, queued events {eo['queued_events_after_redelivery']}")
    if "reply" in results:
        r = results["reply"]
        lat = r["latency_ms"]
        lines.append(f"webhook -> reply at fake LINE @ {results['settings']['reply_rate']:g} msg/s: "
                     f"{r['replies_arrived']}/{r['messages']} replies, p50 {lat['p50']} ms, p90 {lat['p90']} ms, "
                     f"p99 {lat['p99']} ms, max {lat['max']} ms; events {r['event_statuses']}; "
                     f"fake LINE calls {r['fake_line_calls']}")
    rss = results["rss_mb"]
    w = rss["web_after_ingest"]["after_fixed_rate"] if "after_fixed_rate" in rss["web_after_ingest"] else rss["web_after_ingest"]
    lines.append(f"RSS web (after ingest): master {w['master']} MB + workers {w['workers']} MB = "
                 f"{round((w['master'] or 0) + sum(x or 0 for x in w['workers']), 1)} MB")
    if "web_after_reply" in rss:
        w = rss["web_after_reply"]
        lines.append(f"RSS web (after reply phase): {w['total']} MB (master {w['master']}, workers {w['workers']}); "
                     f"worker process: {rss['worker']['process']} MB")
    if "reply_error" in results:
        err_lines = results["reply_error"].splitlines()
        cause = [line for line in err_lines if "Error:" in line or "Error(" in line]
        lines.append("reply phase: ERROR — " + err_lines[0] + (f" last worker error: {cause[-1].strip()}" if cause else ""))
    lines.append("errors = connection errors + non-2xx + open-loop requests never sent (server too slow); cpu% in % "
                 "of one core; other* = the rest of the machine (PostgreSQL server, other users' jobs); steal* = "
                 "CPU the hypervisor gave to other virtual machines")
    lines.append("")
    lines.append("targets:")
    for name, t in results["targets"].items():
        extra = f" (achieved {t['achieved_rate']} req/s)" if "achieved_rate" in t else ""
        lines.append(f"  {'PASS' if t['pass'] else 'FAIL'}  {name}: {t['value']}{extra}")
    lines.append("")
    if _TTY:
        sys.stderr.write("\r\033[K")
        sys.stderr.flush()
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        say("interrupted")
        sys.exit(130)
    except RuntimeError as exc:  # a process failed: its log tail is in the message
        say(f"benchmark failed: {exc}")
        sys.exit(1)
    except Exception as exc:  # noqa: BLE001
        import traceback

        traceback.print_exc()
        say(f"benchmark failed: {exc}")
        sys.exit(1)
