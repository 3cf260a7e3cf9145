"""Who is who at the demo clinic: its doctors, their hours and services, and its patients
(Indian names and mobile numbers, WhatsApp profile names, when each first comes and how
reliably), plus the words patients leave on bookings.

Kept apart from ``clinicbot.demo`` so the schedule generator reads as logic, not as a phone
book. The names mix North and South India the way a city practice (Pune) sees them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from string import digits

import phonenumbers

Hours = tuple[tuple[str, str], ...]
_SPLIT_DAY: Hours = (("09:00", "13:00"), ("14:00", "17:00"))
_EVENING_CLINIC: Hours = (("10:00", "14:00"), ("17:00", "20:00"))
_SKIN_CLINIC: Hours = (("11:00", "13:30"), ("16:00", "19:00"))


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    minutes: int
    price: float


@dataclass(frozen=True)
class DoctorSpec:
    name: str
    specialty: str
    hours: dict[int, Hours]  # weekday (0 = Monday) -> intervals; the gaps are breaks
    services: tuple[tuple[int, int], ...]  # (index into SERVICES, how often it is booked)
    load: float  # how full the diary runs on an ordinary day


SERVICES = (
    ServiceSpec("General Consultation", 15, 500),
    ServiceSpec("Follow-up Visit", 10, 250),
    ServiceSpec("Child Vaccination", 15, 650),
    ServiceSpec("Skin Consultation", 20, 800),
    ServiceSpec("Full Body Health Check-up", 30, 1800),
)
DOCTORS = (
    DoctorSpec(
        "Dr. Anil Sharma",
        "General Physician",
        {**dict.fromkeys(range(6), _SPLIT_DAY), 6: (("10:00", "12:00"),)},
        ((0, 6), (1, 4), (4, 1), (2, 1)),
        0.32,
    ),
    DoctorSpec(
        "Dr. Priya Iyer",
        "Paediatrician",
        dict.fromkeys(range(6), _EVENING_CLINIC),
        ((2, 5), (0, 4), (1, 2)),
        0.27,
    ),
    DoctorSpec(
        "Dr. Rajesh Mehta",
        "Dermatologist",
        dict.fromkeys((0, 2, 4), _SKIN_CLINIC),
        ((3, 6), (1, 4)),
        0.38,
    ),
)
NORTH_MALE = (
    "Aarav", "Abhishek", "Aditya", "Amit", "Ankit", "Arjun", "Ashok", "Deepak", "Gaurav",
    "Harsh", "Ishaan", "Kabir", "Karan", "Kunal", "Manoj", "Mohit", "Nikhil", "Pankaj",
    "Rahul", "Ramesh", "Rohit", "Sachin", "Sanjay", "Sunil", "Varun", "Vihaan", "Vikram",
    "Vivek", "Yash", "Omkar", "Tushar", "Siddharth",
)  # fmt: skip
NORTH_FEMALE = (
    "Aarti", "Aditi", "Ananya", "Anjali", "Divya", "Geeta", "Isha", "Jyoti", "Kavita",
    "Komal", "Manisha", "Meera", "Neha", "Nisha", "Pallavi", "Pooja", "Preeti", "Priya",
    "Rekha", "Ritu", "Riya", "Seema", "Shreya", "Simran", "Sneha", "Sunita", "Swati",
    "Tanvi", "Sakshi", "Ashwini", "Madhuri", "Vaishali",
)  # fmt: skip
SOUTH_MALE = (
    "Anand", "Arun", "Balaji", "Dinesh", "Ganesh", "Gopal", "Harish", "Karthik", "Krishna",
    "Mahesh", "Murali", "Naveen", "Pradeep", "Prakash", "Ravi", "Sai", "Satish", "Senthil",
    "Srinivas", "Venkatesh", "Vijay", "Vishnu", "Raghav", "Shankar",
)  # fmt: skip
SOUTH_FEMALE = (
    "Aishwarya", "Bhavana", "Deepa", "Gayathri", "Harini", "Janani", "Kavya", "Keerthana",
    "Lakshmi", "Lavanya", "Meenakshi", "Nandini", "Padma", "Priyanka", "Radha", "Revathi",
    "Sangeetha", "Shalini", "Sindhu", "Sowmya", "Swathi", "Vidya", "Anitha", "Malini",
)  # fmt: skip
NORTH_SURNAMES = (
    "Agarwal", "Arora", "Bansal", "Bhatia", "Chauhan", "Chopra", "Deshpande", "Desai",
    "Gupta", "Jadhav", "Jain", "Joshi", "Kapoor", "Khanna", "Kulkarni", "Kumar", "Malhotra",
    "Mehra", "Mishra", "Pandey", "Patel", "Patil", "Pawar", "Saxena", "Sethi", "Shah",
    "Sharma", "Shinde", "Singh", "Srivastava", "Tiwari", "Verma", "Yadav", "Gokhale",
)  # fmt: skip
SOUTH_SURNAMES = (
    "Bhat", "Chandrasekhar", "Gowda", "Hegde", "Iyer", "Kamath", "Krishnan", "Menon",
    "Murthy", "Naidu", "Nair", "Pillai", "Rajan", "Raman", "Rao", "Reddy", "Shetty",
    "Srinivasan", "Subramanian", "Venkataraman", "Iyengar", "Varghese",
)  # fmt: skip

# What people call themselves on WhatsApp when it is not their given name.
MALE_NICKNAMES = ("Bunty", "Pappu", "Raju", "Chintu", "Bablu", "Sonu", "Monu", "Vicky", "Guddu")
FEMALE_NICKNAMES = ("Pinky", "Sweety", "Dolly", "Guddi", "Ammu", "Anu", "Chinni", "Minnie")

CANCEL_REASONS = (
    "Patient unwell, will come later",
    "Travelling out of town",
    "Work emergency",
    "Feeling better now",
    "Clash with child's school exam",
    "Heavy rain, cannot come",
    "Will visit another day",
    "",
)

# A line of notes on some bookings, so the appointment screen is not all blank.
VISIT_NOTES = (
    "Fever since 2 days",
    "BP review",
    "Sugar report to show",
    "Cough and cold",
    "Follow-up after blood test",
    "Rash on arms",
    "Vaccination due as per card",
    "Knee pain, wants referral",
    "Acidity, not sleeping well",
    "Bring previous prescription",
)


LOYALTY = 0.85  # a returning patient mostly sees the doctor they saw first
RETURN_GAP = 7  # days before a patient books again (a follow-up is a week on, at the soonest)


@dataclass
class Person:
    """One demo patient, and how they behave over the six months."""

    name: str
    phone: str
    whatsapp_name: str | None
    weight: float  # how often they come back, relative to others
    no_show: float  # the chance they miss a booked visit
    due: datetime  # when they first turn up at the clinic
    last_day: date | None = None  # their latest booked day, so nobody books twice a day


class Roster:
    """Who takes each booking: a newcomer when one is due, else a returning patient."""

    def __init__(self, people: list[Person], doctors: int) -> None:
        self.people = people
        self.arrived = 0  # people[:arrived] have been to the clinic (people are in that order)
        # Each doctor's returning patients: those whose first visit was with them.
        self.regulars: list[list[int]] = [[] for _ in range(doctors)]

    def pick(self, rng: random.Random, doctor: int, start: datetime) -> int | None:
        """The index of the patient who books ``doctor`` at ``start``, or None: slot stays free."""
        people, day = self.people, start.date()
        if self._due(start):
            return self._welcome(doctor, day)
        pool: list[int] | range = self.regulars[doctor]
        if not pool or rng.random() > LOYALTY:
            pool = range(self.arrived)
        for _ in range(6):
            if not pool:
                break
            chosen = rng.choices(pool, [people[i].weight for i in pool])[0]
            last = people[chosen].last_day
            if last is None or (day - last).days >= RETURN_GAP:
                people[chosen].last_day = day
                return chosen
        # Nobody is due back: an early newcomer may take the slot, else it stays free.
        if self._due(start + timedelta(days=3)):
            return self._welcome(doctor, day)
        return None

    def _due(self, moment: datetime) -> bool:
        return self.arrived < len(self.people) and self.people[self.arrived].due <= moment

    def _welcome(self, doctor: int, day: date) -> int:
        index = self.arrived
        self.arrived += 1
        self.people[index].last_day = day
        self.regulars[doctor].append(index)
        return index


def make_people(rng: random.Random, opened: datetime, now: datetime, count: int) -> list[Person]:
    """``count`` patients in order of arrival: a rush in the first fortnight, then a steady
    trickle up to now, and a few newcomers whose first visit is still ahead."""
    fortnight = opened + timedelta(days=14)
    early, upcoming = count // 5, max(1, count // 25)
    windows = (
        [(opened, fortnight)] * early
        + [(fortnight, now - timedelta(days=1))] * (count - early - upcoming)
        + [(now, now + timedelta(days=10))] * upcoming
    )
    dues = sorted(start + (end - start) * rng.random() for start, end in windows)
    flaky = set(rng.sample(range(count), k=max(1, count // 30)))
    names: set[str] = set()
    phones: set[str] = set()
    people = []
    for i, due in enumerate(dues):
        first, last, male = _name(rng, names)
        people.append(
            Person(
                name=f"{first} {last}",
                phone=_phone(rng, phones),
                whatsapp_name=_whatsapp_name(rng, first, last, male),
                weight=rng.lognormvariate(0, 0.6),
                no_show=0.45 if i in flaky else 0.105,
                due=due,
            )
        )
    return people


def _name(rng: random.Random, taken: set[str]) -> tuple[str, str, bool]:
    """A first name and a surname, unique in the clinic; mostly from one region."""
    while True:
        south = rng.random() < 0.35
        male = rng.random() < 0.5
        firsts = (
            (SOUTH_MALE if male else SOUTH_FEMALE)
            if south
            else (NORTH_MALE if male else NORTH_FEMALE)
        )
        # Inter-state marriages and moves: some surnames come from the other region.
        from_south = south != (rng.random() < 0.1)
        first = rng.choice(firsts)
        last = rng.choice(SOUTH_SURNAMES if from_south else NORTH_SURNAMES)
        if f"{first} {last}" not in taken:
            taken.add(f"{first} {last}")
            return first, last, male


def _phone(rng: random.Random, taken: set[str]) -> str:
    """An Indian mobile number in E.164 that phonenumbers accepts, unique in the clinic."""
    while True:
        national = str(rng.choice("6789")) + "".join(rng.choice(digits) for _ in range(9))
        phone = "+91" + national
        if phone not in taken and phonenumbers.is_valid_number(phonenumbers.parse(phone)):
            taken.add(phone)
            return phone


def _whatsapp_name(rng: random.Random, first: str, last: str, male: bool) -> str | None:
    """About half the patients wrote in first on WhatsApp, under their profile name."""
    roll = rng.random()
    if roll < 0.45:
        return None
    if roll < 0.75:
        return first
    if roll < 0.88:
        return rng.choice(MALE_NICKNAMES if male else FEMALE_NICKNAMES)
    return f"{first} {last[0]}"
