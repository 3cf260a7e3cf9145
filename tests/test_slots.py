"""Free slots and booking rules: the pure functions, then the service over a real database."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clinicbot.db.database import transaction
from clinicbot.domain import (
    AppointmentCreate,
    BookingRules,
    DoctorUpdate,
    ServiceCreate,
    ServiceUpdate,
    TimeOffCreate,
)
from clinicbot.errors import InvalidInput, NotFound
from clinicbot.scheduling import (
    DaySchedule,
    Span,
    booking_problem,
    day_bounds,
    free_slots,
    is_taken,
)
from clinicbot.services import booking, setup
from tests.factories import make_clinic_db, next_weekday

IST = ZoneInfo("Asia/Kolkata")
DAY = date(2026, 3, 2)  # a Monday
NOW = datetime(2026, 3, 1, 8, 0, tzinfo=IST)  # the day before, so no notice rule bites
RULES = BookingRules(min_notice_minutes=0, horizon_days=60, slot_step_minutes=15)
LUNCH_WEEK = (("09:00", "13:00"), ("14:00", "18:00"))


def at(clock: str, day: date = DAY, tz: ZoneInfo = IST) -> datetime:
    hours, minutes = map(int, clock.split(":"))
    return datetime.combine(day, time(hours, minutes), tz)


def grid(first: str, last: str, step: int = 15) -> list[str]:
    """Clock times from ``first`` to ``last`` inclusive, ``step`` minutes apart."""
    start, end = at(first), at(last)
    times = []
    while start <= end:
        times.append(start.strftime("%H:%M"))
        start += timedelta(minutes=step)
    return times


def starts(slots: Sequence[Span]) -> list[str]:
    return [start.strftime("%H:%M") for start, _ in slots]


def slots_of(
    working: Sequence[tuple[str, str]],
    minutes: int,
    *,
    off: Sequence[Span] = (),
    taken: Sequence[Span] = (),
    rules: BookingRules = RULES,
    now: datetime = NOW,
    day: date = DAY,
    staff: bool = False,
) -> list[Span]:
    schedule = DaySchedule(day=day, tz=IST, working=working, off=off, taken=taken)
    return free_slots(schedule, timedelta(minutes=minutes), rules, now, staff=staff)


# free_slots on hand-built days ------------------------------------------------------------


def test_slots_stop_before_lunch_and_resume_after_it() -> None:
    slots = slots_of(LUNCH_WEEK, 30)
    assert starts(slots) == grid("09:00", "12:30") + grid("14:00", "17:30")
    lunch = (at("13:00"), at("14:00"))
    assert not [s for s in slots if s[0] < lunch[1] and lunch[0] < s[1]]
    assert all(end - start == timedelta(minutes=30) for start, end in slots)


def test_a_slot_that_would_end_after_the_interval_is_not_offered() -> None:
    assert starts(slots_of([("09:00", "10:00")], 45)) == ["09:00", "09:15"]
    assert slots_of([("09:00", "09:30")], 45) == []


def test_leave_for_part_of_the_day_removes_the_slots_it_touches() -> None:
    leave = (at("10:00"), at("11:00"))
    slots = slots_of([("09:00", "12:00")], 30, off=[leave])
    assert starts(slots) == ["09:00", "09:15", "09:30", "11:00", "11:15", "11:30"]


def test_a_clinic_holiday_removes_the_whole_day() -> None:
    assert slots_of(LUNCH_WEEK, 15, off=[day_bounds(DAY, IST)]) == []


def test_a_holiday_spanning_several_days_covers_the_middle_one() -> None:
    holiday = (at("18:00", DAY - timedelta(days=1)), at("08:00", DAY + timedelta(days=1)))
    assert slots_of(LUNCH_WEEK, 15, off=[holiday]) == []


def test_minimum_notice_starts_at_the_first_grid_time_after_it() -> None:
    rules = BookingRules(min_notice_minutes=60, horizon_days=60, slot_step_minutes=15)
    slots = slots_of(LUNCH_WEEK, 15, rules=rules, now=at("10:07"))
    assert starts(slots)[0] == "11:15"
    assert starts(slots) == grid("11:15", "12:45") + grid("14:00", "17:45")


def test_minimum_notice_counts_from_an_instant_not_a_clock() -> None:
    # 04:37 UTC is 10:07 in Kolkata.
    rules = BookingRules(min_notice_minutes=60, horizon_days=60, slot_step_minutes=15)
    now_utc = datetime(2026, 3, 2, 4, 37, tzinfo=UTC)
    assert starts(slots_of(LUNCH_WEEK, 15, rules=rules, now=now_utc))[0] == "11:15"


def test_the_horizon_ends_after_the_last_allowed_day() -> None:
    rules = BookingRules(min_notice_minutes=0, horizon_days=5, slot_step_minutes=15)
    now = at("10:00")
    last_day = DAY + timedelta(days=5)
    assert len(slots_of(LUNCH_WEEK, 15, rules=rules, now=now, day=last_day)) == 32
    assert slots_of(LUNCH_WEEK, 15, rules=rules, now=now, day=last_day + timedelta(days=1)) == []


def test_the_front_desk_sees_the_slot_under_way_and_no_notice_or_horizon() -> None:
    rules = BookingRules(min_notice_minutes=60, horizon_days=5, slot_step_minutes=15)
    # 10:07: a walk-in can still take the 10:00 slot; 09:45 is over.
    slots = slots_of(LUNCH_WEEK, 15, rules=rules, now=at("10:07"), staff=True)
    assert starts(slots) == grid("10:00", "12:45") + grid("14:00", "17:45")
    # On the grid exactly, the slot starting now counts and the one before does not.
    assert starts(slots_of(LUNCH_WEEK, 15, rules=rules, now=at("10:00"), staff=True))[0] == "10:00"
    far = DAY + timedelta(days=30)
    assert slots_of(LUNCH_WEEK, 15, rules=rules, now=at("10:00"), day=far) == []
    assert len(slots_of(LUNCH_WEEK, 15, rules=rules, now=at("10:00"), day=far, staff=True)) == 32


def test_the_horizon_counts_clinic_days() -> None:
    # 2026-03-01 20:00 UTC is already 2 March, 01:30, in Kolkata.
    rules = BookingRules(min_notice_minutes=0, horizon_days=5, slot_step_minutes=15)
    now = datetime(2026, 3, 1, 20, 0, tzinfo=UTC)
    assert slots_of(LUNCH_WEEK, 15, rules=rules, now=now, day=date(2026, 3, 7)) != []
    assert slots_of(LUNCH_WEEK, 15, rules=rules, now=now, day=date(2026, 3, 8)) == []


def test_a_booking_removes_exactly_the_starts_that_overlap_it() -> None:
    booked = (at("10:00"), at("10:15"))
    free = starts(slots_of([("09:00", "11:00")], 30, taken=[booked]))
    everything = starts(slots_of([("09:00", "11:00")], 30))
    assert sorted(set(everything) - set(free)) == ["09:45", "10:00"]
    assert set(free) <= set(everything)


def test_bookings_back_to_back_leave_no_gap_offered() -> None:
    taken = [(at("09:00"), at("09:30")), (at("09:30"), at("10:00"))]
    assert starts(slots_of([("09:00", "10:30")], 15, taken=taken)) == ["10:00", "10:15"]


@pytest.mark.parametrize(
    ("step", "expected"),
    [
        (10, ["09:00", "09:10", "09:20", "09:30", "09:40"]),
        (15, ["09:00", "09:15", "09:30"]),
        (20, ["09:00", "09:20", "09:40"]),
    ],
)
def test_the_slot_step(step: int, expected: list[str]) -> None:
    rules = BookingRules(min_notice_minutes=0, horizon_days=60, slot_step_minutes=step)
    assert starts(slots_of([("09:00", "10:00")], 20, rules=rules)) == expected


def test_the_grid_starts_again_at_each_interval() -> None:
    slots = slots_of([("09:00", "09:30"), ("10:05", "11:00")], 15)
    assert starts(slots) == ["09:00", "09:15", "10:05", "10:20", "10:35"]


def test_hours_ending_at_midnight() -> None:
    rules = BookingRules(min_notice_minutes=0, horizon_days=60, slot_step_minutes=30)
    slots = slots_of([("22:00", "24:00")], 30, rules=rules)
    assert starts(slots) == ["22:00", "22:30", "23:00", "23:30"]
    assert slots[-1][1] == datetime.combine(DAY + timedelta(days=1), time(0), IST)


def test_no_working_hours_no_slots() -> None:
    assert slots_of([], 15) == []


@pytest.mark.parametrize(
    "day",
    [date(2026, 3, 29), date(2026, 10, 25)],
    ids=["spring-forward", "fall-back"],
)
def test_a_daylight_saving_day_gives_real_distinct_slots(day: date) -> None:
    """Europe/London: 01:00 -> 02:00 on 29 March; 02:00 -> 01:00 on 25 October."""
    london = ZoneInfo("Europe/London")
    rules = BookingRules(min_notice_minutes=0, horizon_days=60, slot_step_minutes=15)
    schedule = DaySchedule(day=day, tz=london, working=[("00:00", "04:00")])
    slots = free_slots(schedule, timedelta(minutes=15), rules, datetime.combine(day, time(0), UTC))
    in_utc = sorted((s.astimezone(UTC), e.astimezone(UTC)) for s, e in slots)
    opens = datetime.combine(day, time(0), london).astimezone(UTC)
    closes = datetime.combine(day, time(4), london).astimezone(UTC)
    assert in_utc, "the doctor works four wall-clock hours that day"
    assert len({s for s, _ in in_utc}) == len(in_utc), "a slot is offered twice"
    for (_, end), (next_start, _) in pairwise(in_utc):
        assert end <= next_start, "two 15-minute slots on a 15-minute grid overlap"
    for start, end in in_utc:
        assert end - start == timedelta(minutes=15), "a 15-minute slot lasts another time"
        assert opens <= start and end <= closes
    for start, _ in slots:
        # The time shown to the patient exists on the clock that day.
        assert start.astimezone(UTC).astimezone(london).replace(fold=0) == start.replace(fold=0)


# booking_problem and is_taken --------------------------------------------------------------

LEAVE = (at("15:00"), at("16:00"))
SCHEDULE = DaySchedule(
    day=DAY, tz=IST, working=LUNCH_WEEK, off=[LEAVE], taken=[(at("10:00"), at("10:30"))]
)
NOTICE_RULES = BookingRules(min_notice_minutes=60, horizon_days=10, slot_step_minutes=15)


def problem(
    start: str, minutes: int, *, now: datetime, patient: bool, day: date = DAY
) -> str | None:
    schedule = DaySchedule(day=day, tz=IST, working=LUNCH_WEEK, off=[LEAVE])
    begin = at(start, day)
    return booking_problem(
        begin,
        begin + timedelta(minutes=minutes),
        schedule,
        NOTICE_RULES,
        now,
        patient_rules=patient,
    )


@pytest.mark.parametrize("patient", [True, False])
@pytest.mark.parametrize(
    ("start", "minutes", "why"),
    [
        ("08:45", 15, "not working"),
        ("08:50", 15, "not working"),
        ("12:50", 15, "not working"),
        ("13:00", 15, "not working"),
        ("13:45", 30, "not working"),
        ("17:45", 30, "not working"),
        ("14:50", 15, "away"),
        ("15:30", 15, "away"),
        ("15:55", 30, "away"),
    ],
)
def test_booking_problem_outside_hours_and_on_leave(
    start: str, minutes: int, why: str, patient: bool
) -> None:
    found = problem(start, minutes, now=NOW, patient=patient)
    assert found is not None and why in found


@pytest.mark.parametrize("start", ["09:00", "09:07", "12:45", "14:00", "14:45", "16:00", "17:45"])
def test_booking_problem_none_inside_hours(start: str) -> None:
    assert problem(start, 15, now=NOW, patient=True) is None
    assert problem(start, 15, now=NOW, patient=False) is None


def test_minimum_notice_binds_patients_not_staff() -> None:
    now = at("10:07")
    found = problem("11:00", 15, now=now, patient=True)
    assert found is not None and "notice" in found
    assert problem("11:07", 15, now=now, patient=True) is None
    assert problem("10:15", 15, now=now, patient=False) is None


def test_the_horizon_binds_patients_not_staff() -> None:
    later = DAY + timedelta(days=11)
    found = problem("10:00", 15, now=at("10:00"), patient=True, day=later)
    assert found is not None and "10 days" in found
    assert (
        problem("10:00", 15, now=at("10:00"), patient=True, day=later - timedelta(days=1)) is None
    )
    assert problem("10:00", 15, now=at("10:00"), patient=False, day=later) is None


def test_staff_may_book_a_walk_in_late_but_not_yesterday() -> None:
    evening = at("20:00")
    assert problem("09:00", 15, now=evening, patient=False) is None
    next_day = at("21:30", DAY + timedelta(days=1))  # 12 h after 09:15 was 21:15
    found = problem("09:00", 15, now=next_day, patient=False)
    assert found is not None and "past" in found


def test_is_taken_is_overlap_with_a_booking_not_adjacency() -> None:
    def taken(start: str, minutes: int) -> bool:
        begin = at(start)
        return is_taken(begin, begin + timedelta(minutes=minutes), SCHEDULE)

    assert [taken(t, 15) for t in ("09:45", "09:50", "10:00", "10:15", "10:25", "10:30")] == [
        False,
        True,
        True,
        True,
        True,
        False,
    ]
    assert taken("09:45", 30) is True
    assert taken("15:00", 15) is False  # leave is not a booking: booking_problem says it


# properties --------------------------------------------------------------------------------


def _clock(minute: int) -> str:
    return "24:00" if minute == 24 * 60 else f"{minute // 60:02d}:{minute % 60:02d}"


@st.composite
def day_schedules(draw: st.DrawFn) -> tuple[DaySchedule, timedelta, BookingRules, datetime]:
    tz = draw(st.sampled_from([IST, ZoneInfo("UTC")]))
    bounds = draw(
        st.lists(st.integers(0, 24 * 12).map(lambda m: m * 5), unique=True, max_size=8).map(sorted)
    )
    working = [(_clock(a), _clock(b)) for a, b in zip(bounds[::2], bounds[1::2], strict=False)]
    midnight = datetime.combine(DAY, time(0), tz)

    def spans(max_size: int) -> st.SearchStrategy[list[Span]]:
        span = st.tuples(st.integers(-120, 25 * 60), st.integers(1, 300)).map(
            lambda p: (
                midnight + timedelta(minutes=p[0]),
                midnight + timedelta(minutes=p[0] + p[1]),
            )
        )
        return st.lists(span, max_size=max_size)

    schedule = DaySchedule(
        day=DAY, tz=tz, working=working, off=draw(spans(3)), taken=draw(spans(6))
    )
    duration = timedelta(minutes=draw(st.sampled_from([5, 10, 15, 20, 30, 45, 60, 90])))
    rules = BookingRules(
        min_notice_minutes=draw(st.integers(0, 600)),
        horizon_days=draw(st.integers(1, 3)),
        slot_step_minutes=draw(st.sampled_from([5, 10, 15, 20, 30, 60])),
    )
    now = midnight + timedelta(seconds=draw(st.integers(-3 * 86400, 86400)))
    return schedule, duration, rules, now


def _spans(schedule: DaySchedule) -> list[Span]:
    tz = schedule.tz
    out = []
    for first, last in schedule.working:
        begin = datetime.combine(schedule.day, time.fromisoformat(first), tz)
        end = (
            datetime.combine(schedule.day + timedelta(days=1), time(0), tz)
            if last == "24:00"
            else datetime.combine(schedule.day, time.fromisoformat(last), tz)
        )
        out.append((begin, end))
    return out


def _overlaps(start: datetime, end: datetime, spans: Sequence[Span]) -> bool:
    return any(b_start < end and start < b_end for b_start, b_end in spans)


Case = tuple[DaySchedule, timedelta, BookingRules, datetime]


@settings(max_examples=300, deadline=None)
@given(day_schedules())
def test_every_slot_is_working_free_late_enough_and_on_the_grid(case: Case) -> None:
    schedule, duration, rules, now = case
    earliest = now + timedelta(minutes=rules.min_notice_minutes)
    step = timedelta(minutes=rules.slot_step_minutes)
    busy = [*schedule.off, *schedule.taken]
    for start, end in free_slots(schedule, duration, rules, now):
        assert end - start == duration
        inside = [(a, b) for a, b in _spans(schedule) if a <= start and end <= b]
        assert len(inside) == 1
        assert (start - inside[0][0]) % step == timedelta(0)
        assert start >= earliest
        assert not _overlaps(start, end, busy)
        assert booking_problem(start, end, schedule, rules, now, patient_rules=True) is None
        assert not is_taken(start, end, schedule)


@settings(max_examples=300, deadline=None)
@given(day_schedules())
def test_every_free_grid_start_is_offered(case: Case) -> None:
    schedule, duration, rules, now = case
    earliest = now + timedelta(minutes=rules.min_notice_minutes)
    last_day = now.astimezone(schedule.tz).date() + timedelta(days=rules.horizon_days)
    in_horizon = last_day >= DAY
    step = timedelta(minutes=rules.slot_step_minutes)
    busy = [*schedule.off, *schedule.taken]
    expected = []
    for begin, finish in sorted(_spans(schedule)):
        start = begin
        while start + duration <= finish:
            if in_horizon and start >= earliest and not _overlaps(start, start + duration, busy):
                expected.append((start, start + duration))
            start += step
    assert free_slots(schedule, duration, rules, now) == expected


# doctor_slots through the services ----------------------------------------------------------

SERVICE_NOW = datetime(2026, 3, 3, 10, 0, tzinfo=IST)  # a Tuesday
VISIT_DAY = next_weekday(SERVICE_NOW.date(), 0)  # the next Monday


def _doctor_slots(conn: sqlite3.Connection, doctor: str, service: str) -> list[str]:
    with transaction(conn):
        return starts(booking.doctor_slots(conn, doctor, VISIT_DAY, service, SERVICE_NOW))


def test_doctor_slots_of_a_fresh_clinic(conn: sqlite3.Connection) -> None:
    clinic = make_clinic_db(conn, SERVICE_NOW)
    consultation, follow_up = clinic.service_ids
    assert _doctor_slots(conn, clinic.doctor, consultation) == grid("09:00", "12:45") + grid(
        "14:00", "17:45"
    )
    assert _doctor_slots(conn, clinic.doctor, follow_up) == grid("09:00", "12:30") + grid(
        "14:00", "17:30"
    )
    with transaction(conn):
        slots = booking.doctor_slots(conn, clinic.doctor, VISIT_DAY, consultation, SERVICE_NOW)
    assert slots[0] == (at("09:00", VISIT_DAY), at("09:15", VISIT_DAY))
    assert slots[0][0].utcoffset() == timedelta(hours=5, minutes=30)
    sunday = VISIT_DAY - timedelta(days=1)
    with transaction(conn):
        assert booking.doctor_slots(conn, clinic.doctor, sunday, consultation, SERVICE_NOW) == []


def test_doctor_slots_after_a_booking(conn: sqlite3.Connection) -> None:
    clinic = make_clinic_db(conn, SERVICE_NOW)
    consultation, follow_up = clinic.service_ids
    before = _doctor_slots(conn, clinic.doctor, follow_up)
    with transaction(conn):
        booking.book(
            conn,
            AppointmentCreate(
                clinic_id=clinic.id,
                doctor_id=clinic.doctor,
                service_id=consultation,
                starts_at=f"{VISIT_DAY}T10:00",
                patient_name="Asha",
                patient_phone="98765 43210",
            ),
            SERVICE_NOW,
        )
    after = _doctor_slots(conn, clinic.doctor, follow_up)
    assert sorted(set(before) - set(after)) == ["09:45", "10:00"]
    assert "10:00" not in _doctor_slots(conn, clinic.doctor, consultation)
    assert "10:15" in _doctor_slots(conn, clinic.doctor, consultation)


def test_doctor_slots_after_leave_and_a_clinic_holiday(conn: sqlite3.Connection) -> None:
    clinic = make_clinic_db(conn, SERVICE_NOW, doctors=2)
    other = clinic.doctor_ids[1]
    with transaction(conn):
        setup.create_time_off(
            conn,
            TimeOffCreate(
                clinic_id=clinic.id,
                doctor_id=clinic.doctor,
                starts_at=f"{VISIT_DAY}T14:00",
                ends_at=f"{VISIT_DAY}T16:00",
                reason="conference",
            ),
        )
    assert _doctor_slots(conn, clinic.doctor, clinic.service) == grid("09:00", "12:45") + grid(
        "16:00", "17:45"
    )
    assert len(_doctor_slots(conn, other, clinic.service)) == 32  # leave is one doctor's
    with transaction(conn):
        setup.create_time_off(
            conn,
            TimeOffCreate(
                clinic_id=clinic.id,
                starts_at=f"{VISIT_DAY}T00:00",
                ends_at=f"{VISIT_DAY + timedelta(days=1)}T00:00",
                reason="Holi",
            ),
        )
    assert _doctor_slots(conn, clinic.doctor, clinic.service) == []
    assert _doctor_slots(conn, other, clinic.service) == []


def test_an_inactive_doctor_or_service_has_no_slots(conn: sqlite3.Connection) -> None:
    clinic = make_clinic_db(conn, SERVICE_NOW, doctors=2)
    with transaction(conn):
        setup.update_doctor(conn, clinic.doctor, DoctorUpdate(active=False), SERVICE_NOW)
        setup.update_service(conn, clinic.service_ids[1], ServiceUpdate(active=False), SERVICE_NOW)
    assert _doctor_slots(conn, clinic.doctor, clinic.service) == []
    assert _doctor_slots(conn, clinic.doctor_ids[1], clinic.service_ids[1]) == []
    assert len(_doctor_slots(conn, clinic.doctor_ids[1], clinic.service)) == 32


def test_a_service_the_doctor_does_not_offer(conn: sqlite3.Connection) -> None:
    clinic = make_clinic_db(conn, SERVICE_NOW, doctors=2)
    with transaction(conn):
        dental = setup.create_service(
            conn,
            ServiceCreate(
                clinic_id=clinic.id,
                name="Dental",
                duration_minutes=20,
                doctor_ids=[clinic.doctor_ids[1]],
            ),
            SERVICE_NOW,
        )
    with pytest.raises(InvalidInput) as caught:
        _doctor_slots(conn, clinic.doctor, dental.id)
    assert caught.value.field == "service_id"
    assert _doctor_slots(conn, clinic.doctor_ids[1], dental.id)[:3] == ["09:00", "09:15", "09:30"]


def test_a_service_of_another_clinic_is_not_found(conn: sqlite3.Connection) -> None:
    first = make_clinic_db(conn, SERVICE_NOW)
    second = make_clinic_db(conn, SERVICE_NOW)
    with pytest.raises(NotFound) as caught:
        _doctor_slots(conn, first.doctor, second.service)
    assert caught.value.field == "service_id"
