"""gunicorn settings of `sapa web` (a gunicorn config module: `-c python:bot.gunicorn_conf`).

The ingest benchmark runs its bare Flask app with this same module, so both are measured
with the product's settings.
"""

from __future__ import annotations

import os

from gunicorn.glogging import Logger

from bot.supervisor import die_with_parent

worker_class = "gthread"
# Threads per worker: each open inbox tab may hold one for its live stream (SSE, at most
# inbox.live_streams_per_worker of them); the others answer webhooks and the API.
threads = 16
accesslog = None
graceful_timeout = 10
# One listening socket per worker: the kernel spreads the connections over the workers
# (a shared socket let one worker take every keep-alive connection).
reuse_port = True
# gunicorn's control socket has one default path per machine, shared by every instance
# (tests, a second shop); nothing of Sapa uses it.
control_socket_disable = True


class AddressLogger(Logger):
    """gunicorn's logger, saying where it listens when each worker binds its own socket.

    With reuse_port the master binds nothing, so its "Listening at:" line had no address.
    """

    def info(self, msg, *args, **kwargs) -> None:
        if msg.startswith("Listening at:") and args and not args[0]:
            args = (",".join(f"http://{address}" for address in self.cfg.bind), *args[1:])
        super().info(msg, *args, **kwargs)


logger_class = AddressLogger


def post_fork(server, worker) -> None:
    """Pin the new worker to a core of its own, while there is one core per worker.

    A worker's threads take turns holding the GIL, so it never uses more than one core;
    kept on one, its hand-overs between threads stay on that core's caches instead of
    waking threads on the other. Measured with bench/ingest.py on 2 cores: webhooks
    +40 % req/s, -20 % CPU at 1,000/s.
    """
    die_with_parent(server.pid)  # a killed master takes its workers along (they hold the port)
    try:
        cpus = sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return
    if server.num_workers > len(cpus) or len(cpus) < 2:
        return  # sharing cores anyway: the scheduler places them best
    taken: set[int] = set()
    for pid in list(server.WORKERS):
        try:
            mask = os.sched_getaffinity(pid)
        except OSError:  # exited meanwhile
            continue
        if len(mask) == 1:
            taken |= mask
    cpu = own_core(cpus, taken, worker.age)
    os.sched_setaffinity(0, {cpu})
    server.log.debug("worker %s pinned to CPU %s", os.getpid(), cpu)


def own_core(cpus: list[int], taken: set[int], age: int) -> int:
    """The core for a new worker: one no other worker is pinned to (spread by spawn order)."""
    free = [cpu for cpu in cpus if cpu not in taken] or cpus
    # A sibling forked just before may not have pinned itself yet: its age is one less,
    # so counting by age keeps the two apart.
    return free[(age - 1) % len(free)]
