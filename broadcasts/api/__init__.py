"""REST API for broadcasts: segments, campaigns (schedule, pause/resume/cancel, test-send,
A/B winner), results (stats, per variant, time series, CSV), journeys, consent, LINE quota.

The contract (DESIGN.md): ``POST /segments``, ``POST /segments/preview`` → ``{"count"}``,
``POST /campaigns`` → ``{"id", "status"}``, ``GET /campaigns/{id}`` → ``{"id", "status",
"stats": {targeted, sent, failed, blocked, unknown, clicked, replied, orders}}``,
``POST /campaigns/{id}/cancel|pause|resume``. Also here: the public ``/r/<token>``
redirect of tracked campaign links. One module per job: `segments`, `campaigns`, `journeys`
(with consent and quota), `tracking`, `openapi`; `schemas` holds the shapes, `base` the rest.
"""

from __future__ import annotations

from flask import Flask

from broadcasts.api import campaigns, journeys, openapi, segments
from broadcasts.api.base import broadcasts_api
from broadcasts.api.tracking import tracking

# The endpoint modules add their routes to `broadcasts_api` when imported; `register` then serves it.
ENDPOINTS = (segments, campaigns, journeys)


def register(app: Flask) -> None:
    """Serve the broadcasts endpoints under /api/v1 and the public /r/<token> redirect; list them in the OpenAPI document."""
    app.register_blueprint(broadcasts_api)
    # The redirect lives outside /api/v1: it is what customers click.
    app.register_blueprint(tracking)
    openapi.describe()
