"""Fuzzing the live staff API over real HTTP: nothing a client sends gets a 5xx.

schemathesis walks the whole OpenAPI schema (its examples, coverage and fuzzing phases). A
clinic with doctors, services, hours, time off, patients and appointments exists first, and
about half of the generated ids are swapped for real ones, so requests get past the 404s into
the rules behind them. Then random JSON is thrown at every POST and PATCH route, and
malformed, mistyped or unknown-field bodies must be a 400.

schemathesis reads the schema when pytest collects this module, so the module runs its own
server from then on (stopped after its tests by the ``fuzz_server`` fixture, else at exit).
``schemathesis.pytest.from_fixture`` would avoid that, but on pytest 9.2 it fails at once:
it writes ``Function._nodeid``, which pytest no longer has.
"""

from __future__ import annotations

import atexit
import json
import random
import re
import shutil
import tempfile
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error

from tests.conftest import RunningServer, start_server
from tests.factories import make_clinic_api, next_weekday

API = "/api/v1"
JSON = {"Content-Type": "application/json"}
SCHEMA_EXAMPLES = 25  # per operation in the fuzzing phase; examples and coverage come on top
RANDOM_BODIES = 200  # per POST/PATCH route
SETTINGS = settings(
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)

# Which kind of record a path parameter, query parameter or body field names.
ID_KINDS = {
    "clinic_id": "clinic",
    "doctor_id": "doctor",
    "service_id": "service",
    "patient_id": "patient",
    "appointment_id": "appointment",
    "hours_id": "hours",
    "time_off_id": "time_off",
    "phone": "phone",
}

_DATA_DIR = Path(tempfile.mkdtemp(prefix="clinicbot-fuzz-"))
# The fuzzer saves random settings too: keep every address the server may then call on
# loopback (a closed port), so the fuzz run never reaches outside this machine. Set in the
# environment, the relay's address cannot be replaced through the API (409).
_CLOSED = "http://127.0.0.1:9"
_SERVER = start_server(
    _DATA_DIR,
    env={
        "CLINICBOT_WHATSAPP_API_BASE": f"{_CLOSED}/v25.0",
        "CLINICBOT_RELAY_URL": _CLOSED,
        "CLINICBOT_RELAY_TOKEN": "fuzz-relay-token",
    },
)


@atexit.register
def _shut_down() -> None:
    _SERVER.stop()
    shutil.rmtree(_DATA_DIR, ignore_errors=True)


_SCHEMA_URL = f"{_SERVER.staff_url}schema/openapi.json"
_SPEC: dict[str, Any] = httpx.get(_SCHEMA_URL, timeout=30).json()

schema = schemathesis.openapi.from_url(_SCHEMA_URL, timeout=30)


def _body_fields(operation: dict[str, Any]) -> dict[str, Any]:
    """The properties of an operation's JSON body, from its component schema."""
    ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    properties: dict[str, Any] = _SPEC["components"]["schemas"][ref.rsplit("/", 1)[-1]][
        "properties"
    ]
    return properties


# Every POST and PATCH with a body in the live schema: a new route is fuzzed without editing
# this file (those without a body, like take over and hand back, are left to schemathesis).
WRITE_ROUTES = sorted(
    (method.upper(), path, _body_fields(operation))
    for path, item in _SPEC["paths"].items()
    for method, operation in item.items()
    if method in ("post", "patch") and path.startswith(API) and "requestBody" in operation
)
ROUTE_IDS = [f"{method} {path}" for method, path, _ in WRITE_ROUTES]


@pytest.fixture(scope="module")
def fuzz_server() -> Iterator[RunningServer]:
    yield _SERVER
    assert _SERVER.stop() == 0


@pytest.fixture(scope="module")
def fuzz_client(fuzz_server: RunningServer) -> Iterator[httpx.Client]:
    with fuzz_server.client() as client:
        yield client


@pytest.fixture(scope="module")
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


@pytest.fixture(scope="module")
def real_ids(fuzz_client: httpx.Client) -> dict[str, list[str]]:
    """A clinic with everything in it; the fuzzers aim some of their requests at these ids."""
    api = fuzz_client
    clinic = make_clinic_api(api, doctors=2, name="Fuzz")
    monday = next_weekday(date.today())
    patients, appointments = [], []
    for i in range(3):
        r = api.post(
            f"{API}/patients",
            json={"clinic_id": clinic.id, "name": f"Fuzz Patient {i}", "phone": f"+9191{i:08d}"},
        )
        assert r.status_code == 201, r.text
        patients.append(r.json()["id"])
        r = api.post(
            f"{API}/appointments",
            json={
                "clinic_id": clinic.id,
                "doctor_id": clinic.doctor_ids[i % 2],
                "service_id": clinic.service,
                "starts_at": f"{monday + timedelta(days=i)}T10:00",
                "patient_id": patients[-1],
            },
        )
        assert r.status_code == 201, r.text
        appointments.append(r.json()["id"])
    hours = api.get(f"{API}/working-hours", params={"clinic_id": clinic.id}).json()
    r = api.post(
        f"{API}/time-off",
        json={
            "clinic_id": clinic.id,
            "doctor_id": clinic.doctor,
            "starts_at": f"{monday + timedelta(days=14)}T09:00",
            "ends_at": f"{monday + timedelta(days=14)}T13:00",
        },
    )
    assert r.status_code == 201, r.text
    return {
        "clinic": [clinic.id],
        "doctor": clinic.doctor_ids,
        "service": clinic.service_ids,
        "patient": patients,
        "appointment": appointments,
        "hours": [h["id"] for h in hours[:4]],
        "time_off": [r.json()["id"]],
        "phone": ["+919100000000", "9100000001", "91 0000 0002"],
    }


def _fill(path: str, real_ids: dict[str, list[str]]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: real_ids[ID_KINDS[m.group(1)]][0], path)


# schemathesis over the whole schema ------------------------------------------------------


@settings(SETTINGS, max_examples=SCHEMA_EXAMPLES)
@schema.parametrize()
def test_schemathesis_finds_no_server_error(
    case: Any,
    fuzz_server: RunningServer,
    real_ids: dict[str, list[str]],
    http: requests.Session,
) -> None:
    # Aim about half of the ids at real records (path, query and body alike). The choice is
    # seeded by the case itself, so a run repeats exactly. (``@schema.given`` would let
    # hypothesis draw it, but schemathesis refuses it beside the schema's examples.)
    rng = random.Random(f"{case.operation.label}|{case.path_parameters}|{case.query}|{case.body!r}")
    containers = [case.path_parameters, case.query]
    if isinstance(case.body, dict):
        containers.append(case.body)
    for container in containers:
        for name in list(container or {}):
            kind = ID_KINDS.get(name)
            if kind and rng.random() < 0.5:
                container[name] = rng.choice(real_ids[kind])
    case.call_and_validate(
        session=http,
        headers={"Authorization": f"Bearer {fuzz_server.token}"},
        checks=[not_a_server_error],
    )


# random JSON at every POST and PATCH route ----------------------------------------------

JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
    | st.sampled_from(["", "2026-12-07T10:00", "24:00", "IN", "Asia/Kolkata", "confirmed"])
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)


def _bodies(fields: list[str], real_ids: dict[str, list[str]]) -> st.SearchStrategy[Any]:
    """Any JSON at all, or an object of the route's own fields holding any JSON or a real id."""
    id_values = st.sampled_from([i for ids in real_ids.values() for i in ids])
    own = st.dictionaries(
        st.sampled_from(fields) if fields else st.text(max_size=8),
        JSON_VALUES | id_values,
        max_size=len(fields) + 1,
    )
    return JSON_VALUES | own


@pytest.mark.parametrize(("method", "template", "fields"), WRITE_ROUTES, ids=ROUTE_IDS)
def test_random_json_bodies_never_get_a_5xx(
    fuzz_client: httpx.Client,
    real_ids: dict[str, list[str]],
    method: str,
    template: str,
    fields: dict[str, Any],
) -> None:
    path = _fill(template, real_ids)
    failures: list[tuple[object, int, str]] = []

    @settings(SETTINGS, max_examples=RANDOM_BODIES)
    @given(body=_bodies(sorted(fields), real_ids))
    def throw(body: Any) -> None:
        r = fuzz_client.request(method, path, content=json.dumps(body).encode(), headers=JSON)
        if r.status_code >= 500:
            failures.append((body, r.status_code, r.text))

    throw()
    assert failures == [], failures[:5]


def test_every_resource_has_its_write_routes() -> None:
    """The control for the enumeration above: the schema really was read."""
    assert len(WRITE_ROUTES) >= 14, ROUTE_IDS
    for resource in ("clinics", "doctors", "services", "working-hours", "time-off", "patients"):
        assert f"POST {API}/{resource}" in ROUTE_IDS
    assert f"POST {API}/appointments" in ROUTE_IDS
    assert f"PATCH {API}/appointments/{{appointment_id}}" in ROUTE_IDS


# malformed, unknown and mistyped bodies --------------------------------------------------

MALFORMED = [
    b"",
    b"{",
    b'{"name": ',
    b"{'name': 'x'}",
    b'{"name": "x",}',
    b"\xff\xfe\x00",
    b"null",
    b"[]",
    b'"text"',
    b"12",
    b'{"name": NaN}',
    b'{"a": 1e999}',
    b"[" * 5000,
    b"[" * 2000 + b"]" * 2000,
    b'{"name": ' + b"[" * 2000 + b"]" * 2000 + b"}",
]


@pytest.mark.parametrize(("method", "template", "fields"), WRITE_ROUTES, ids=ROUTE_IDS)
def test_malformed_json_is_400(
    fuzz_client: httpx.Client,
    real_ids: dict[str, list[str]],
    method: str,
    template: str,
    fields: dict[str, Any],
) -> None:
    path = _fill(template, real_ids)
    answers = {
        raw[:24]: fuzz_client.request(method, path, content=raw, headers=JSON).status_code
        for raw in MALFORMED
    }
    assert {raw: code for raw, code in answers.items() if code != 400} == {}


@pytest.mark.parametrize(("method", "template", "fields"), WRITE_ROUTES, ids=ROUTE_IDS)
def test_unknown_fields_are_400(
    fuzz_client: httpx.Client,
    real_ids: dict[str, list[str]],
    method: str,
    template: str,
    fields: dict[str, Any],
) -> None:
    path = _fill(template, real_ids)
    answers = {
        next(iter(body)): fuzz_client.request(method, path, json=body).status_code
        for body in ({"no_such_field": 1}, {"id": real_ids["clinic"][0]}, {"created_at": "x"})
    }
    assert {field: code for field, code in answers.items() if code != 400} == {}


def _wrong_type(prop: dict[str, Any]) -> object:
    types = {prop.get("type")} | {
        o.get("type") for o in prop.get("oneOf", []) + prop.get("anyOf", [])
    }
    if "string" in types:
        return 12345
    if "integer" in types or "number" in types:
        return "twelve"
    if "boolean" in types:
        return "yes"
    if "array" in types:
        return {"not": "a list"}
    return ["?"]


@pytest.mark.parametrize(("method", "template", "fields"), WRITE_ROUTES, ids=ROUTE_IDS)
def test_wrong_types_are_400(
    fuzz_client: httpx.Client,
    real_ids: dict[str, list[str]],
    method: str,
    template: str,
    fields: dict[str, Any],
) -> None:
    path = _fill(template, real_ids)
    answers = {
        field: fuzz_client.request(method, path, json={field: _wrong_type(prop)}).status_code
        for field, prop in fields.items()
    }
    assert {field: code for field, code in answers.items() if code != 400} == {}
