"""gunicorn settings of `sapa web`: one core per worker while there are enough cores."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from bot.gunicorn_conf import own_core
from tests.test_end_to_end import free_port, wait_until_up

ROOT = Path(__file__).resolve().parents[2]


def test_each_new_worker_gets_a_core_no_other_worker_is_pinned_to():
    assert own_core([0, 1], set(), age=1) == 0
    assert own_core([0, 1], {0}, age=2) == 1
    assert own_core([0, 1], set(), age=2) == 1  # its sibling has not pinned itself yet
    assert own_core([0, 1], {1}, age=3) == 0  # the replacement of a worker that died
    assert own_core([2, 5, 7], {5}, age=2) == 7  # only the cores this process may use


def worker_pids(master: int) -> list[int]:
    pids = []
    for task in Path(f"/proc/{master}/task").iterdir():
        pids += [int(pid) for pid in (task / "children").read_text().split()]
    return pids


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2,
                    reason="needs Linux and two cores")
def test_sapa_web_pins_its_workers_to_cores_of_their_own(tmp_path):
    env = {**os.environ, "SAPA_ENV": "development", "SAPA_DATABASE_URL": f"sqlite:///{tmp_path}/sapa.db",
           "SAPA_QUEUE_URL": f"sqlite:///{tmp_path}/queue.db"}
    subprocess.run([sys.executable, "-m", "bot.cli", "db", "upgrade"], env=env, cwd=ROOT, check=True,
                   capture_output=True, timeout=60)
    port = free_port()
    web = subprocess.Popen([sys.executable, "-m", "bot.cli", "web", "--port", str(port), "--workers", "2"],
                           env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until_up(f"http://127.0.0.1:{port}/healthz", web)
        deadline = time.monotonic() + 10
        while len(masks := [os.sched_getaffinity(pid) for pid in worker_pids(web.pid)]) < 2 \
                and time.monotonic() < deadline:
            time.sleep(0.1)
        assert all(len(mask) == 1 for mask in masks) and len(set().union(*masks)) == 2, masks
        assert len(os.sched_getaffinity(web.pid)) == len(os.sched_getaffinity(0))  # the master is left free
        assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
    finally:
        web.terminate()
        web.wait(timeout=20)
