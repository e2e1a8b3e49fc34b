"""Money as people read it: Rupiah grouped the language's way, one format per language everywhere
(staff screens, marketing screens, bot texts): "Rp78.000" in Indonesian, "Rp78,000" in English."""

from __future__ import annotations

from babel.numbers import format_decimal


def rupiah(amount: int | None, language: str = "id") -> str:
    """`amount` rupiah in `language` ("Rp78.000" / "Rp78,000"); a negative amount as "-Rp5.000"."""
    value = int(amount or 0)
    locale = "en" if (language or "").lower().startswith("en") else "id"
    return ("-" if value < 0 else "") + "Rp" + format_decimal(abs(value), format="#,##0", locale=locale)
