"""The change feed behind the staff window's live updates: a long poll on /changes."""

from __future__ import annotations

import threading
import time

import httpx

from tests.conftest import RunningServer


def test_a_poll_without_a_change_answers_with_the_same_version_after_its_wait(
    api: httpx.Client,
) -> None:
    first = api.get("/api/v1/changes").json()["version"]
    again = api.get("/api/v1/changes", params={"after": first, "wait": 0.3})
    assert again.status_code == 200
    assert again.json()["version"] in (first, api.get("/api/v1/changes").json()["version"])


def test_a_waiting_poll_answers_as_soon_as_anything_is_written(
    server: RunningServer, api: httpx.Client
) -> None:
    answers: list[tuple[str, float]] = []
    # Another test's writes may bump the version; wait until it holds still first.
    version = api.get("/api/v1/changes").json()["version"]

    def poll() -> None:
        with server.client() as own:
            started = time.monotonic()
            body = own.get("/api/v1/changes", params={"after": version, "wait": 20}).json()
            answers.append((body["version"], time.monotonic() - started))

    waiter = threading.Thread(target=poll)
    waiter.start()
    time.sleep(0.5)
    created = api.post("/api/v1/clinics", json={"name": "Change Feed Clinic"})
    assert created.status_code == 201
    waiter.join(timeout=15)
    assert answers, "the poll did not answer after a write"
    new_version, waited = answers[0]
    assert new_version != version
    assert waited < 15  # it answered on the write, not at the end of its 20 s wait


def test_a_version_from_before_a_restart_gets_the_current_one_at_once(api: httpx.Client) -> None:
    started = time.monotonic()
    body = api.get("/api/v1/changes", params={"after": "0-0", "wait": 20}).json()
    assert body["version"] != "0-0"
    assert time.monotonic() - started < 15


def test_bad_waits_are_refused_clearly(api: httpx.Client) -> None:
    for wait in ("-1", "31", "soon"):
        answer = api.get("/api/v1/changes", params={"wait": wait})
        assert answer.status_code == 400, wait
