"""The inbox blueprint and what its pages share: safe redirects, refusals, look-ups, error pages.

The pages are thin views over the inbox data modules, one transaction per write. Every write
answers with a redirect back (POST-redirect-GET) and a flash message; a refused write (bad
input) re-renders the page with status 400 and the reason, and writes nothing.
"""

from __future__ import annotations

from typing import TypeVar
from urllib.parse import urlsplit

from flask import Blueprint, abort, flash, jsonify, make_response, render_template, request, url_for
from flask_wtf.csrf import CSRFError
from sqlmodel import Session

from crm.inbox.data import InboxError
from crm.inbox.i18n import error_text, t

inbox = Blueprint("inbox", __name__, url_prefix="/inbox", template_folder="templates", static_folder="static",
                  static_url_path="/static")
T = TypeVar("T")


def safe_next(target: str | None) -> str:
    """Only same-site paths (no open redirect to another host)."""
    if not target:
        return url_for("inbox.conversations")
    parts = urlsplit(target)
    # Browsers read "/\\host" as "//host": backslashes and control characters are refused too.
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") \
            or "\\" in target or any(ord(c) < 32 for c in target):
        return url_for("inbox.conversations")
    return target


def back_to(default: str) -> str:
    """Where a form goes back to: its `next` field if same-site, else `default`."""
    return safe_next(request.form.get("next") or default)


def refused(exc: InboxError, page, *args, status: int = 400):
    """Re-render `page` with the reason and a 4xx status (nothing was written)."""
    flash(error_text(str(exc)), "error")
    response = make_response(page(*args))
    response.status_code = status
    return response


def wants_fragment() -> bool:
    """Whether the page's own script asked (it wants JSON or a fragment, not a whole page)."""
    return request.headers.get("X-Requested-With") == "fetch"


def get_or_404(db: Session, model: type[T], ident: int) -> T:
    """The row of `model` with id `ident`, or a 404 page."""
    row = db.get(model, ident)
    if row is None:
        abort(404)
    return row


# --- errors --------------------------------------------------------------------------


@inbox.errorhandler(403)
def _forbidden(exc):
    if wants_fragment() or request.path.endswith("/events"):
        return jsonify(error="forbidden for your role"), 403
    return render_template("inbox/error.html", message=t("forbidden"), code=403), 403


@inbox.errorhandler(404)
def _not_found(exc):
    return render_template("inbox/error.html", message=exc.description if exc.description and
                           "requested URL" not in exc.description else t("not_found"), code=404), 404


@inbox.errorhandler(400)
def _bad_request(exc):
    message = t("csrf_failed") if isinstance(exc, CSRFError) else (exc.description or t("bad_request"))
    if wants_fragment():
        return jsonify(error=message), 400
    return render_template("inbox/error.html", message=message, code=400), 400
