"""Staff authentication and authorization for every staff-facing blueprint.

- Sessions: Flask's signed cookie holding the staff id and the login time; it expires
  after `inbox.session_hours` (checked on the server too, not only by the cookie's age),
  and a deactivated user is logged out on their next request.
- Login attempts are rate-limited with the `limits` library, per client address and per
  email, in the storage named by `inbox.rate_limit_storage` (Redis when scaled, so every
  gunicorn worker shares the count).
- CSRF: Flask-WTF's CSRFProtect checks every state-changing request except the
  token/signature-authenticated surfaces (webhooks, REST API, simulator API), which carry
  no session cookie. Forms put `{{ csrf_token() }}` in a hidden `csrf_token` field; scripts
  send it as `X-CSRFToken` (the `<meta name=csrf-token>` of the base template).
- Roles: `MATRIX` maps each permission to the roles that hold it; `staff_required(*roles)`
  guards a view by role, `permission_required(name)` by permission, and templates call
  `can(name)`.
"""

from __future__ import annotations

import time
from datetime import timedelta
from functools import wraps
from typing import Any, Callable

from flask import abort, current_app, g, jsonify, redirect, request, session, url_for
from flask_wtf.csrf import CSRFProtect
from limits import parse, storage, strategies
from sqlmodel import Session

from crm.models import ROLES, StaffUser

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
    "orders.view": STAFF,
    "orders.edit": STAFF,
    "complaints.view": STAFF,
    "complaints.edit": STAFF,
    "agenda.view": STAFF,
    "agenda.edit": STAFF,
    "dashboard.view": ALL,
    "canned.manage": ADMIN,
    "users.manage": ADMIN,
    "audit.view": ADMIN,
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
    app.extensions["sapa.login_limiter"] = LoginLimiter(settings.inbox.rate_limit_storage,
                                                        settings.inbox.login_rate_limit)

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


class LoginLimiter:
    """Counts failed logins per client address and per email (moving window)."""

    def __init__(self, storage_uri: str, rate: str) -> None:
        self.limiter = strategies.MovingWindowRateLimiter(storage.storage_from_string(storage_uri))
        self.rate = parse(rate)

    def _keys(self, ip: str, email: str) -> list[tuple[str, str]]:
        return [("ip", ip or "-"), ("email", email.strip().lower())]

    def allowed(self, ip: str, email: str) -> bool:
        """True while neither the address nor the email has used up its failed attempts."""
        return all(self.limiter.test(self.rate, "sapa-login", kind, key) for kind, key in self._keys(ip, email))

    def failed(self, ip: str, email: str) -> None:
        """Count one failed attempt."""
        for kind, key in self._keys(ip, email):
            self.limiter.hit(self.rate, "sapa-login", kind, key)


def client_ip() -> str:
    """The client's address (the proxy's, unless a trusted ProxyFix is configured)."""
    return request.remote_addr or ""


def _engine():
    return current_app.extensions["sapa.engine"]


def login(user: StaffUser) -> None:
    """Start a fresh session for `user` (a new cookie: no session fixation)."""
    session.clear()
    session.permanent = True
    session["staff_id"] = user.id
    session["auth_at"] = int(time.time())
    g.pop("staff", None)


def logout() -> None:
    """End the session."""
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
        session.clear()
        return None
    with Session(_engine(), expire_on_commit=False) as db:
        user = db.get(StaffUser, staff_id)
    if user is None or not user.active:
        session.clear()
        return None
    g.staff = user
    return user


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
