"""Domain types shared by every layer: statuses, records as they read back, and inputs."""

from __future__ import annotations

import enum
from typing import Annotated

from msgspec import UNSET, Meta, Struct, UnsetType, field

# Bounds keep every value a client can send inside what SQLite and Python handle.
Name = Annotated[str, Meta(min_length=1, max_length=120)]
ShortText = Annotated[str, Meta(max_length=200)]
LongText = Annotated[str, Meta(max_length=2000)]
PhoneText = Annotated[str, Meta(min_length=1, max_length=32)]
Id = Annotated[str, Meta(min_length=1, max_length=64)]
ClockTime = Annotated[str, Meta(pattern=r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")]
Weekday = Annotated[int, Meta(ge=0, le=6, description="0 = Monday … 6 = Sunday")]
Minutes = Annotated[int, Meta(ge=0, le=60 * 24 * 30)]
Duration = Annotated[int, Meta(ge=5, le=12 * 60)]
Step = Annotated[int, Meta(ge=5, le=240)]
HorizonDays = Annotated[int, Meta(ge=1, le=730)]
# When reminders go out, in minutes before the visit (up to four; none turns them off).
ReminderMinutes = Annotated[list[Annotated[int, Meta(ge=5, le=14 * 24 * 60)]], Meta(max_length=4)]
# An approved WhatsApp template's name: lowercase letters, digits and underscores.
TemplateName = Annotated[str, Meta(min_length=1, max_length=512, pattern=r"^[a-z0-9_]+$")]
# Older messages (Meta redelivers for days) get an apology and the menu, not blind action.
StaleHours = Annotated[int, Meta(ge=1, le=24 * 7)]
Price = Annotated[float, Meta(ge=0, le=10_000_000)]
CountryCode = Annotated[str, Meta(pattern=r"^[A-Za-z]{2}$")]
TimeZoneName = Annotated[str, Meta(min_length=1, max_length=64)]
DateTimeText = Annotated[
    str,
    Meta(
        min_length=10,
        max_length=40,
        description="ISO 8601; clinic-local when it has no offset",
        examples=["2026-12-01T10:30:00+05:30"],
    ),
]


class Status(enum.StrEnum):
    CONFIRMED = "confirmed"
    ARRIVED = "arrived"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"


class Source(enum.StrEnum):
    WHATSAPP = "whatsapp"
    STAFF = "staff"
    WALK_IN = "walk-in"


# The ordinary life of an appointment; any other move is a staff correction.
NORMAL_TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.CONFIRMED: frozenset({Status.ARRIVED, Status.CANCELLED, Status.NO_SHOW}),
    Status.ARRIVED: frozenset({Status.COMPLETED, Status.CANCELLED, Status.NO_SHOW}),
    Status.COMPLETED: frozenset(),
    Status.CANCELLED: frozenset(),
    Status.NO_SHOW: frozenset(),
}


class BookingRules(Struct, frozen=True):
    min_notice_minutes: int = 60
    horizon_days: int = 60
    slot_step_minutes: int = 15


class Clinic(Struct, frozen=True):
    id: str
    name: str
    address: str
    phone: str | None
    country: str
    timezone: str
    whatsapp_phone_number_id: str | None
    min_notice_minutes: int
    horizon_days: int
    slot_step_minutes: int
    created_at: str
    updated_at: str
    reminder_minutes: list[int] = field(default_factory=lambda: [1440, 120])
    reminder_template: str = "appointment_reminder"
    stale_message_hours: int = 24

    @property
    def rules(self) -> BookingRules:
        return BookingRules(self.min_notice_minutes, self.horizon_days, self.slot_step_minutes)


class ClinicCreate(Struct, forbid_unknown_fields=True):
    name: Name
    address: ShortText = ""
    phone: PhoneText | None = None
    country: CountryCode = "IN"
    timezone: TimeZoneName = "Asia/Kolkata"
    whatsapp_phone_number_id: Annotated[str, Meta(max_length=64)] | None = None
    min_notice_minutes: Minutes = 60
    horizon_days: HorizonDays = 60
    slot_step_minutes: Step = 15
    reminder_minutes: ReminderMinutes = field(default_factory=lambda: [1440, 120])
    reminder_template: TemplateName = "appointment_reminder"
    stale_message_hours: StaleHours = 24


class ClinicUpdate(Struct, forbid_unknown_fields=True):
    name: Name | UnsetType = UNSET
    address: ShortText | UnsetType = UNSET
    phone: PhoneText | UnsetType | None = UNSET
    country: CountryCode | UnsetType = UNSET
    timezone: TimeZoneName | UnsetType = UNSET
    whatsapp_phone_number_id: Annotated[str, Meta(max_length=64)] | UnsetType | None = UNSET
    min_notice_minutes: Minutes | UnsetType = UNSET
    horizon_days: HorizonDays | UnsetType = UNSET
    slot_step_minutes: Step | UnsetType = UNSET
    reminder_minutes: ReminderMinutes | UnsetType = UNSET
    reminder_template: TemplateName | UnsetType = UNSET
    stale_message_hours: StaleHours | UnsetType = UNSET


class Doctor(Struct, frozen=True):
    id: str
    clinic_id: str
    name: str
    specialty: str
    active: bool
    created_at: str
    updated_at: str


class DoctorCreate(Struct, forbid_unknown_fields=True):
    clinic_id: Id
    name: Name
    specialty: ShortText = ""
    active: bool = True


class DoctorUpdate(Struct, forbid_unknown_fields=True):
    name: Name | UnsetType = UNSET
    specialty: ShortText | UnsetType = UNSET
    active: bool | UnsetType = UNSET


class Service(Struct, frozen=True):
    id: str
    clinic_id: str
    name: str
    duration_minutes: int
    price: float
    doctor_ids: list[str]
    active: bool
    created_at: str
    updated_at: str


class ServiceCreate(Struct, forbid_unknown_fields=True):
    clinic_id: Id
    name: Name
    duration_minutes: Duration
    price: Price = 0
    doctor_ids: Annotated[list[Id], Meta(max_length=50)] = []
    active: bool = True


class ServiceUpdate(Struct, forbid_unknown_fields=True):
    name: Name | UnsetType = UNSET
    duration_minutes: Duration | UnsetType = UNSET
    price: Price | UnsetType = UNSET
    doctor_ids: Annotated[list[Id], Meta(max_length=50)] | UnsetType = UNSET
    active: bool | UnsetType = UNSET


class WorkingHours(Struct, frozen=True):
    id: str
    doctor_id: str
    weekday: int
    start_time: str
    end_time: str


class WorkingHoursCreate(Struct, forbid_unknown_fields=True):
    doctor_id: Id
    weekday: Weekday
    start_time: ClockTime
    end_time: ClockTime


class WorkingHoursUpdate(Struct, forbid_unknown_fields=True):
    weekday: Weekday | UnsetType = UNSET
    start_time: ClockTime | UnsetType = UNSET
    end_time: ClockTime | UnsetType = UNSET


class TimeOff(Struct, frozen=True):
    id: str
    clinic_id: str
    doctor_id: str | None
    starts_at: str
    ends_at: str
    reason: str


class TimeOffCreate(Struct, forbid_unknown_fields=True):
    """Leave for one doctor, or a clinic holiday when ``doctor_id`` is absent."""

    clinic_id: Id
    starts_at: DateTimeText
    ends_at: DateTimeText
    doctor_id: Id | None = None
    reason: ShortText = ""


class TimeOffUpdate(Struct, forbid_unknown_fields=True):
    starts_at: DateTimeText | UnsetType = UNSET
    ends_at: DateTimeText | UnsetType = UNSET
    reason: ShortText | UnsetType = UNSET


class Patient(Struct, frozen=True):
    id: str
    clinic_id: str
    name: str
    phone: str
    whatsapp_name: str | None
    total_visits: int
    total_cancellations: int
    total_no_shows: int
    first_visit_date: str | None
    last_visit_date: str | None
    created_at: str
    updated_at: str
    is_active: bool
    simulated: bool = False  # made by the built-in simulator: left out of the statistics


class PatientCreate(Struct, forbid_unknown_fields=True):
    clinic_id: Id
    name: Name
    phone: PhoneText
    whatsapp_name: Annotated[str, Meta(max_length=120)] | None = None


class PatientUpdate(Struct, forbid_unknown_fields=True):
    name: Name | UnsetType = UNSET
    phone: PhoneText | UnsetType = UNSET
    whatsapp_name: Annotated[str, Meta(max_length=120)] | UnsetType | None = UNSET
    is_active: bool | UnsetType = UNSET


class ClinicStats(Struct, frozen=True):
    clinic_id: str
    total_patients: int
    new_patients_this_month: int
    active_patients: int
    total_appointments: int
    completed_appointments: int
    no_show_appointments: int
    cancelled_appointments: int
    no_show_rate: float | None


class Appointment(Struct, frozen=True):
    id: str
    clinic_id: str
    doctor_id: str
    service_id: str
    patient_id: str | None
    patient_name: str
    patient_phone: str
    date: str
    starts_at: str
    ends_at: str
    status: Status
    source: Source
    notes: str
    cancellation_reason: str | None
    created_at: str
    updated_at: str
    simulated: bool = False  # booked through the built-in simulator


class PatientAppointment(Struct, frozen=True):
    """One line of a patient's history: the appointment and the doctor's name."""

    id: str
    date: str
    starts_at: str
    ends_at: str
    status: Status
    doctor_id: str
    doctor: str
    service_id: str
    service: str
    source: Source


class AppointmentCreate(Struct, forbid_unknown_fields=True):
    clinic_id: Id
    doctor_id: Id
    service_id: Id
    starts_at: DateTimeText
    patient_name: Name | None = None
    patient_phone: PhoneText | None = None
    patient_id: Id | None = None
    source: Source = Source.STAFF
    notes: LongText = ""


class AppointmentUpdate(Struct, forbid_unknown_fields=True):
    """A status change, a reschedule (``starts_at``, optionally another doctor), or notes."""

    status: Status | UnsetType = UNSET
    starts_at: DateTimeText | UnsetType = UNSET
    doctor_id: Id | UnsetType = UNSET
    notes: LongText | UnsetType = UNSET
    cancellation_reason: ShortText | UnsetType | None = UNSET


class AppointmentEvent(Struct, frozen=True):
    id: int
    appointment_id: str
    at: str
    actor: str
    kind: str
    from_status: Status | None
    to_status: Status | None
    detail: str


class Slot(Struct, frozen=True):
    start: str
    end: str
