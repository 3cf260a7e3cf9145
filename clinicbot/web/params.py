"""Parameter types shared by the controllers, bounded so that nothing a client sends can
overflow SQLite or Python (schemathesis checks this)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from litestar.params import Parameter

from clinicbot.store.rows import MAX_OFFSET

Clock = Callable[[], datetime]

IdPath = Annotated[str, Parameter(min_length=1, max_length=64)]
ClinicFilter = Annotated[str | None, Parameter(min_length=1, max_length=64)]
Limit = Annotated[int, Parameter(ge=1, le=500, description="page size")]
Offset = Annotated[int, Parameter(ge=0, le=MAX_OFFSET, description="rows to skip")]
