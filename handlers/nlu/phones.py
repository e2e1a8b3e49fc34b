"""Phone numbers in a message, as E.164 (core.phones: libphonenumber, metadata only)."""
from __future__ import annotations

import re

import phonenumbers

from core.phones import REGION, e164
_DIGITS = re.compile(r"\d")
_BARE = re.compile(r"^\D*(\+?[\d\s().-]{8,20})\D*$")


def find_phones(text: str, region: str = REGION) -> list[tuple[int, int, str]]:
    """(start, end, E.164) of each valid phone number in the text."""
    if len(_DIGITS.findall(text)) < 8:
        return []
    found = []
    for match in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID):
        found.append((match.start, match.end, phonenumbers.format_number(
            match.number, phonenumbers.PhoneNumberFormat.E164)))
    return found


def read_phone(text: str, region: str = REGION) -> str | None:
    """The phone number a whole answer is (for "what is your number?"), E.164; None if it is not one."""
    m = _BARE.match(text)
    return e164(m.group(1), region) if m is not None else None
