"""`sapa run`, `sapa web`, `sapa worker`, `sapa clock`: the processes, alone or all together.

Each command imports what it runs inside itself, not at the top of this module, which
every `sapa` command loads: the queue (Huey) would add 0.18 s CPU to each, the supervisor
and gunicorn 0.19 s, the app, the tasks and the runtime (the pipeline, both SDKs, the
handlers) over 1 s (`sapa --help` took 0.71 s before the split).
"""

from __future__ import annotations

import gc
import logging
import signal
import socket
import sys
import time

import click
from sqlalchemy import inspect

from bot.cli.common import fail, print_demo_login
from core import cli as config
from core.db import get_engine
from core.runtime import get_runtime, set_runtime
from core.settings import Settings


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int, help="web worker processes")
def run(host: str, port: int, workers: int) -> None:
    """Run web + worker + clock together; Ctrl-C stops all three."""
    from bot.supervisor import Child, Supervisor

    settings = config.settings()
    _check_schema(settings)
    exe = [sys.executable, "-m", "bot.cli"]
    commands = {
        "web": exe + ["web", "--host", host, "--port", str(port), "--workers", str(workers)],
        "worker": exe + ["worker"],
        "clock": exe + ["clock"],
    }
    # The worker stops gracefully on SIGINT (finishing its tasks), the others on SIGTERM.
    supervisor = Supervisor([Child(name, command, signal.SIGINT if name == "worker" else signal.SIGTERM)
                             for name, command in commands.items()], echo=lambda line: click.echo(line, err=True))
    supervisor.start()
    url = f"http://{host}:{port}"
    click.echo(f"Sapa is running at {url}  (inbox: {url}/inbox/, simulator: {url}/simulator/, "
               f"API: {url}/api/v1/openapi.json)")
    print_demo_login()
    click.echo(f"Channels on: {', '.join(settings.channels) or 'none'}. Press Ctrl-C to stop.")

    stopping = False

    def stop(*_args) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    exit_code = 0
    while not stopping:
        failure = supervisor.check()
        if failure is not None:
            click.echo(f"{failure}; stopping the others.", err=True)
            exit_code = 1
            break
        time.sleep(0.2)
    click.echo("Stopping…")
    supervisor.stop(timeout=15)
    click.echo("Stopped.")
    sys.exit(exit_code)


def _check_schema(settings: Settings) -> None:
    try:
        tables = inspect(get_engine(settings.database_url)).get_table_names()
    except Exception as exc:  # noqa: BLE001
        fail(f"cannot open the database {settings.database_url}: {exc}")
    if "webhookevent" not in tables:
        fail("the database has no tables yet: run `sapa db upgrade` first (make run does it for you)")


def _port_free(host: str, port: int) -> bool:
    """True when nothing listens on host:port (a bind without SO_REUSEPORT succeeds)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a closed server's TIME_WAIT is fine
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


# An idle worker's wait between looks at the queue grows by this factor up to the max.
POLL_BACKOFF = 1.1


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int)
def web(host: str, port: int, workers: int) -> None:
    """Serve the web app with gunicorn (webhooks, API, simulator)."""
    from gunicorn.app.base import BaseApplication

    from bot import gunicorn_conf

    config.settings()
    # Each worker binds its own SO_REUSEPORT socket (the kernel spreads connections over
    # them), which would let a second server share the port silently: refuse instead.
    if not _port_free(host, port):
        fail(f"{host}:{port} is already in use (another `sapa web` or `sapa run`?): stop it, or pick "
              f"another port with --port")

    class WebApp(BaseApplication):
        def load_config(self) -> None:
            # As gunicorn reads a config module (`-c python:bot.gunicorn_conf`): its settings by name.
            for key, value in vars(gunicorn_conf).items():
                if key in self.cfg.settings:
                    self.cfg.set(key, value)
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)

        def load(self):
            from bot.app import create_app  # in each gunicorn worker

            app = create_app()
            # The SDKs' hundreds of thousands of long-lived objects made every full GC pass
            # cost ~150 ms of some request; frozen, they are no longer scanned.
            gc.freeze()
            return app

    WebApp().run()


@click.command()
@click.option("--workers", type=int, default=None, help="worker threads (default: queue.workers)")
def worker(workers: int | None) -> None:
    """Consume queue tasks (processing events, sending messages)."""
    from bot.runtime import warm_up
    from bot.supervisor import QueueConsumer
    from bot.tasks import huey  # the queue, with every task registered on it
    from core.queue import configure_queue

    settings = config.settings()
    logging_setup(settings)
    configure_queue(settings.queue_url)
    queue = settings.queue
    count = workers or queue.workers
    # Each worker builds its runtime (database pool, platform clients) once Huey has
    # started it (below): pools and event-loop threads do not survive a fork.
    consumer = QueueConsumer(
        huey, workers=count, worker_type=queue.worker_type, periodic=False,
        initial_delay=queue.poll_interval_seconds, backoff=POLL_BACKOFF, max_delay=queue.max_poll_interval_seconds,
    )

    @huey.on_startup()
    def prepare_worker() -> None:
        # In each worker, before its first task: the runtime and the NLU model, then frozen.
        # A full GC pass over their ~350k long-lived objects otherwise stalls every task
        # in that worker for ~200 ms, a few times a minute under load.
        try:
            warm_up(get_runtime())
        except Exception:  # noqa: BLE001 - the first task builds it again and reports the error
            logging.getLogger(__name__).exception("warming up the worker failed")
        gc.freeze()

    click.echo(f"worker: {count} {queue.worker_type} workers on {settings.queue_url}")
    try:
        consumer.run()
    finally:
        runtime = set_runtime(None)
        if runtime is not None:
            runtime.close()


@click.command()
def clock() -> None:
    """Run the scheduler (exactly one per install): sweeps and scheduled jobs."""
    from bot.clock import run_clock  # its jobs queue tasks: bot.tasks

    settings = config.settings()
    logging_setup(settings)
    run_clock(settings)


def logging_setup(settings: Settings) -> None:
    """Log to stderr at the configured level."""
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if logging.getLevelName(settings.log_level.upper()) != logging.DEBUG:
        # APScheduler says INFO at every job run (every 10 s) and Huey at every task (each
        # message); their warnings and errors stay.
        for name in ("apscheduler", "huey"):
            logging.getLogger(name).setLevel(logging.WARNING)
