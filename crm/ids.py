"""Row ids as URLs, query strings, forms and API fields carry them: bounded to what every id column can hold."""

from __future__ import annotations

from collections.abc import Mapping

from flask import abort, request
from werkzeug.routing import IntegerConverter, Map

# The primary keys are INTEGER columns: 32-bit signed on PostgreSQL (SQLite's take 64 bits),
# so a larger id can name no row, and the database would refuse to even compare with it.
MAX_ID = 2**31 - 1


def digits_up_to(limit: int) -> str:
    """A regex of the decimal numbers 1..limit (no sign, no leading zero)."""
    top = str(limit)
    shorter = [f"[1-9][0-9]{{0,{len(top) - 2}}}"] if len(top) > 1 else []
    same_length = []
    for i, digit in enumerate(top):
        low = "1" if i == 0 else "0"
        if int(digit) > int(low):
            same_length.append(f"{top[:i]}[{low}-{int(digit) - 1}][0-9]{{{len(top) - i - 1}}}")
    return "(?:" + "|".join([*shorter, *same_length, top]) + ")"


class IdConverter(IntegerConverter):
    """`<int:…>` in a route: a row id 1..MAX_ID; anything else is a 404 before the view runs.

    The range is in the regex, not only in `max`: werkzeug checks a rule's methods before its
    converters, so a value refused by `to_python` on a PATCH route would answer 405 (the GET
    beside it "matched") instead of 404.
    """

    regex = digits_up_to(MAX_ID)

    def __init__(self, map: Map, fixed_digits: int = 0, min: int | None = 1, max: int | None = MAX_ID,
                 signed: bool = False) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def as_id(text: str, least: int = 1) -> int | None:
    """The row id `text` spells (ASCII digits, least..MAX_ID; 0 is a cursor before every row), or None."""
    # The length check comes first: int() of thousands of digits is slow, then refused by Python.
    if text.isascii() and text.isdigit() and len(text) <= len(str(MAX_ID)) and least <= int(text) <= MAX_ID:
        return int(text)
    return None


def id_value(raw: str | None, least: int = 1) -> int | None:
    """A row id sent as text: None when empty, a 400 when not a whole number, a 404 when no row can have it."""
    raw = (raw or "").strip()
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit()):
        abort(400)
    row_id = as_id(raw, least)
    if row_id is None:
        abort(404)
    return row_id


def id_arg(name: str, values: Mapping[str, str] | None = None, least: int = 1) -> int | None:
    """The row id in query parameter `name` (or in `values`, e.g. `request.form`), as `id_value` reads it."""
    return id_value((request.args if values is None else values).get(name), least)
