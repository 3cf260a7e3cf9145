"""Phone numbers: every form a receptionist or WhatsApp gives us becomes one E.164 string."""

from __future__ import annotations

import phonenumbers
import pytest

from clinicbot.errors import InvalidInput
from clinicbot.phones import mask_phone, normalize_phone

INDIAN_FORMS = [
    "919876543210",
    "98765 43210",
    "9876543210",
    "+91-98765-43210",
    "+91 98765 43210",
    "+919876543210",
    "098765 43210",
    "0091 98765 43210",
    "(+91) 9876543210",
    "  +91 98765 43210  ",
    "+91 (98765) 43210",
]


@pytest.mark.parametrize("raw", INDIAN_FORMS)
def test_indian_forms_become_e164(raw: str) -> None:
    assert normalize_phone(raw, "IN") == "+919876543210"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+44 20 7946 0958", "+442079460958"),
        ("+1 415 555 2671", "+14155552671"),
        ("+1 (415) 555-2671", "+14155552671"),
        ("+971 50 123 4567", "+971501234567"),
        ("0044 20 7946 0958", "+442079460958"),
        # A WhatsApp id: the country code without the plus.
        ("14155552671", "+14155552671"),
        ("971501234567", "+971501234567"),
    ],
)
def test_foreign_numbers_keep_their_country(raw: str, expected: str) -> None:
    assert normalize_phone(raw, "IN") == expected


@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        ("(415) 555-2671", "US", "+14155552671"),
        ("415-555-2671", "US", "+14155552671"),
        ("1 415 555 2671", "US", "+14155552671"),
        ("415 555 2671", "us", "+14155552671"),
        ("+91 98765 43210", "US", "+919876543210"),
        ("020 7946 0958", "GB", "+442079460958"),
    ],
)
def test_default_region_is_the_clinics_country(raw: str, country: str, expected: str) -> None:
    assert normalize_phone(raw, country) == expected


@pytest.mark.parametrize(
    "raw",
    ["12345", "", "abc", "+91 12345", "99999999999999999999", "   ", "\t\n", "+", "+91"],
)
def test_impossible_numbers_are_invalid_input_naming_the_field(raw: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        normalize_phone(raw, "IN")
    assert caught.value.field == "phone"


def test_the_invalid_field_can_be_named_by_the_caller() -> None:
    with pytest.raises(InvalidInput) as caught:
        normalize_phone("12345", "IN", field="patient_phone")
    assert caught.value.field == "patient_phone"


def _example(region: str) -> str:
    number = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    assert number is not None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


MASK_CASES = [
    "+919876543210",
    "+14155552671",
    "+442079460958",
    "+971501234567",
    *(_example(region) for region in ("US", "CA", "RU", "KZ", "GB", "SG", "AE", "NP", "BD")),
]


@pytest.mark.parametrize("phone", MASK_CASES)
def test_mask_reveals_at_most_the_country_code_and_last_two_digits(phone: str) -> None:
    masked = mask_phone(phone)
    country = "+" + str(phonenumbers.parse(phone).country_code)
    shown_head = masked[:-2].rstrip("*")
    assert country.startswith(shown_head), f"{masked!r} shows more than {country}"
    assert set(masked[len(shown_head) : -2]) == {"*"}
    assert masked[-2:] in (phone[-2:], "**")
    hidden = len(phone) - len(country) - 2
    assert masked.count("*") >= hidden


@pytest.mark.parametrize("phone", ["", "+91", "+9198"])
def test_mask_of_a_short_string_hides_everything(phone: str) -> None:
    assert mask_phone(phone) == "*" * len(phone)
