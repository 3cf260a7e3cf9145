"""The ids of the choices the bot offers, and reading them back.

An id carries what a tap on it needs (a doctor, a service, a time, an appointment), so a tap
on an old message still acts on what that message showed. Nothing read back is trusted:
the flows check every id against the fresh ``Context`` before acting on it.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from clinicbot.conversation.replies import Talk

_STAMP = re.compile(r"^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})$")
MAX_ID = 200  # a list row's id limit; reply buttons allow 256


def stamp(talk: Talk, moment: datetime) -> str:
    """``moment`` as clinic-local "YYYYMMDDHHMM"."""
    return talk.local(moment).strftime("%Y%m%d%H%M")


def unstamp(talk: Talk, text: str) -> datetime | None:
    """The clinic-local time a stamp names; None unless it is a real time from yesterday to
    the end of the booking horizon."""
    match = _STAMP.match(text)
    if match is None:
        return None
    year, month, day, hour, minute = (int(g) for g in match.groups())
    try:
        naive = datetime(year, month, day, hour, minute)
    except ValueError:
        return None
    horizon = max(0, min(talk.ctx.clinic.horizon_days, 730)) + 1
    if not talk.today - timedelta(days=1) <= naive.date() <= talk.today + timedelta(days=horizon):
        return None
    return naive.replace(tzinfo=talk.tz)


def make(verb: str, *parts: str) -> str:
    return ":".join((verb, *parts))


def parse(choice_id: str) -> tuple[str, list[str]]:
    """("slot", [doctor, service, stamp]) for "slot:doctor:service:stamp"; the verb is
    lower-cased, so a template's "CONFIRM:<id>" reads as "confirm"."""
    verb, _, rest = choice_id.strip()[: MAX_ID + 64].partition(":")
    return verb.lower(), rest.split(":") if rest else []
