"""Guards at the app's edges: JSON nested too deeply, and NUL characters.

PostgreSQL text cannot hold NUL (U+0000), and Python's json parser recurses once per level
of nesting (a RecursionError, a 500). What a person typed into our API, inbox, simulator or
a query string is refused with 400; what a platform sends (a customer's name or message) is
kept without its NULs.
"""

from __future__ import annotations

from typing import Any

from flask import request
from flask.json.provider import DefaultJSONProvider
from pydantic_core import from_json
from werkzeug.exceptions import BadRequest

# pydantic-core's parser (jiter, in Rust) refuses JSON nested deeper than this, without
# recursing in Python: a clear ValueError instead of a RecursionError.
MAX_JSON_DEPTH = 200
NUL = "\x00"


def parse_json(data: bytes | str) -> Any:
    """JSON text as Python values; ValueError (with a clear reason) for invalid or too deeply nested JSON."""
    try:
        return from_json(data)
    except ValueError as exc:
        if "recursion limit" in str(exc):
            raise ValueError(f"JSON is nested more than {MAX_JSON_DEPTH} levels deep") from None
        raise


def may_hold_nul(data: bytes | str) -> bool:
    """True when JSON text may hold a NUL character (valid JSON can only write it as an escape)."""
    return (b"\\u0000" if isinstance(data, bytes) else "\\u0000") in data


def has_nul(value: Any) -> bool:
    """True when a string anywhere in parsed JSON (keys included) holds a NUL character."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if NUL in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def without_nul(value: Any) -> Any:
    """Parsed JSON with the NUL characters taken out of every string (keys included)."""
    if isinstance(value, str):
        return value.replace(NUL, "")
    if isinstance(value, dict):
        return {without_nul(key): without_nul(item) for key, item in value.items()}
    if isinstance(value, list):
        return [without_nul(item) for item in value]
    return value


class BoundedJSONProvider(DefaultJSONProvider):
    """Flask's JSON provider, whose request bodies are bounded in depth and free of NUL (else 400)."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        if kwargs:  # a caller's own decoder options: only the standard library has them
            return super().loads(s, **kwargs)
        # BadRequest rather than ValueError: get_json(silent=True) would turn a ValueError into
        # None, and the caller's answer into a vaguer one.
        try:
            value = parse_json(s)
        except ValueError as exc:
            raise BadRequest(f"body is not valid JSON: {exc}") from None
        if may_hold_nul(s) and has_nul(value):
            raise BadRequest("JSON text must not contain NUL characters (\\u0000)")
        return value


def refuse_nul() -> tuple[dict, int] | None:
    """Before each request: 400 when the path, query string or form holds a NUL character."""
    if NUL in request.path:
        return {"error": "the URL must not contain NUL characters (%00)"}, 400
    if request.query_string and any(NUL in key or NUL in value for key, value in request.args.items(multi=True)):
        return {"error": "the query string must not contain NUL characters (%00)"}, 400
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data") and any(
            NUL in key or NUL in value for key, value in request.form.items(multi=True)):
        return {"error": "form fields must not contain NUL characters"}, 400
    return None
