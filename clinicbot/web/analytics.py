"""The analytics routes: the clinic's charts over a date range, and the CSV export."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from litestar import Controller, Response, get
from litestar.params import Parameter

from clinicbot.db import Database
from clinicbot.services import analytics as services
from clinicbot.web.params import READ_ERRORS, Clock

ClinicId = Annotated[str, Parameter(min_length=1, max_length=64)]
DateFrom = Annotated[
    date | None,
    Parameter(description="first day, clinic time (default: 29 days before date_to)"),
]
DateTo = Annotated[date | None, Parameter(description="last day, clinic time (default: today)")]


class AnalyticsController(Controller):
    path = "/analytics"
    tags = ["analytics"]

    @get(responses=READ_ERRORS)
    async def analytics(
        self,
        db: Database,
        clock: Clock,
        clinic_id: ClinicId,
        date_from: DateFrom = None,
        date_to: DateTo = None,
    ) -> services.Analytics:
        """The clinic statistics, and per day, month, weekday, doctor, hour and channel
        counts for ``date_from``..``date_to`` (inclusive, at most two years)."""
        return await db.read(services.analytics, clinic_id, date_from, date_to, clock())

    @get("/appointments.csv", responses=READ_ERRORS, media_type="text/csv")
    async def appointments_csv(
        self,
        db: Database,
        clock: Clock,
        clinic_id: ClinicId,
        date_from: DateFrom = None,
        date_to: DateTo = None,
    ) -> Response[str]:
        """The range's appointments as a CSV file, safe to open in a spreadsheet."""
        name, text = await db.read(
            services.appointments_csv, clinic_id, date_from, date_to, clock()
        )
        return Response(
            text,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
