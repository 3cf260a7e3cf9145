"""Free text to what the patient wants (an intent) and the details that go with it (a day,
a time or part of day, a doctor, a service, a number picked from the last choices).

Patterns are tried in a fixed order, most urgent first: an emergency wins over everything,
a request for a person over booking talk, a cancel over "my appointment". Short replies
("ok", "nahi", "thanks", "hi") count only when the message is nothing else. A message with
booking details and no other intent ("kal 5 baje", "dentl cleaning tomorow") is a booking.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, replace
from datetime import date, time
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from clinicbot.conversation.lexicon import NUMBER_WORDS, ORDINALS, canonical, raw_tokens, words
from clinicbot.conversation.model import Context, Language
from clinicbot.conversation.names import find_doctor, find_service, name_tokens
from clinicbot.conversation.when import PartOfDay, read_when

MAX_TEXT = 1000  # a longer message is read by its start: nothing useful hides past it


class Intent(enum.StrEnum):
    GREET = "greet"
    BOOK = "book"
    MINE = "mine"
    RESCHEDULE = "reschedule"
    CANCEL = "cancel"
    INFO = "info"
    HOURS = "hours"
    ADDRESS = "address"
    FEES = "fees"
    DOCTORS = "doctors"
    HUMAN = "human"
    LANGUAGE = "language"
    STOP = "stop"
    START = "start"
    YES = "yes"
    NO = "no"
    MORE = "more"
    EMERGENCY = "emergency"
    MEDICAL = "medical"
    PICK = "pick"
    THANKS = "thanks"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Understanding:
    intent: Intent
    implied: bool = False  # a booking read from details alone, with no booking words
    day: date | None = None
    clock: time | None = None
    part: PartOfDay | None = None
    doctor_id: str | None = None
    service_id: str | None = None
    pick: int | None = None  # 1-based
    language: Language | None = None
    anyone: bool = False  # any doctor will do ("any doctor", "koi bhi", "earliest")
    hindi: bool = False  # written mostly in Devanagari

    @property
    def has_details(self) -> bool:
        return any(
            v is not None
            for v in (self.day, self.clock, self.part, self.doctor_id, self.service_id)
        )


def _rx(*alternatives: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{a})" for a in alternatives))


_APPT = r"(?:appointments?|bookings?)"
_DOCTOR_KIND = r"(?:doctors?|dentist|specialist|pediatrician|physician|gynecologist)"
PATTERNS: dict[Intent, re.Pattern[str]] = {
    Intent.EMERGENCY: _rx(
        r"\b(?:emergency|ambulance|heart attack|stroke|unconscious|unresponsive|fainted)\b",
        r"\bcollapsed?\b|\bchest\b.*\bpain\b|\bpain\b.*\bchest\b",
        r"\bbleeding (?:heavily|a lot|badly|too much|profusely|wont stop|not stopping|nonstop)",
        r"\bheavy bleeding\b|\bblood\b.*\b(?:flowing|not stopping|wont stop)\b",
        r"\b(?:cant|cannot|not|difficulty|trouble|shortness of) (?:in )?breath",
        r"(?<!bad )\bbreath\w*(?: \w+){0,3} (?:no|not|problem|difficulty|trouble)\b|\bchoking\b",
        r"\baccident\b|\bpoison\w*|\boverdose\b|\bsuicid\w*|\bseizure\b|\bfits\b|\bconvulsion",
        r"\bsnake\b.*\bbite|\bbitten\b",
    ),
    Intent.STOP: _rx(
        r"^(?:please )?(?:stop|unsubscribe|opt out|stop it|band|band karo|band kar do)"
        r"(?: please)?$",
        r"\b(?:reminders?|messages?|msgs?|notifications?|sms|alerts?)\b.*"
        r"\b(?:stop|band|bandh|off|dont|unsubscribe)\b",
        r"\b(?:stop|band|bandh|dont|no more|unsubscribe)\b.*"
        r"\b(?:reminders?|messages?|msgs?|notifications?|sms|alerts?)\b",
    ),
    Intent.START: _rx(
        r"^(?:please )?(?:start|subscribe|resume|unstop)(?: the)?(?: reminders?)?(?: please)?$",
        r"\b(?:start|resume|restart|turn on|chalu|shuru)\b.*\breminders?\b",
        r"\breminders?\b.*\b(?:on|start|chalu|shuru|resume)\b",
    ),
    Intent.LANGUAGE: _rx(
        r"^(?:in )?(?:hindi|english)(?: please| me| mein| language| main| mai)*$",
        r"\b(?:speak|talk|reply|write|chat|bolo|likho|answer|respond|text|understand|samajh\w*)\b"
        r".*\b(?:hindi|english)\b",
        r"\b(?:hindi|english)\b.*\b(?:understand|samajh\w*|speak|bol\w*|aati|aata)\b",
        r"\b(?:hindi|english) (?:me|mein|main|mai|in|language|please)\b",
        r"\bchange (?:the )?language\b|\blanguage\b.*\bchange\b",
    ),
    Intent.HUMAN: _rx(
        r"\b(?:talk|speak|chat|connect)\b.*\b(?:staff|person|human|someone|somebody|receptionist"
        r"|reception|doctor|agent|real|manager|owner|team)\b",
        r"\b(?:staff|reception|person|doctor|someone)\b.*\btalk\b",
        r"\bcall (?:me|back)\b|\bcallback\b|\bhuman\b|\breceptionist\b|\bcustomer care\b",
    ),
    Intent.RESCHEDULE: _rx(
        r"\breschedule\b|\brebook\b|\bpostpone\b|\bprepone\b",
        rf"\bchange\b.*\b(?:{_APPT}|time|date|slot|timing|day)\b",
        rf"\b(?:{_APPT}|time|date|slot|timing|day)\b.*\bchange\b",
        rf"\b(?:move|shift)\b.*\b(?:{_APPT}|to)\b",
        rf"\b{_APPT}\b.*\b(?:another|other|second|different) (?:day|date|time)\b",
    ),
    Intent.CANCEL: _rx(
        rf"\bcancel\w*|\b(?:delete|remove)\b.*\b{_APPT}\b|{_APPT} hata",
        rf"\b(?:dont|do not) (?:want|need)\b.*\b{_APPT}\b",
    ),
    Intent.HOURS: _rx(
        r"\b(?:open|opens|opening|closed|closes|closing|timing|timings|hours|sits)\b",
        r"\bwhat time (?:do|does|is|are|will|to|tak)\b|\b(?:till|until) what time\b|\bwhen tak\b",
        r"\bwhen (?:do|does|will|is|are|comes|meet|sits)\b",
        r"\bband (?:hai|rehta|hota|what)\b|\bworking days\b",
    ),
    Intent.ADDRESS: _rx(
        r"\b(?:address|location|directions?|map|landmark|where)\b",
        r"\bhow (?:to|do i|can i|do we) (?:reach|come|get)\b",
        r"\bpata (?:what|batao|bhejo|send|do)\b|\b(?:clinic|your|apka|aapka) (?:ka )?pata\b",
    ),
    Intent.FEES: _rx(
        r"\b(?:fee|fees|charge|charges|price|prices|pricing|cost|costs|rate|rates|paise|paisa)\b",
        r"\b(?:rupees|rs|inr)\b|\bhow much\b(?! (?:time|days?|hours?|minutes?|wait))",
    ),
    Intent.DOCTORS: _rx(
        r"\bdoctors\b|\bdoctor list\b",
        rf"\b(?:which|who)\b.*\b{_DOCTOR_KIND}\b|\bdoctor\b.*\bwho\b",
        rf"\bdo you have (?:a |an |any )?(?:\w+ )?{_DOCTOR_KIND}\b",
    ),
    Intent.INFO: _rx(r"\binformation\b|\babout (?:the |your )?clinic\b|\bclinic details\b"),
    Intent.MORE: _rx(
        r"^(?:show |any |some )?more(?: slots?| times?| options?| please)*$|\bshow more\b",
        r"\bmore (?:slots|times|options|dates|timings)\b|\bkoi aur\b",
        r"\b(?:other|another|different|later|next) (?:times?|slots?|timings?|options?|dates?)\b",
        r"\baur (?:time|slots?|timings?|options?|show|dates?)\b",
    ),
    Intent.BOOK: _rx(
        r"\b(?:book|booking|appointment|appointments|schedule|slot|slots|available)\b",
        r"\b(?:availability|earliest|consult|visit|come|meet)\b",
        r"\bsee (?:a |the )?(?:doctor|dentist)\b|\bdoctor\b.*\bshow\b|\bshow\b.*\bdoctor\b",
    ),
    Intent.MEDICAL: _rx(
        r"\b(?:medicine|medicines|tablets?|capsules?|syrup|dose|dosage|paracetamol|crocin|dolo)\b",
        r"\b(?:antibiotics?|ointment|side effects?|remedy|remedies|ilaj|ilaaj|upay|gharelu)\b",
        r"\b(?:cream|lotion|drops|gel|spray|inhaler)\b",
        r"\b(?:should|can|could) i (?:take|eat|give|drink|apply)\b",
        r"\bwhat (?:should|can|to) (?:i |we )?(?:take|eat|give|do|drink|apply)\b",
        r"\bis (?:it|this|that) (?:normal|safe|ok|okay|serious|dangerous|fine)\b",
        r"\bwhat (?:khana|khaye|khayein|lena|le|lu|du|doon|dena|karu|karun|kare|karein)\b",
    ),
}
_CANT_COME = re.compile(
    r"\b(?:cant|cannot|wont|unable to|no|not)\b(?: be able to)?(?: \w+)? (?:come|make it)\b"
)
_REBOOK = re.compile(r"\b(?:instead|rather|another|rebook|shift|move)\b")
_MY_APPT = re.compile(
    rf"\b(?:my|mera|meri|mere)\b.*\b{_APPT}\b|\bdo i have\b.*\b{_APPT}\b"
    rf"|^(?:check|view|see) (?:my |the )?{_APPT}\b"
)
_APPT_QUERY = re.compile(
    rf"\b(?:when|what|show|see|check|status|details|view|list|have|is|confirm)\b|{_APPT} status"
)
_BOOK_VERB = re.compile(r"\b(?:book|schedule|get|want|need|fix|make)\b")
_ANYONE = re.compile(
    r"\b(?:any ?one|anybody|any doctor|whoever|no preference|koi bhi|kisi bhi|earliest)\b"
)
_STATUS = re.compile(rf"\b{_APPT} (?:status|details)\b|\bupcoming {_APPT}\b")

_PICK = (
    re.compile(r"^(?:option|number|no|choice|serial|#)? ?(\d{1,2})(?:st|nd|rd|th)?"),
    re.compile(r"^(?:the )?(" + "|".join(ORDINALS) + ")"),
    re.compile(r"^(?:option|number)? ?(" + "|".join(sorted(NUMBER_WORDS, key=len)[::-1]) + ")"),
)
_PICK_TAIL = re.compile(r"(?: (?:one|option|wala|vala|waala|slot|please))*$")

FILLER = frozenset(
    words(
        "please ji sir madam mam maam doctor the it that this a is hai karo kar do so much lot very"
        " there all team bhai bhaiya didi again now then you yaar dear everyone bye h"
    )
)
YES_WORDS = frozenset(
    words("yes ok sure confirm confirmed done fine great correct right perfect alright good agreed")
)
NO_WORDS = frozenset(words("no not dont never nah"))
THANKS_WORDS = frozenset(words("thanks thank appreciated"))
GREET_WORDS = frozenset(
    words("hi hello namaste menu main restart help options home hola salaam start over")
)
_GOOD_TIME = re.compile(r"\bgood (?:morning|afternoon|evening|night|day)\b")


def _only(words: list[str], allowed: frozenset[str], needed: frozenset[str]) -> bool:
    rest = [w for w in words if w not in FILLER]
    return bool(rest) and set(rest) <= allowed and bool(set(rest) & needed)


def _short_reply(text: str) -> Intent | None:
    words = _GOOD_TIME.sub("hello", text).split()
    if _only(words, YES_WORDS, YES_WORDS):
        return Intent.YES
    if _only(words, NO_WORDS | THANKS_WORDS | {"i", "want"}, NO_WORDS):
        return Intent.NO
    if _only(words, THANKS_WORDS | YES_WORDS | GREET_WORDS, THANKS_WORDS):
        return Intent.THANKS
    if _only(words, GREET_WORDS, GREET_WORDS):
        return Intent.GREET
    return None


def _pick(text: str) -> int | None:
    for pattern, table in zip(_PICK, (None, ORDINALS, NUMBER_WORDS), strict=True):
        match = pattern.match(text)
        if match and _PICK_TAIL.fullmatch(text[match.end() :]):
            word = match.group(1)
            return int(word) if table is None else table[word]
    return None


def _mine(text: str) -> bool:
    if _STATUS.search(text):
        return True
    if not _MY_APPT.search(text):
        return False
    return bool(_APPT_QUERY.search(text)) or not _BOOK_VERB.search(text)


def _change_or_cancel(text: str, dates: int) -> Intent | None:
    cant_come = _CANT_COME.search(text) is not None
    cancel = PATTERNS[Intent.CANCEL].search(text) is not None
    if PATTERNS[Intent.RESCHEDULE].search(text) or (
        (cant_come or cancel) and (dates >= 2 or _REBOOK.search(text))
    ):
        return Intent.RESCHEDULE
    if cancel or cant_come:
        return Intent.CANCEL
    return Intent.MINE if _mine(text) else None


_FIRST = (Intent.STOP, Intent.START, Intent.LANGUAGE, Intent.HUMAN)
_THEN = (
    Intent.HOURS,
    Intent.ADDRESS,
    Intent.FEES,
    Intent.DOCTORS,
    Intent.INFO,
    Intent.MORE,
    Intent.BOOK,
    Intent.MEDICAL,
)


def classify(text: str, dates: int = 0) -> Intent:
    """The intent of canonical ``text`` in which ``dates`` date phrases were found."""
    if PATTERNS[Intent.EMERGENCY].search(text):
        return Intent.EMERGENCY
    if _pick(text) is not None:
        return Intent.PICK
    for intent in _FIRST:
        if PATTERNS[intent].search(text):
            return intent
    if (changed := _change_or_cancel(text, dates)) is not None:
        return changed
    for intent in _THEN:
        if PATTERNS[intent].search(text):
            return intent
    return _short_reply(text) or Intent.UNKNOWN


_NO_DETAILS = frozenset(
    {
        Intent.EMERGENCY,
        Intent.MEDICAL,
        Intent.STOP,
        Intent.START,
        Intent.LANGUAGE,
        Intent.THANKS,
        Intent.HUMAN,
        Intent.GREET,
        Intent.ADDRESS,
        Intent.INFO,
        Intent.PICK,
        Intent.YES,
        Intent.NO,
    }
)


@lru_cache(maxsize=64)
def clinic_zone(name: str) -> ZoneInfo:
    """The clinic's time zone; a name the system does not know falls back to India's."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("Asia/Kolkata")


def _language(text: str) -> Language | None:
    found = re.findall(r"\b(hindi|english)\b", text)
    if not found:
        return None
    return Language.HI if found[-1] == "hindi" else Language.EN


def understand(text: str, ctx: Context) -> Understanding:
    """What ``text`` asks for, read against the clinic in ``ctx``. Never raises."""
    norm = raw_tokens(text[:MAX_TEXT])
    canon = canonical(norm.raw, name_tokens(norm, ctx.doctors))
    when = read_when(canon, ctx.now.astimezone(clinic_zone(ctx.clinic.timezone)))
    intent = classify(canon, when.mentions)
    found = Understanding(
        intent,
        day=when.day,
        clock=when.clock,
        part=when.part,
        doctor_id=find_doctor(norm, canon, ctx.doctors),
        service_id=find_service(canon, ctx.services),
        anyone=_ANYONE.search(canon) is not None,
        hindi=norm.devanagari_share >= 0.5,
    )
    if intent is Intent.PICK:
        return replace(Understanding(intent, hindi=found.hindi), pick=_pick(canon))
    if intent is Intent.LANGUAGE:
        return Understanding(intent, language=_language(canon), hindi=found.hindi)
    if intent in _NO_DETAILS:
        return Understanding(intent, hindi=found.hindi)
    if intent is Intent.UNKNOWN and (found.has_details or found.anyone):
        return replace(found, intent=Intent.BOOK, implied=True)
    if intent is Intent.UNKNOWN and canon.split()[:1] and canon.split()[0] in GREET_WORDS:
        return replace(found, intent=Intent.GREET)
    return found
