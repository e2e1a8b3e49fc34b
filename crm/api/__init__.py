"""REST API v1 (/api/v1): JSON over Bearer tokens, described by /api/v1/openapi.json.

`crm.api.base` holds what every endpoint module shares (the `api` blueprint, `ApiError`,
`require_token`, argument readers, the OpenAPI registries); each endpoint module adds its
routes to `api` when imported, so they are all imported here, before `register` runs.
"""

from __future__ import annotations

from flask import Flask

from crm.api import alerts, catalog, contacts, data_rights, faqs, merges, orders, settings
from crm.api.base import api

# imported for their routes, which join `api`
ENDPOINT_MODULES = (alerts, contacts, catalog, data_rights, faqs, merges, orders, settings)


def register(app: Flask) -> None:
    """Serve the API on `app` (other floors' endpoint modules must be imported before: routes join `api` at import)."""
    app.register_blueprint(api)
