"""Conversation benchmark: do typed dialogues end right, in how many turns, and how fast are the replies?

1. Outcomes (in-process, the test harness of tests/dialogues): every dialogue of
   tests/dialogues/coffee.yaml (the demo shop) and bakery.yaml (a bakery created through the
   API) is played as typed text; the share that ends with the expected order / ticket /
   answer (goal >= 95 %), and turns per completed order (customer messages, typed only).
2. Latency (the real stack: `sapa web` under gunicorn, `sapa worker`, the fake LINE API in
   this process): --conversations customers (default 50) chat at once for --seconds (default
   60), each waiting for the bot's reply and --think seconds before typing the next message; a
   customer who is done is replaced by a new one, so 50 conversations are always in progress,
   started at different moments. Webhook POST -> arrival of the reply at the fake LINE API
   (same clock): p50 / p99 (goal p99 <= 250 ms). The baseline, in the same run on the same
   processes: the same number of customers sending one-line greetings. The load average after
   each phase is recorded: other work on the machine shows in the tail.

    .venv/bin/python bench/conversation.py                 # both parts, ~4 minutes
    .venv/bin/python bench/conversation.py --skip-latency  # outcomes only
    .venv/bin/python bench/conversation.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/sapa_bench

Results: printed, and bench/results/conversation.json. Exit status is non-zero only when the
benchmark itself fails, never for a missed goal.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _load import percentile  # noqa: E402
from ingest import Proc, free_port, ms, say, sign, wait_http  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "conversation.json"
ACCESS_TOKEN = "bench-line-access-token"
GOAL_SHARE, GOAL_P99_MS = 0.95, 250.0
GREETINGS = ["halo kak", "hai min", "selamat pagi", "hello", "makasih ya", "oke sip"]
# What a typing customer answers when the bot still needs something (outcome is not judged here).
FOLLOW_UPS = ["ambil sendiri aja", "yang di blok m", "qris", "iya bener"]


# --- 1. outcomes ----------------------------------------------------------------------


def outcomes() -> dict:
    """Play every dialogue of both shops in-process; the share right and turns per order."""
    import pytest

    report = Path(tempfile.mkdtemp(prefix="sapa-dialogues-")) / "played.jsonl"
    os.environ["SAPA_DIALOGUE_REPORT"] = str(report)  # the suite writes a line per dialogue played
    code = pytest.main(["-q", "-p", "no:cacheprovider", "-o", "addopts=", str(ROOT / "tests" / "dialogues")])
    if code not in (0, 1) or not report.exists():
        raise RuntimeError(f"the dialogue suite did not run (pytest exit {code})")
    played = [json.loads(line) for line in report.read_text().splitlines()]
    result = {}
    for group in ("written", "fresh"):
        for shop in ("coffee", "bakery"):
            rows = [row for row in played if row["shop"] == shop and row["set"] == group]
            right = [row for row in rows if row["ok"]]
            orders = [row for row in right if row["kind"] == "order"]
            result[f"{group} {shop}"] = {
                "dialogues": len(rows), "right": len(right),
                "share": round(len(right) / len(rows), 4) if rows else None,
                "turns_per_completed_order": round(statistics.mean(r["turns"] for r in orders), 2) if orders else None,
                "wrong": [f"{row['id']}: {row['problems']}" for row in rows if not row["ok"]],
            }
        rows = [row for row in played if row["set"] == group]
        result[f"{group} all"] = {"dialogues": len(rows), "right": sum(row["ok"] for row in rows),
                                  "share": round(sum(row["ok"] for row in rows) / len(rows), 4) if rows else None}
    return result


# --- 2. latency -----------------------------------------------------------------------


class Replies:
    """Arrival times of replies at the fake LINE API, by reply token (one watcher thread)."""

    def __init__(self, fake) -> None:
        self.fake, self.arrived, self.cond = fake, {}, threading.Condition()
        self.stop = False
        threading.Thread(target=self._watch, daemon=True).start()

    def _watch(self) -> None:
        seen = 0
        while not self.stop:
            with self.fake.lock:
                new = self.fake.requests[seen:]
                seen = len(self.fake.requests)
            if new:
                with self.cond:
                    for rec in new:
                        if rec.path == "/v2/bot/message/reply" and isinstance(rec.json, dict):
                            self.arrived.setdefault(rec.json.get("replyToken"), rec.time)
                    self.cond.notify_all()
            time.sleep(0.002)

    def wait(self, token: str, timeout: float) -> float | None:
        deadline = time.monotonic() + timeout
        with self.cond:
            while token not in self.arrived:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(left)
            return self.arrived[token]


def _event(user: str, text: str) -> tuple[bytes, str]:
    token = uuid.uuid4().hex
    event = {"type": "message", "mode": "active", "timestamp": int(time.time() * 1000),
             "source": {"type": "user", "userId": user}, "webhookEventId": uuid.uuid4().hex.upper()[:26],
             "deliveryContext": {"isRedelivery": False}, "replyToken": token,
             "message": {"id": str(random.randrange(10**14, 10**15)), "type": "text", "text": text,
                         "quoteToken": uuid.uuid4().hex}}
    return json.dumps({"destination": "Ubench", "events": [event]}).encode(), token


def _post(connection: http.client.HTTPConnection, body: bytes) -> None:
    connection.request("POST", "/webhooks/line", body=body,
                       headers={"Content-Type": "application/json", "X-Line-Signature": sign(body)})
    connection.getresponse().read()


def _customer(port: int, replies: Replies, scripts, think: float, until: float, out: list, errors: list) -> None:
    """One customer after another at one place in the queue: each plays a script as a new user, till `until`."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    time.sleep(random.uniform(0, think))  # customers start at different moments, as they do
    while True:
        user = "U" + uuid.uuid4().hex
        for text in scripts():
            body, token = _event(user, text)
            sent = time.monotonic()
            try:
                _post(connection, body)
            except OSError:
                # The server closed the idle keep-alive connection while the customer was typing:
                # send again on a new one, as LINE does.
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                sent = time.monotonic()
                try:
                    _post(connection, body)
                except OSError as exc:
                    errors.append(str(exc))
                    continue
            arrived = replies.wait(token, 10)
            if arrived is None:
                errors.append(f"no reply to {text!r}")
            else:
                out.append((arrived - sent, text, sent))
            time.sleep(random.uniform(0.5, 1.5) * think)
        if time.monotonic() >= until:
            return


def _phase(port: int, replies: Replies, scripts, n: int, think: float, seconds: float, label: str) -> dict:
    """`n` customers chatting at once for `seconds` (each finishes the script it is in), new ones replacing them."""
    latencies, errors, threads = [], [], []
    started = time.monotonic()
    for _ in range(n):
        thread = threading.Thread(target=_customer,
                                  args=(port, replies, scripts, think, started + seconds, latencies, errors))
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    timed = sorted(latencies)
    latencies = [seconds for seconds, *_ in timed]
    result = {"messages": len(latencies), "errors": len(errors), "error_list": errors[:20],
              # When and what: a stall shows as slow replies bunched at one moment, load as spread ones.
              "slowest": [[ms(seconds), text, round(sent - started, 1)] for seconds, text, sent in timed[::-1][:30]],
              "seconds": round(elapsed, 1), "rate_per_s": round(len(latencies) / elapsed, 1),
              "load_average_after": os.getloadavg()[0],
              "latency_ms": {"p50": ms(percentile(latencies, 50)), "p90": ms(percentile(latencies, 90)),
                             "p99": ms(percentile(latencies, 99)), "max": ms(latencies[-1] if latencies else None)}}
    lat = result["latency_ms"]
    say(f"  {label}: {result['messages']} replies in {elapsed:.0f} s ({result['rate_per_s']}/s), "
        f"p50 {lat['p50']} ms, p90 {lat['p90']} ms, p99 {lat['p99']} ms, max {lat['max']} ms, errors {len(errors)}")
    return result


def latency(args, tmp: Path) -> dict:
    """Start web + worker on a demo shop; time replies to greetings (baseline) and typed conversations."""
    from tests.dialogues.harness import load
    from tests.fakes.line_api import FakeLine

    db_url = args.database_url or f"sqlite:///{tmp}/sapa.db"
    fake = FakeLine(access_token=ACCESS_TOKEN).start()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAPA_")}
    env.update({"SAPA_ENV": "development", "SAPA_DATABASE_URL": db_url, "SAPA_QUEUE_URL": f"sqlite:///{tmp}/queue.db",
                "SAPA_LINE__CHANNEL_SECRET": "bench-line-channel-secret", "SAPA_LINE__ACCESS_TOKEN": ACCESS_TOKEN,
                "SAPA_LINE__API_BASE": fake.url, "SAPA_NLU__MODEL_PATH": str(tmp / "nlu" / "model.joblib"),
                "SAPA_SECRET_KEY": "bench-secret-key-0123456789", "PYTHONUNBUFFERED": "1",
                "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")]))})
    for command in (["db", "upgrade"], ["demo"]):
        subprocess.run([sys.executable, "-m", "bot.cli", *command], env=env, cwd=tmp, check=True,
                       stdout=subprocess.DEVNULL)
    port = free_port()
    procs = [Proc("web", [sys.executable, "-m", "bot.cli", "web", "--host", "127.0.0.1", "--port", str(port)],
                  env, tmp, tmp),
             Proc("worker", [sys.executable, "-m", "bot.cli", "worker"], env, tmp, tmp)]
    replies = Replies(fake)
    try:
        wait_http(port, "GET", "/healthz", procs[0])
        n = args.conversations
        dialogues = [d for d in load("coffee") if "order" in (d.get("expect") or {})]
        say(f"phase: warm-up ({n} customers, one greeting each)")
        _phase(port, replies, lambda: [random.choice(GREETINGS)], n, 0.1, 0, "warm-up")
        say(f"phase: baseline — {n} customers at once for {args.seconds:.0f} s, greetings only")
        baseline = _phase(port, replies, lambda: random.sample(GREETINGS, 4), n, args.think, args.seconds,
                          "baseline")
        say(f"phase: {n} typed order conversations at once for {args.seconds:.0f} s")
        typed = _phase(port, replies, lambda: [str(t) for t in random.choice(dialogues)["turns"]] + FOLLOW_UPS,
                       n, args.think, args.seconds, "conversations")
        return {"conversations": n, "think_seconds": args.think, "seconds": args.seconds, "database": db_url.split(":", 1)[0],
                "baseline_greetings": baseline, "typed_conversations": typed}
    finally:
        replies.stop = True
        for proc in procs:
            proc.stop()
            if args.keep_logs:
                Path(args.keep_logs).mkdir(parents=True, exist_ok=True)
                (Path(args.keep_logs) / proc.log_path.name).write_bytes(proc.log_path.read_bytes())
        fake.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0,
                        help="how long each phase keeps --conversations customers chatting")
    parser.add_argument("--think", type=float, default=1.0, help="seconds a customer takes to type the next message")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--skip-outcomes", action="store_true")
    parser.add_argument("--keep-logs", metavar="DIR", help="copy the web and worker logs here")
    args = parser.parse_args()
    results: dict = {"benchmark": "conversation", "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                     "cpus": os.cpu_count()}
    if not args.skip_outcomes:
        say("part 1: outcomes of the typed dialogues (tests/dialogues)")
        results["outcomes"] = outcomes()
        for name, o in results["outcomes"].items():
            if "turns_per_completed_order" in o:
                say(f"  {name}: {o['right']}/{o['dialogues']} right ({o['share']:.1%}), "
                    f"{o['turns_per_completed_order']} turns per completed order")
        for group in ("written", "fresh"):
            say(f"  {group}, both shops: {results['outcomes'][group + ' all']['share']:.1%} (goal >= {GOAL_SHARE:.0%})")
    if not args.skip_latency:
        say("part 2: webhook -> reply latency on the real stack")
        with tempfile.TemporaryDirectory(prefix="sapa-conv-") as tmp:
            results["latency"] = latency(args, Path(tmp))
        p99 = results["latency"]["typed_conversations"]["latency_ms"]["p99"]
        say(f"  typed conversations p99 {p99} ms (goal <= {GOAL_P99_MS:.0f} ms); baseline greetings p99 "
            f"{results['latency']['baseline_greetings']['latency_ms']['p99']} ms")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False))
    say(f"results: {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
