"""Row ids as URLs and API fields carry them: bounded to what every id column can hold."""

from __future__ import annotations

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
