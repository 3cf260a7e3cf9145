"""Parameter types shared by the controllers, bounded so that nothing a client sends can
overflow SQLite or Python (schemathesis checks this)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from litestar.openapi import ResponseSpec
from litestar.params import Parameter
from msgspec import Struct

from clinicbot.store.rows import MAX_OFFSET

Clock = Callable[[], datetime]

IdPath = Annotated[str, Parameter(min_length=1, max_length=64)]
ClinicFilter = Annotated[str | None, Parameter(min_length=1, max_length=64)]
Limit = Annotated[int, Parameter(ge=1, le=500, description="page size")]
Offset = Annotated[int, Parameter(ge=0, le=MAX_OFFSET, description="rows to skip")]


class ErrorField(Struct, frozen=True):
    key: str
    message: str


class ErrorBody(Struct, frozen=True):
    """Every error answer: the status, what happened in words, and the field at fault."""

    status_code: int
    detail: str
    extra: list[ErrorField] | None = None


_MEANING = {
    400: "Bad input; `extra` names the field",
    404: "No record with that id",
    409: "Conflicts with the current state (slot taken, phone already a patient)",
    503: "The database cannot be written just now; nothing was changed",
}


def errors(*codes: int) -> dict[int, ResponseSpec]:
    """The error answers a route documents in the OpenAPI schema."""
    return {
        code: ResponseSpec(data_container=ErrorBody, description=_MEANING[code]) for code in codes
    }


NOT_FOUND = errors(404)
READ_ERRORS = errors(400, 404)
WRITE_ERRORS = errors(400, 404, 409, 503)
