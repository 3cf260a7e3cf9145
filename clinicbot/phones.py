"""Phone numbers: every input form to E.164, with the clinic's country as the default region."""

from __future__ import annotations

import phonenumbers

from clinicbot.errors import InvalidInput


def normalize_phone(raw: str, country: str = "IN", *, field: str = "phone") -> str:
    """``'98765 43210'``, ``'919876543210'``, ``'+91-98765-43210'`` -> ``'+919876543210'``.

    A number that cannot exist raises InvalidInput naming ``field``.
    """
    text = raw.strip()
    if not text or len(text) > 32:
        raise InvalidInput("Enter a phone number.", field=field)
    candidates = [text]
    digits = "".join(ch for ch in text if ch.isdigit())
    if not text.startswith(("+", "00")) and len(digits) > 10:
        # WhatsApp ids and many contact exports carry the country code without the plus.
        candidates.append("+" + digits)
    for candidate in candidates:
        try:
            number = phonenumbers.parse(candidate, country.upper())
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    raise InvalidInput(f"{raw!r} is not a valid phone number.", field=field)


def calling_code(country: str) -> int:
    """``"IN"`` -> 91; 0 for a region phonenumbers does not know."""
    return int(phonenumbers.country_code_for_region(country.upper()))


def mask_phone(phone: str) -> str:
    """For logs: keep the country code and the last two digits, nothing else."""
    try:
        prefix = "+" + str(phonenumbers.parse(phone).country_code)
    except phonenumbers.NumberParseException:
        return "*" * len(phone)
    hidden = len(phone) - len(prefix) - 2
    if hidden < 2:
        return "*" * len(phone)
    return prefix + "*" * hidden + phone[-2:]
