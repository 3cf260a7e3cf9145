"""``GET /api/v1/changes``: a long poll that answers when the data has changed."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import get
from litestar.params import Parameter

from clinicbot.services.changes import ChangeFeed


class Changes(msgspec.Struct, frozen=True):
    version: str  # opaque: pass it back as ``after``


@get("/changes", tags=["system"])
async def wait_for_changes(
    changes: ChangeFeed,
    after: Annotated[
        str | None, Parameter(max_length=64, description="the version last seen")
    ] = None,
    wait: Annotated[float, Parameter(ge=0, le=30, description="seconds to wait for a change")] = 25,
) -> Changes:
    """Answers as soon as anything was written after version ``after`` (a booking, a
    status change, a WhatsApp message...), or after ``wait`` seconds with the same
    version. Without ``after`` it answers at once with the current version."""
    return Changes(await changes.wait(after, wait))
