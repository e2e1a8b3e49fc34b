"""Staff authentication and authorization for every staff-facing blueprint.

- Sessions: Flask's signed cookie holding the staff id, the login time and the staff
  member's session generation; it expires after `inbox.session_hours` (checked on the
  server too, not only by the cookie's age). Logout, a password change, a role change and
  deactivation bump `StaffUser.session_generation`, which ends every session of theirs on
  its next request. Requests without a session cookie (webhooks, API) never reach the database.
- Failed logins are counted with the `limits` library in the storage named by
  `inbox.rate_limit_storage`: the database by default (shared by every process), or Redis
  (with the database standing in while Redis is down). A browser where a staff member
  logged in before carries a signed device cookie and is limited on its own; other
  browsers are limited per client address (hard) and per email (progressive delays, so
  nobody can lock a staff member out). Behind `inbox.trusted_proxies` proxies the client
  address comes from X-Forwarded-For (werkzeug's ProxyFix, wired in `bot.app`).
- CSRF: Flask-WTF's CSRFProtect checks every state-changing request except the
  token/signature-authenticated surfaces (webhooks, REST API, simulator API), which carry
  no session cookie. Forms put `{{ csrf_token() }}` in a hidden `csrf_token` field; scripts
  send it as `X-CSRFToken` (the `<meta name=csrf-token>` of the base template).
- Roles: `MATRIX` maps each permission to the roles that hold it; `staff_required(*roles)`
  guards a view by role, `permission_required(name)` by permission, and templates call
  `can(name)`.
"""

from __future__ import annotations

import hashlib
import logging
import math
import secrets
import time
from datetime import timedelta
from functools import wraps
from typing import Any, Callable

from flask import abort, current_app, flash, g, jsonify, redirect, request, session, url_for
from flask_wtf.csrf import CSRFProtect
from itsdangerous import BadSignature, URLSafeTimedSerializer
from limits import errors, parse, storage, strategies
from sqlalchemy import case, delete, func, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from core.db import session_scope
from crm.inbox.i18n import t
from crm.models import ROLES, RateLimitCounter, StaffUser
from crm.staff import end_sessions
from crm.web import engine

log = logging.getLogger(__name__)

csrf = CSRFProtect()

# Paths that authenticate with a bearer token or a platform signature, never a session cookie.
CSRF_EXEMPT_PREFIXES = ("/webhooks/", "/api/", "/simulator/", "/healthz")

ALL = frozenset(ROLES)
STAFF = frozenset({"admin", "agent"})
ADMIN = frozenset({"admin"})
MARKETING = frozenset({"admin", "marketer"})

# Permission → roles. Marketers read conversations (to know customers) but do not answer them;
# private notes need `notes.view`, which a marketer gets only when granted (StaffUser.notes_access).
MATRIX: dict[str, frozenset[str]] = {
    "conversations.view": ALL,
    "conversations.reply": STAFF,
    "conversations.manage": STAFF,  # assign, label, snooze, resolve, take over
    "notes.view": STAFF,
    "notes.write": STAFF,
    "contacts.view": ALL,
    "contacts.edit": ALL,
    "contacts.merge": STAFF,  # two contacts that are one person become one (and back)
    "contacts.import": ADMIN,  # contacts files: upload, dry run, import
    "contacts.export": ADMIN,  # every field of every contact, as a file; everything about one contact, as a zip
    "contacts.erase": ADMIN,  # erase a customer's personal data on their request
    "orders.view": STAFF,
    "orders.edit": STAFF,
    "points.adjust": STAFF,  # add or take a customer's points with a reason (at the counter, a correction)
    "counter.use": STAFF,  # the counter page: find a customer by member code, record a purchase, hand over a reward
    "complaints.view": STAFF,
    "complaints.edit": STAFF,
    "agenda.view": STAFF,
    "agenda.edit": STAFF,
    "dashboard.view": ALL,
    "crm_dashboard.view": MARKETING,  # customers, revenue, cohorts, loyalty, campaign funnel
    "canned.manage": ADMIN,
    "users.manage": ADMIN,
    "hours.manage": ADMIN,  # exceptions to the staff and store hours
    "stores.manage": ADMIN,  # stores and the FAQ
    "catalog.manage": ADMIN,  # products, prices, stock, photos; catalog import/export
    "settings.manage": ADMIN,  # the shop settings: name, languages, payment, delivery, bot times, broadcasts
    "promotions.manage": ADMIN,
    "audit.view": ADMIN,
    "webhooks.manage": ADMIN,  # outbound webhooks: endpoints, test-sends, replays
    "segments.manage": MARKETING,
    "campaigns.manage": MARKETING,  # campaigns, results, journeys
    "offers.manage": MARKETING,  # location-based promotions
    "profile.edit": ALL,  # one's own chat accounts (campaign test-sends)
}
GRANTABLE = {"notes.view", "notes.write"}  # what `notes_access` adds for a marketer


def init_app(app) -> None:
    """Attach CSRF protection, session lifetime and the login rate limiter to `app`."""
    settings = app.config["SAPA"]
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)  # checked below, by path
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # the token lives as long as the session
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(hours=settings.inbox.session_hours)
    csrf.init_app(app)
    app.extensions["sapa.login_limiter"] = LoginLimiter(settings.inbox, app.extensions["sapa.engine"])

    @app.before_request
    def _csrf_check():
        if request.method in ("GET", "HEAD", "OPTIONS", "TRACE"):
            return
        if request.path.startswith(CSRF_EXEMPT_PREFIXES):
            return
        csrf.protect()


    @app.after_request
    def _staff_page_headers(response):
        # Defence in depth behind template escaping: no inline script, nothing from other origins.
        if request.path.startswith("/inbox"):
            response.headers.setdefault("Content-Security-Policy", CSP)
            response.headers.setdefault("X-Frame-Options", "DENY")
            response.headers.setdefault("X-Content-Type-Options", "nosniff")
            response.headers.setdefault("Referrer-Policy", "same-origin")
            if response.mimetype == "text/html":
                response.headers.setdefault("Cache-Control", "no-store")  # pages hold customer data
        return response


CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; connect-src 'self'; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


class DatabaseStorage(storage.Storage):
    """A `limits` storage in Sapa's database: counters every process of the app shares."""

    STORAGE_SCHEME = None  # built with the app's engine, not from a URI

    def __init__(self, engine) -> None:
        super().__init__()
        self.engine = engine
        self.table = RateLimitCounter.__table__

    @property
    def base_exceptions(self) -> type[Exception]:
        return SQLAlchemyError

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        """Add `amount` to the counter (a fresh one, expiring after `expiry` seconds, if none is live)."""
        now, c = time.time(), self.table.c
        insert = (pg_insert if self.engine.dialect.name == "postgresql" else sqlite_insert)(self.table)
        expired = c.expires_at <= now
        upsert = insert.values(key=key, count=amount, expires_at=now + expiry).on_conflict_do_update(
            index_elements=[c.key], set_={"count": case((expired, amount), else_=c.count + amount),
                                          "expires_at": case((expired, now + expiry), else_=c.expires_at)})
        with session_scope(self.engine) as db:
            count = db.execute(upsert.returning(c.count)).scalar_one()
        if count == amount:  # a new counter: a good moment to drop the expired ones, in a transaction of its own
            self._purge(now)
        return count

    def _purge(self, now: float) -> None:
        try:
            with session_scope(self.engine) as db:
                db.execute(delete(self.table).where(self.table.c.expires_at <= now))
        except SQLAlchemyError as exc:  # e.g. a deadlock with another purge: the next one tidies up
            log.info("login limits: expired counters stay for now (%s)", exc)

    def _live(self, column, key: str):
        with Session(self.engine) as db:
            return db.execute(select(column).where(self.table.c.key == key,
                                                   self.table.c.expires_at > time.time())).scalar()

    def get(self, key: str) -> int:
        """The counter's value (0 once expired)."""
        return self._live(self.table.c.count, key) or 0

    def get_expiry(self, key: str) -> float:
        """When the counter expires (Unix time; now when there is none)."""
        return self._live(self.table.c.expires_at, key) or time.time()

    def check(self) -> bool:
        """True when the database answers."""
        with Session(self.engine) as db:
            db.execute(text("SELECT 1"))
        return True

    def reset(self) -> int | None:
        """Remove every counter."""
        with session_scope(self.engine) as db:
            count = db.execute(select(func.count()).select_from(self.table)).scalar_one()
            db.execute(delete(self.table))
        return count

    def clear(self, key: str) -> None:
        """Remove one counter."""
        with session_scope(self.engine) as db:
            db.execute(delete(self.table).where(self.table.c.key == key))


EMAIL_FAILURE_WINDOW = 3600  # seconds during which an email's failed logins add up
REDIS_RETRY_SECONDS = 30  # after Redis fails, count in the database this long before trying it again


class LoginLimiter:
    """Counts failed logins and says how long a login attempt must wait (0: go ahead).

    A browser that carries a valid device cookie for the email is limited by its own count
    only. Any other attempt is limited per client address (`login_rate_limit`) and per
    email: after `login_delay_after` failures each further one makes the next attempt wait
    2, 4, 8 ... seconds, up to `login_max_delay_seconds` (OWASP's device cookies and
    progressive delays: an attacker slows a staff member's login down but never locks it).
    """

    def __init__(self, settings, engine) -> None:
        self.rate = parse(settings.login_rate_limit)
        self.delay_after = settings.login_delay_after
        self.max_delay = settings.login_max_delay_seconds
        self.database = DatabaseStorage(engine)
        uri = settings.rate_limit_storage
        if uri == "database":
            self.storage = self.database
        else:
            # Short timeouts: a Redis that does not answer must not hold a login for long.
            options = {"socket_connect_timeout": 1, "socket_timeout": 1} if uri.startswith("redis") else {}
            self.storage = storage.storage_from_string(uri, wrap_exceptions=True, **options)
        self.storage_down_until = 0.0

    def _counting(self, operation: Callable[[storage.Storage], Any]) -> Any:
        """Run `operation` on the configured storage, or on the database while that storage fails."""
        if self.storage is not self.database and time.monotonic() >= self.storage_down_until:
            try:
                return operation(self.storage)
            except errors.StorageError as exc:
                log.warning("login limits: %s is unreachable (%s); counting in the database for %d s",
                            type(self.storage).__name__, exc, REDIS_RETRY_SECONDS)
                self.storage_down_until = time.monotonic() + REDIS_RETRY_SECONDS
        return operation(self.database)

    def _email_key(self, email: str) -> str:
        # Hashed: any input makes a short, plain key, and no email address sits in the counters.
        return "sapa-login/email/" + hashlib.sha256(email.strip().lower().encode()).hexdigest()

    def _delay(self, failures: int) -> int:
        return min(2 ** (failures - self.delay_after + 1), self.max_delay)

    def _trusted(self, store: storage.Storage, device: str | None) -> bool:
        limiter = strategies.FixedWindowRateLimiter(store)
        return device is not None and limiter.test(self.rate, "sapa-login", "device", device)

    def wait_seconds(self, *, ip: str, email: str, device: str | None) -> int:
        """Seconds before this attempt may be checked (0 = check it now)."""
        def wait(store: storage.Storage) -> int:
            if self._trusted(store, device):
                return 0
            limiter = strategies.FixedWindowRateLimiter(store)
            if not limiter.test(self.rate, "sapa-login", "ip", ip or "-"):
                return max(1, math.ceil(limiter.get_window_stats(self.rate, "sapa-login", "ip", ip or "-").reset_time
                                        - time.time()))
            failures = store.get(self._email_key(email))
            hold = f"{self._email_key(email)}/hold/{failures}"
            if failures >= self.delay_after and store.get(hold):
                return max(1, math.ceil(store.get_expiry(hold) - time.time()))
            return 0
        return self._counting(wait)

    def failed(self, *, ip: str, email: str, device: str | None) -> None:
        """Count one failed attempt."""
        def count(store: storage.Storage) -> None:
            limiter = strategies.FixedWindowRateLimiter(store)
            if self._trusted(store, device):
                limiter.hit(self.rate, "sapa-login", "device", device)
                return
            limiter.hit(self.rate, "sapa-login", "ip", ip or "-")
            failures = store.incr(self._email_key(email), EMAIL_FAILURE_WINDOW)
            if failures >= self.delay_after:
                store.incr(f"{self._email_key(email)}/hold/{failures}", self._delay(failures))
        self._counting(count)

    def succeeded(self, *, email: str) -> None:
        """Forget the email's failed attempts (its owner just logged in)."""
        self._counting(lambda store: store.clear(self._email_key(email)))


def client_ip() -> str:
    """The client's address (from X-Forwarded-For when `inbox.trusted_proxies` is set)."""
    return (request.remote_addr or "")[:64]  # a forwarded header may hold anything


DEVICE_COOKIE = "sapa_device"
DEVICE_DAYS = 365
DEVICE_EMAILS = 10  # staff who share one computer each keep their standing on it


def _device_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="sapa-login-device")


def _device() -> dict | None:
    value = request.cookies.get(DEVICE_COOKIE)
    if not value:
        return None
    try:
        device = _device_serializer().loads(value, max_age=DEVICE_DAYS * 86400)
    except BadSignature:
        return None
    return device if isinstance(device, dict) and isinstance(device.get("emails"), list) else None


def known_device(email: str) -> str | None:
    """The id of this browser when `email` logged in from it before (its signed device cookie), else None."""
    device = _device()
    return device["id"] if device and email.strip().lower() in device["emails"] else None


def remember_device(response, email: str):
    """Mark this browser as one `email` logs in from (a signed, long-lived cookie for the login page only)."""
    device = _device() or {"id": secrets.token_urlsafe(16), "emails": []}
    email = email.strip().lower()
    device["emails"] = ([e for e in device["emails"] if e != email] + [email])[-DEVICE_EMAILS:]
    response.set_cookie(DEVICE_COOKIE, _device_serializer().dumps(device), max_age=DEVICE_DAYS * 86400,
                        path=url_for("inbox.login"), httponly=True, samesite="Lax",
                        secure=current_app.config["SESSION_COOKIE_SECURE"])
    return response


def login(user: StaffUser) -> None:
    """Start a fresh session for `user` (a new cookie: no session fixation)."""
    session.clear()
    session.permanent = True
    session["staff_id"] = user.id
    session["auth_at"] = int(time.time())
    session["generation"] = user.session_generation
    g.pop("staff", None)


def logout() -> None:
    """End this session and every other session of the same staff member."""
    user = current_staff()
    if user is not None:
        with session_scope(engine()) as db:
            end_sessions(db.get(StaffUser, user.id))
    session.clear()
    g.pop("staff", None)


def current_staff() -> StaffUser | None:
    """The logged-in staff user of this request, or None (expired, deactivated or anonymous)."""
    if "staff" in g:
        return g.staff
    g.staff = None
    staff_id, auth_at = session.get("staff_id"), session.get("auth_at")
    if staff_id is None or auth_at is None:
        return None
    lifetime = current_app.config["PERMANENT_SESSION_LIFETIME"].total_seconds()
    if time.time() - auth_at > lifetime:
        _end_session("session_expired")
        return None
    with Session(engine(), expire_on_commit=False) as db:
        user = db.get(StaffUser, staff_id)
    if user is None or not user.active or session.get("generation") != user.session_generation:
        # deactivated, or logged out / password or role changed since this login
        _end_session("session_ended", user.language if user is not None else None)
        return None
    g.staff = user
    return user


def _end_session(reason: str, language: str | None = None) -> None:
    """Forget this browser's session, and say why on the login page it is sent to."""
    session.clear()
    flash(t(reason, language), "info")


def can(permission: str, user: StaffUser | None = None) -> bool:
    """True when the staff user (default: the current one) holds `permission`."""
    user = user if user is not None else current_staff()
    if user is None:
        return False
    if user.role in MATRIX[permission]:
        return True
    return permission in GRANTABLE and user.role == "marketer" and user.notes_access


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json" or request.path.endswith("/events") \
        or request.headers.get("X-Requested-With") == "fetch"


def _refuse_anonymous():
    if _wants_json() or request.method != "GET":
        return jsonify(error="log in first"), 401
    return redirect(url_for("inbox.login", next=request.full_path.rstrip("?")))


def _guard(allowed: Callable[[StaffUser], bool]) -> Callable:
    """A view decorator: anonymous users are sent to log in, staff for whom `allowed` is false get 403."""
    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any):
            user = current_staff()
            if user is None:
                return _refuse_anonymous()
            if not allowed(user):
                abort(403)
            return view(*args, **kwargs)
        return wrapper
    return decorator


def staff_required(*roles: str) -> Callable:
    """Allow the view to logged-in staff with one of `roles` (any role when none are given)."""
    unknown = set(roles) - ALL
    if unknown:
        raise ValueError(f"unknown roles {unknown}")
    return _guard(lambda user: not roles or user.role in roles)


def permission_required(permission: str) -> Callable:
    """Allow the view to logged-in staff holding `permission` (see MATRIX)."""
    if permission not in MATRIX:
        raise ValueError(f"unknown permission {permission}")
    return _guard(lambda user: can(permission, user))
