"""Phone numbers as E.164, with Google's libphonenumber (installed as `phonenumberslite`: the parser and
validation without the geocoding, carrier and time-zone tables we never read, 5 MB instead of 48 MB)."""

from __future__ import annotations

import phonenumbers

REGION = "ID"  # numbers written without a country code are Indonesian


def e164(value: str, region: str = REGION) -> str | None:
    """`value` as an E.164 number (`08…`, `62…`, `+62…` are one number); None when it is not a valid phone."""
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
