"""`sapa run` supervises web, worker and clock; children die with their parent at every level."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from bench.drills import Checks, alive, descendants, kill_drill, prepare, wait_gone
from bot.supervisor import Child, Supervisor

FAILING = [sys.executable, "-c", "import sys; sys.exit(3)"]


def supervise_until_given_up(supervisor: Supervisor, timeout: float = 20) -> str:
    """Run the supervisor's checks until it gives up; its message."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        failure = supervisor.check()
        if failure is not None:
            return failure
        time.sleep(0.02)
    raise AssertionError("the supervisor never gave up")


def test_a_child_that_exits_is_restarted_with_a_growing_backoff_then_given_up_on():
    lines: list[str] = []
    supervisor = Supervisor([Child("clock", FAILING)], echo=lines.append, restart_first=0.1, give_up_after=3)
    supervisor.start()
    started = time.monotonic()
    message = supervise_until_given_up(supervisor)
    assert time.monotonic() - started >= 0.3  # waited 0.1 s, then 0.2 s
    assert lines[0].startswith("clock exited unexpectedly with code 3 after 0 s; restarting in 0.1 s "
                               "(1 of 3 fast failures before giving up)")
    assert lines[1] == "restarting clock"
    assert lines[2].startswith("clock exited unexpectedly with code 3 after 0 s; restarting in 0.2 s (2 of 3")
    assert message == ("clock exited with code 3 3 times in a row, each within 30 s of starting; giving up "
                       "(see its errors above)")


def test_a_child_that_ran_a_while_before_exiting_starts_its_count_again():
    now = [0.0]
    lines: list[str] = []
    supervisor = Supervisor([Child("worker", FAILING)], echo=lines.append, clock=lambda: now[0],
                            give_up_after=2, restart_first=1)
    supervisor.start()
    for _ in range(4):  # each run lasts a minute: never two fast failures in a row
        supervisor.children[0].process.wait()
        now[0] += 60
        assert supervisor.check() is None
        now[0] += 1
        assert supervisor.check() is None  # restarted
    assert lines.count("restarting worker") == 4
    assert all("restarting in 1 s (1 of 2" in line for line in lines if "exited" in line)


def test_stop_ends_children_that_ignore_their_stop_signal():
    stubborn = [sys.executable, "-c", "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                                      "print('ready', flush=True); time.sleep(60)"]
    supervisor = Supervisor([Child("web", stubborn)], echo=print, popen_options={"stdout": subprocess.PIPE})
    supervisor.start()
    process = supervisor.children[0].process
    assert process.stdout.readline().strip() == b"ready"
    started = time.monotonic()
    supervisor.stop(timeout=0.5)
    assert process.returncode == -signal.SIGKILL and time.monotonic() - started < 5


@pytest.fixture
def sapa_run(tmp_path, fake_line, nlu_model_path):
    """A real `sapa run` (SQLite, SQLite queue, fake LINE), stopped afterwards."""
    sapa = prepare("test", tmp_path, f"sqlite:///{tmp_path}/sapa.db", f"sqlite:///{tmp_path}/queue.db", fake_line,
                   nlu_model_path, {})
    sapa.start()
    yield sapa
    sapa.stop()


def command_line(pid: int) -> str:
    """The command line of process `pid` ("" once it exited)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def child_named(sapa, name: str) -> int | None:
    """The pid of `sapa run`'s child running `sapa <name>` (None while there is none)."""
    kids = Path(f"/proc/{sapa.process.pid}/task/{sapa.process.pid}/children").read_text().split()
    return next((int(pid) for pid in kids if f"bot.cli {name}" in command_line(int(pid))), None)


def running_below(sapa, name: str) -> int:
    """How many processes run below `sapa run`'s child `name`."""
    pid = child_named(sapa, name)
    return len(alive(descendants(pid))) if pid else 0


@pytest.mark.slow
def test_sigkill_of_sapa_run_leaves_no_process_and_a_new_one_starts_on_the_same_port(sapa_run):
    checks = Checks("test")
    kill_drill(checks, sapa_run)
    assert not checks.failures, sapa_run.tail()


@pytest.mark.slow
@pytest.mark.parametrize(("name", "processes"), [("worker", 3), ("web", 2)])  # Huey's 2 workers + scheduler; gunicorn's 2
def test_a_killed_child_takes_its_processes_along_and_is_restarted_and_the_log_is_quiet(sapa_run, name, processes):
    child = child_named(sapa_run, name)
    below = descendants(child)
    assert len(below) == processes
    os.kill(child, signal.SIGKILL)
    took, left = wait_gone(below, timeout=10)
    for orphan in left:  # not to leave them behind when this fails
        os.kill(orphan, signal.SIGKILL)
    assert not left and took <= 5
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline and running_below(sapa_run, name) < processes:
        time.sleep(0.2)
    log = sapa_run.log_text()
    assert f"{name} exited unexpectedly with code -9" in log and f"restarting {name}" in log
    assert child_named(sapa_run, name) not in (None, child) and running_below(sapa_run, name) == processes
    assert requests.get(f"{sapa_run.base}/healthz", timeout=5).status_code == 200

    # Quiet by default: APScheduler said INFO at every run of every job (broadcasts-sync runs at start).
    assert f"Listening at: http://127.0.0.1:{sapa_run.port} (" in log
    assert "apscheduler" not in log, log
    assert "INFO huey" not in log, log  # Huey said INFO at start and at every task


def test_a_worker_says_once_that_the_queue_is_unreachable_and_once_that_it_is_back(tmp_path, monkeypatch, caplog):
    import threading

    from huey import RedisHuey

    from bench.drills import PrivateRedis
    from bot import supervisor

    monkeypatch.setattr(supervisor, "QUEUE_DOWN_RETRY_SECONDS", 0.01)
    redis = PrivateRedis(tmp_path)  # not started yet
    worker = supervisor.PatientWorker(huey=RedisHuey("test", url=redis.url), stop_flag=threading.Event(),
                                      default_delay=0.01, max_delay=0.05, backoff=1.1)
    with caplog.at_level(logging.WARNING):
        for _ in range(20):  # Huey's own worker logged a traceback at each of these
            worker.loop()
        redis.start()
        try:
            worker.loop()
        finally:
            redis.stop()
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 2 and lines[0].startswith("the queue is unreachable (") and \
        lines[1] == "the queue is reachable again", lines
