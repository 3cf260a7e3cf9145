"""Doctors and services named in free text: with typos ("dr mehtaa", "dentl cleaning"), in
Devanagari ("डॉक्टर शर्मा"), or by what they do ("dentist", "bachon ka doctor").

Names come from the clinic (``Context``), so nothing here knows a particular doctor. A typed
name matches a doctor's name word within one edit (two in a long word), starting with the
same letter; a name written in Devanagari matches by its consonants, since ``anyascii``
drops the vowels Hindi leaves unwritten ("शर्मा" -> "srma", "Sharma" -> "s-r-m").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache

from rapidfuzz.distance import DamerauLevenshtein

from clinicbot.conversation.lexicon import KNOWN, Normalised, canonical, raw_tokens
from clinicbot.domain import Doctor, Service

HONORIFICS = frozenset({"dr", "doctor", "prof", "mr", "mrs", "ms", "miss", "smt", "shri"})

# What a word is about, for matching services and specialties across spellings.
_CONCEPTS = """
dental: dental dentist dentists teeth tooth dentistry
cleaning: cleaning clean scaling polishing
checkup: checkup examination exam
child: child children kid kids baby babies infant pediatric paediatric pediatrician
child: paediatrician pediatrics paediatrics newborn
general: general gp physician
consultation: consultation consult consulting opd
followup: followup review revisit
visit: visit
"""
CONCEPTS: dict[str, str] = {
    word: line.split(":")[0]
    for line in _CONCEPTS.strip().splitlines()
    for word in line.split(":")[1].split()
}
GENERIC = frozenset({"consultation", "checkup", "visit"})  # says little about which service
# Words that name a kind of doctor by themselves.
DOCTOR_NOUNS = frozenset({"dentist", "pediatrician", "paediatrician", "physician", "gp"})
_KIND_OF_DOCTOR = re.compile(
    r"\b(\w+) (?:ka |ke |ki |wala |wale |vale |waala |ko )?(?:doctor|specialist|dr)\b"
)
_DIGRAPHS = (
    ("chh", "c"),
    ("sh", "s"),
    ("ch", "c"),
    ("ph", "f"),
    ("bh", "b"),
    ("dh", "d"),
    ("th", "t"),
    ("kh", "k"),
    ("gh", "g"),
    ("jh", "j"),
    ("w", "v"),
    ("z", "j"),
    ("q", "k"),
)


def skeleton(word: str) -> str:
    """The consonants of ``word``, spelled one way ("sharma", "srma" -> "srm")."""
    for digraph, single in _DIGRAPHS:
        word = word.replace(digraph, single)
    kept = word[:1] + re.sub(r"[aeiouy]|(?<=[^aeiou])h", "", word[1:])
    return re.sub(r"(.)\1+", r"\1", kept)


def _close(token: str, name: str) -> bool:
    if token == name:
        return True
    if len(token) < 4 or len(name) < 4 or token[0] != name[0] or token in KNOWN:
        return False
    limit = 1 if len(name) <= 6 else 2
    return DamerauLevenshtein.distance(token, name) <= limit


@lru_cache(maxsize=1024)
def _name_words(name: str) -> tuple[str, ...]:
    return tuple(w for w in raw_tokens(name).raw if w not in HONORIFICS and len(w) >= 3)


@lru_cache(maxsize=1024)
def _canonical_words(name: str) -> str:
    """A doctor's specialty or a service's name in canonical words (cached: clinic data)."""
    return canonical(raw_tokens(name).raw)


def _name_score(words: Sequence[str], norm: Normalised) -> int:
    score = 0
    for word in words:
        if any(_close(t, word) for t in norm.raw) or any(
            len(skeleton(t)) >= 2 and skeleton(t) == skeleton(word) for t in norm.from_devanagari
        ):
            score += 1
    return score


def name_tokens(norm: Normalised, doctors: Iterable[Doctor]) -> frozenset[str]:
    """The raw tokens that are (near) a doctor's name: these are never typo-corrected."""
    words = [w for d in doctors for w in _name_words(d.name)]
    return frozenset(t for t in norm.raw if any(_close(t, w) for w in words))


def _concepts(text: str) -> set[str]:
    return {CONCEPTS.get(w, w) for w in text.split()}


def _by_kind(text: str, doctors: Sequence[Doctor]) -> str | None:
    kinds = {CONCEPTS[w] for w in text.split() if w in DOCTOR_NOUNS}
    kinds |= {
        CONCEPTS[m.group(1)] for m in _KIND_OF_DOCTOR.finditer(text) if m.group(1) in CONCEPTS
    }
    words = set(text.split())
    found = [
        d
        for d in doctors
        if kinds & _concepts(_canonical_words(d.specialty))
        or (d.specialty and set(_canonical_words(d.specialty).split()) <= words)
    ]
    return found[0].id if len(found) == 1 else None


def find_doctor(norm: Normalised, text: str, doctors: Sequence[Doctor]) -> str | None:
    """The one doctor the message names, by name or else by kind; None if none or unclear."""
    scores = [(_name_score(_name_words(d.name), norm), d.id) for d in doctors]
    best = max((s for s, _ in scores), default=0)
    if best:
        named = [d for s, d in scores if s == best]
        return named[0] if len(named) == 1 else None
    return _by_kind(text, doctors)


def find_service(text: str, services: Sequence[Service]) -> str | None:
    """The one service the message names: the best-scoring by its distinctive words, clearly
    ahead of the next (a word shared by several services counts for less)."""
    words = _concepts(text)
    per_service = {s.id: _concepts(_canonical_words(s.name)) for s in services}
    counts: dict[str, int] = {}
    for concepts in per_service.values():
        for concept in concepts:
            counts[concept] = counts.get(concept, 0) + 1
    scores = []
    for service_id, concepts in per_service.items():
        score = sum(
            (0.3 if c in GENERIC else 1.0) / counts[c]
            for c in concepts
            if c in words or any(_close(w, c) for w in words if len(c) >= 5)
        )
        scores.append((score, service_id))
    scores.sort(reverse=True)
    if not scores or scores[0][0] < 0.5:
        return None
    if len(scores) > 1 and scores[0][0] - scores[1][0] < 0.25:
        return None
    return scores[0][1]
