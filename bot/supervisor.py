"""Process supervision: children that die with their parent, and `sapa run`'s restarts."""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from huey.consumer import Consumer, ProcessEnvironment, Worker

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1  # linux/prctl.h
# Loaded before any fork: a child between fork and exec should not have to open libc.
_libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True) if sys.platform.startswith("linux") else None


def die_with_parent(parent_pid: int) -> None:
    """Have Linux send SIGKILL to this process when `parent_pid` (its parent) exits, even by SIGKILL.

    A parent that stops normally stops its children itself, so this only fires after a crash
    or a kill, where SIGKILL is the right answer: every level is crash-safe (a stored event
    is processed again), and a graceful stop could outlast the parent's restart. The kernel
    sends it when the parent's forking thread ends, so call it from a process's main thread,
    forked by the parent's main thread. A no-op outside Linux.
    """
    if _libc is None:
        return
    if _libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent_pid:  # the parent died before the prctl: nobody will tell us
        os.kill(os.getpid(), signal.SIGKILL)


# A child that exits within this many seconds of starting failed fast; after this many fast
# failures in a row `sapa run` gives up. Restarts wait 1, 2, 4 … up to RESTART_MAX seconds.
FAST_FAILURE_SECONDS = 30.0
GIVE_UP_AFTER = 5
RESTART_FIRST = 1.0
RESTART_MAX = 30.0


@dataclass
class Child:
    """One supervised command: its process, and how often it failed fast in a row."""

    name: str
    command: list[str]
    stop_signal: int = signal.SIGTERM
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    fast_failures: int = 0
    restart_at: float | None = None


@dataclass
class Supervisor:
    """Starts the children, restarts one that exits with a backoff, gives up after repeated fast failures."""

    children: list[Child]
    echo: Callable[[str], None]
    fast_failure_seconds: float = FAST_FAILURE_SECONDS
    give_up_after: int = GIVE_UP_AFTER
    restart_first: float = RESTART_FIRST
    restart_max: float = RESTART_MAX
    clock: Callable[[], float] = time.monotonic
    popen_options: dict = field(default_factory=dict)

    def start(self) -> None:
        """Start every child."""
        for child in self.children:
            self._spawn(child)

    def _spawn(self, child: Child) -> None:
        parent = os.getpid()
        # Its own session: a Ctrl-C in the terminal reaches only `sapa run`, which stops the
        # children in order. PDEATHSIG: a `sapa run` killed outright takes its children along.
        child.process = subprocess.Popen(child.command, start_new_session=True,
                                         preexec_fn=lambda: die_with_parent(parent), **self.popen_options)
        child.started_at, child.restart_at = self.clock(), None

    def check(self) -> str | None:
        """Restart children that exited or are due; a message when one keeps failing (then give up)."""
        now = self.clock()
        for child in self.children:
            if child.restart_at is not None:
                if now >= child.restart_at:
                    self.echo(f"restarting {child.name}")
                    self._spawn(child)
                continue
            code = child.process.poll()
            if code is None:
                continue
            ran = now - child.started_at
            child.fast_failures = child.fast_failures + 1 if ran < self.fast_failure_seconds else 1
            if child.fast_failures >= self.give_up_after:
                return (f"{child.name} exited with code {code} {child.fast_failures} times in a row, each within "
                        f"{self.fast_failure_seconds:g} s of starting; giving up (see its errors above)")
            delay = min(self.restart_first * 2 ** (child.fast_failures - 1), self.restart_max)
            self.echo(f"{child.name} exited unexpectedly with code {code} after {ran:.0f} s; restarting in "
                      f"{delay:g} s ({child.fast_failures} of {self.give_up_after} fast failures before giving up)")
            child.restart_at = now + delay
        return None

    def stop(self, timeout: float = 15) -> None:
        """Ask every running child to stop; kill those still running after `timeout` seconds."""
        running = [child for child in self.children if child.process is not None and child.process.poll() is None]
        for child in running:
            child.process.send_signal(child.stop_signal)
        deadline = self.clock() + timeout
        for child in running:
            try:
                child.process.wait(timeout=max(0.1, deadline - self.clock()))
            except subprocess.TimeoutExpired:
                child.process.kill()
                child.process.wait()


class _MortalProcessEnvironment(ProcessEnvironment):
    """Huey's process environment whose processes (workers and scheduler) die with the consumer."""

    consumer_pid = 0

    def init_child(self, process) -> None:
        super().init_child(process)
        die_with_parent(self.consumer_pid)


# While the queue (Redis) is unreachable a worker looks again this often: Huey's own poll
# interval (10-50 ms) logged a traceback at every look, ~40 a second.
QUEUE_DOWN_RETRY_SECONDS = 1.0


class PatientWorker(Worker):
    """Huey's worker; an unreachable queue is one warning when it goes and one when it comes back."""

    queue_down = False

    def loop(self, now=None):
        try:
            task = self.huey.dequeue()
        except Exception as exc:  # noqa: BLE001 - Huey's worker also survives any storage error
            if not self.queue_down:
                log.warning("the queue is unreachable (%s); trying again every %g s", exc, QUEUE_DOWN_RETRY_SECONDS)
                self.queue_down = True
            self.stop_flag.wait(QUEUE_DOWN_RETRY_SECONDS)
            return
        if self.queue_down:
            log.warning("the queue is reachable again")
            self.queue_down = False
        if task is None:
            if not self.huey.storage.blocking:
                self.sleep()
            return
        self.delay = self.default_delay
        try:
            self.huey.execute(task, now)
        except Exception:  # noqa: BLE001 - as Huey's worker: logged, the worker goes on
            self._logger.exception("Unhandled error during execution of task %s.", task.id)


class QueueConsumer(Consumer):
    """Huey's consumer: its worker processes die with it; its workers wait patiently for an unreachable queue."""

    worker_class = PatientWorker

    def get_environment(self, worker_type):
        if worker_type != "process":
            return super().get_environment(worker_type)
        environment = _MortalProcessEnvironment(self._graceful_sig, self._interrupt_sig)
        environment.consumer_pid = os.getpid()
        return environment
