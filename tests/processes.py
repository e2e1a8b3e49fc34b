"""Helpers for tests that run Sapa's commands as real processes."""

from __future__ import annotations

import signal
import subprocess


def interrupt(process: subprocess.Popen, timeout: float = 30) -> str | None:
    """Ctrl-C `process` and wait for it; its output. Killed if still running after `timeout` s (returncode -9)."""
    process.send_signal(signal.SIGINT)
    try:
        return process.communicate(timeout=timeout)[0]
    except subprocess.TimeoutExpired:
        process.kill()
        return process.communicate()[0]
