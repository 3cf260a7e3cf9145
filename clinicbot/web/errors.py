"""Domain errors turned into HTTP, in one place: 400 with the field, 404, 409; a database
that cannot be written just now (another program's lock, a full disk) 503 or 507, in words."""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

from litestar import MediaType, Request, Response

from clinicbot.db.database import trouble
from clinicbot.errors import ClinicError, Conflict, InvalidInput, NotFound

log = logging.getLogger(__name__)

STATUS = {NotFound: 404, InvalidInput: 400, Conflict: 409}


def _body(status: int, detail: str, field: str | None) -> dict[str, object]:
    body: dict[str, object] = {"status_code": status, "detail": detail}
    if field:
        body["extra"] = [{"key": field, "message": detail}]
    return body


def clinic_error(_: Request[Any, Any, Any], exc: Exception) -> Response[object]:
    assert isinstance(exc, ClinicError)
    status = next(code for cls, code in STATUS.items() if isinstance(exc, cls))
    return Response(
        _body(status, exc.message, exc.field), status_code=status, media_type=MediaType.JSON
    )


INSUFFICIENT_STORAGE = 507  # WebDAV's "Insufficient Storage": the disk is full


def unavailable_status(exc: BaseException) -> tuple[int, str] | None:
    """The status and the words for a write the database (or its disk) could not take:
    507 for a full disk, 503 for another program's lock, a read-only file or a disk error;
    None when ``exc`` is a bug rather than such a condition."""
    found = trouble(exc)
    if found is None:
        return None
    status = INSUFFICIENT_STORAGE if found.kind == "disk full" else 503
    return status, f"{found.advice} Nothing was saved."


def database_unavailable(request: Request[Any, Any, Any], exc: Exception) -> Response[object]:
    """Another program holds the database, or the disk is full: say so; nothing was written."""
    found = unavailable_status(exc)
    if found is None:
        return internal_error(request, exc)
    status, words = found
    log.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc)
    return Response(
        _body(status, words, None),
        status_code=status,
        media_type=MediaType.JSON,
        headers={"Retry-After": "5"},
    )


def integrity_error(_: Request[Any, Any, Any], exc: Exception) -> Response[object]:
    """A constraint the services did not foresee: a conflict, never a 500."""
    log.warning("integrity error: %s", exc)
    return Response(
        _body(409, "That change conflicts with existing records.", None),
        status_code=409,
        media_type=MediaType.JSON,
    )


def too_deep(_: Request[Any, Any, Any], exc: Exception) -> Response[object]:
    return Response(
        _body(400, "The JSON body is nested too deeply.", None),
        status_code=400,
        media_type=MediaType.JSON,
    )


def internal_error(request: Request[Any, Any, Any], exc: Exception) -> Response[object]:
    """A bug of ours: log it with its traceback (never the body), answer a plain 500."""
    log.error("internal error on %s %s", request.method, request.url.path, exc_info=exc)
    return Response(_body(500, "Internal error.", None), status_code=500, media_type=MediaType.JSON)


EXCEPTION_HANDLERS = {
    RecursionError: too_deep,
    500: internal_error,
    ClinicError: clinic_error,
    sqlite3.IntegrityError: integrity_error,
    sqlite3.OperationalError: database_unavailable,
    OSError: database_unavailable,  # a full disk under the sessions or a file we write
}
