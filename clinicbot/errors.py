"""The domain's exception tree; the web layer turns each into one HTTP status.

ClinicError
├── NotFound        an id that does not exist            -> 404
├── InvalidInput    a value that breaks a rule (field)   -> 400
└── Conflict        the slot is taken, the phone exists  -> 409
    └── SlotTaken
"""

from __future__ import annotations


class ClinicError(Exception):
    """Base of every error the services raise on purpose."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(ClinicError):
    """The thing asked for does not exist (or belongs to another clinic)."""


class InvalidInput(ClinicError):
    """A value is well-formed but breaks a rule: an impossible phone, a closed day."""


class Conflict(ClinicError):
    """The request is valid but collides with the current state."""


class SlotTaken(Conflict):
    """The doctor already has an appointment in that time."""
