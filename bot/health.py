"""`GET /healthz`: is the database taking writes and the queue taking tasks."""

from __future__ import annotations

from flask import Blueprint, Flask, current_app, jsonify

from core.db import write_probe
from core.queue import queue_problem

health = Blueprint("health", __name__)


@health.get("/healthz")
def healthz():
    """200 when the database takes a write and the queue a task (each probed for at most 1 s), else 503."""
    # Bounded probes, cheap enough for a load balancer's polling: nothing is written.
    problem = write_probe(current_app.extensions["sapa.engine"], timeout=1.0) or queue_problem(timeout=0.5)
    if problem is None:
        return jsonify(status="ok")
    return jsonify(status="unavailable", reason=problem), 503


def register(app: Flask) -> None:
    """Serve /healthz (needs the engine in app.extensions["sapa.engine"])."""
    app.register_blueprint(health)
