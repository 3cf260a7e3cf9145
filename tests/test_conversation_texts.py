"""The text catalogue: every entry renders in English and Hindi within WhatsApp's limits, both
languages have the same entries and blanks, dates and money read as in India, and no
patient-facing text is written anywhere but the catalogue."""

from __future__ import annotations

import ast
import re
import string
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest

from clinicbot.conversation import texts
from clinicbot.conversation.model import Language
from tests.conversation_clinic import IST, assert_fits

# Realistic values at their longest: what a clinic may really have.
SAMPLES = {
    "name": " Lakshminarayanan",
    "clinic": "Shree Sai Multispeciality Dental & Child Care Clinic",
    "doctor": "Dr. Venkataraghavan Subramanian",
    "service": "Root canal treatment (single sitting)",
    "specialty": "Consultant Paediatrician & Neonatologist",
    "when": texts.slot_label(datetime(2025, 9, 24, 10, 30, tzinfo=IST), Language.HI),
    "old": "Wed 24 Sep, 10:30 am",
    "new": "Wed 24 Sep, 11:30 am",
    "day": "बुध 24 सित",
    "days": "Mon–Sat: 9:00 am–1:00 pm, 5:00 pm–8:00 pm\nSun: 10:00 am–12:00 pm",
    "spans": "9:00 am–1:00 pm, 5:00 pm–8:00 pm",
    "part": "दोपहर",
    "price": "₹1,50,000.50",
    "minutes": 120,
    "phone": "+91 124 456 7890",
    "number": "112",
    "address": "Plot 12, Sector 14, Near Huda Market, Old Gurugram Road, Gurugram, Haryana 122001",
    "count": 10,
    "lines": "\n".join(["• Wed 24 Sep, 10:30 am: Dr. Venkataraghavan (Root canal)"] * 5),
}
LIMITS = {"btn.": 20, "list.": 20, "desc.": 72}
BODY_MAX = 1024  # a body with choices; plain text may be 4096


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("lang", list(Language))
def test_every_entry_renders_within_the_limits(lang: Language) -> None:
    for key in texts.EN:
        rendered = texts.say(lang, key, **SAMPLES)
        limit = next((n for prefix, n in LIMITS.items() if key.startswith(prefix)), BODY_MAX)
        assert 0 < len(rendered) <= limit, (lang, key, len(rendered), rendered)


def test_both_languages_have_the_same_entries_and_blanks() -> None:
    assert texts.EN.keys() == texts.HI.keys()
    for key, english in texts.EN.items():
        assert _fields(english) == _fields(texts.HI[key]), key


def test_hindi_is_in_devanagari() -> None:
    """Hindi entries are written in Devanagari; Latin letters only where a patient types or
    reads them as they are ("Hi", "menu", START, WhatsApp, am/pm)."""
    latin_ok = {"Hi", "menu", "START", "WhatsApp", "Language"}
    for key, hindi in texts.HI.items():
        words = re.sub(r"\{\w+\}", " ", hindi)
        assert set(re.findall(r"[A-Za-z]+", words)) <= latin_ok, key
        if re.search(r"\w", words):
            assert re.search("[\u0900-\u097f]", words), key


def test_slot_labels_fit_a_list_row_every_day_of_the_year() -> None:
    day = date(2025, 1, 1)
    for _ in range(366):
        for clock in (time(9), time(10, 30), time(12, 45), time(23, 59)):
            moment = datetime.combine(day, clock, IST)
            assert len(texts.slot_label(moment, Language.EN)) <= 20  # a button, even
            assert len(texts.slot_label(moment, Language.HI)) <= 24
        day += timedelta(days=1)


def test_dates_and_times_read_as_in_india() -> None:
    moment = datetime(2025, 11, 25, 10, 30, tzinfo=IST)
    assert texts.slot_label(moment, Language.EN) == "Tue 25 Nov, 10:30 am"
    assert texts.slot_label(moment, Language.HI) == "मंगल 25 नव, 10:30 am"
    assert texts.clock_label(time(0, 5)) == "12:05 am"
    assert texts.clock_label(time(12)) == "12:00 pm"
    assert texts.clock_label(time(17, 45)) == "5:45 pm"


@pytest.mark.parametrize(
    ("amount", "written"),
    [
        (0, "₹0"),
        (300, "₹300"),
        (1500, "₹1,500"),
        (99999, "₹99,999"),
        (150000, "₹1,50,000"),
        (12345678.5, "₹1,23,45,678.50"),
        (499.999, "₹500"),
        (float("nan"), "₹0"),
    ],
)
def test_money(amount: float, written: str) -> None:
    assert texts.money(amount) == written


@pytest.mark.parametrize("lang", list(Language))
def test_the_reminder_has_confirm_first_and_fits(lang: Language) -> None:
    start = datetime(2025, 11, 25, 17, tzinfo=IST)
    reply = texts.reminder(lang, str(SAMPLES["clinic"]), str(SAMPLES["doctor"]), start, "a" * 36)
    assert_fits(reply)
    assert [c.id.split(":")[0] for c in reply.choices] == ["confirm", "cancel", "reschedule"]
    assert texts.when(lang, start) in reply.text


PACKAGE = Path(__file__).resolve().parent.parent / "clinicbot" / "conversation"
SPEAKING = {"Reply", "Choice", "reply", "menu", "back_to_menu"}


def test_no_patient_text_outside_the_catalogue() -> None:
    """Replies and choices get their words from ``texts``: no string literal is passed as a
    message body or a choice title anywhere else in the engine."""
    found = []
    for path in sorted(PACKAGE.glob("*.py")):
        if path.name == "texts.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", ""))
            if name not in SPEAKING:
                continue
            # Reply(text, ...) / reply(text, ...): the text; Choice(id, title, ...): the title.
            spoken = node.args[1:2] if name == "Choice" else node.args[:1]
            spoken = spoken + [k.value for k in node.keywords if k.arg in ("text", "title")]
            found += [
                f"{path.name}:{node.lineno}"
                for arg in spoken
                if isinstance(arg, ast.Constant | ast.JoinedStr)
            ]
    assert found == []
