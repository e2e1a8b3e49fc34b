"""Flask app factory: the composition root of the web process, wiring each surface explicitly.

Surfaces: webhooks, media, the REST API, the inbox, the marketer's screens, the customer
simulator, health.
"""

from __future__ import annotations

import logging

from flask import Flask, jsonify, redirect, request, url_for
from flask.sessions import SecureCookieSessionInterface
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from bot import health, simulator, tasks, webhooks
from bot.edges import BoundedJSONProvider, refuse_nul
from bot.ingest import HandOff
from bot.runtime import build_runtime
import broadcasts.api
import broadcasts.web
from broadcasts import recipient_history
from core.db import get_engine
from core.queue import configure_queue, enqueue_together
from core.runtime import set_builder
from core.settings import Settings, get_settings
import crm.api
import crm.inbox
from crm import media
from crm.ids import IdConverter


class LazySessionInterface(SecureCookieSessionInterface):
    """Signed-cookie sessions that cost nothing on requests without a session cookie (webhooks, API)."""

    def open_session(self, app: Flask, request):
        # No Cookie header at all (every webhook) is decided without parsing one.
        if "HTTP_COOKIE" not in request.environ or app.config["SESSION_COOKIE_NAME"] not in request.cookies:
            return self.session_class()
        return super().open_session(app, request)


def create_app(settings: Settings | None = None) -> Flask:
    """Build the web app for `settings` (the process settings by default)."""
    settings = settings or get_settings()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = Flask(__name__, template_folder="templates", static_folder="static")
    app.session_interface = LazySessionInterface()
    if settings.inbox.trusted_proxies:
        # Behind N proxies the client's address and scheme are in X-Forwarded-For/-Proto.
        hops = settings.inbox.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)
    app.url_map.converters["int"] = IdConverter  # every <int:…> route is a row id: out of range → 404
    app.json = BoundedJSONProvider(app)  # request JSON: nesting bounded, no NUL (else 400)
    app.before_request(refuse_nul)  # NUL in a path, query string or form field: 400
    app.config.update(
        SAPA=settings,
        SECRET_KEY=settings.secret_key,
        # Hard cap for any request; webhooks apply their own smaller limit.
        MAX_CONTENT_LENGTH=max(settings.webhooks.max_body_bytes, 10_000_000),
        JSON_SORT_KEYS=False,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.public_url.startswith("https://"),
    )
    queue = configure_queue(settings.queue_url)
    set_builder(build_runtime)  # tasks run in this process when the queue is in memory
    app.extensions["sapa.engine"] = get_engine(settings.database_url)
    # In-memory queues run tasks at once (tests, the simulator without a worker): no thread.
    app.extensions["sapa.hand_off"] = HandOff(tasks.enqueue_events, enqueue_together, background=not queue.immediate)
    app.extensions["sapa.enqueue_batch"] = tasks.enqueue_batch
    app.extensions["sapa.enqueue_import"] = tasks.import_contacts_task
    # What the floors above crm keep about a contact, forgotten with it (crm.data_rights.erase_contact).
    app.extensions["sapa.erasers"] = (recipient_history.forget_contact,)
    webhooks.register(app)
    media.register(app)
    crm.api.register(app)
    broadcasts.api.register(app)
    crm.inbox.register(app)
    broadcasts.web.register(app)
    if settings.simulator_enabled:
        simulator.register(app)
    health.register(app)
    _register_pages(app)
    return app


def _register_pages(app: Flask) -> None:
    """The start page, the favicon and the error pages (JSON for the API, webhooks and the simulator's API)."""

    @app.get("/")
    def index():
        """The start page: the staff inbox (its login page links to the simulator)."""
        return redirect(url_for("inbox.conversations"))

    @app.get("/favicon.ico")
    def favicon():
        """The icon browsers ask for on every page (a 404 there fills the console)."""
        return app.send_static_file("favicon.ico")

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if request.path.startswith(("/api/", "/webhooks/", "/simulator/api")) or request.is_json:
            # Keep the exception's own headers (a 405's Allow), not its HTML content type.
            headers = [(k, v) for k, v in exc.get_headers() if k.lower() != "content-type"]
            return jsonify(error=exc.description or exc.name), exc.code, headers
        return exc

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        return jsonify(error="internal error; the details are in the server log"), 500
