"""The staff listener's gate and the webhook listener's narrowness, over real HTTP.

Every (path, method) under /api/v1 comes from the live OpenAPI schema, so a new route is
covered without editing this file.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.conftest import STAFF_TOKEN, VERIFY_TOKEN, RunningServer, start_server

DUMMY_ID = "00000000-0000-4000-8000-000000000000"
METHODS = {"get", "post", "put", "patch", "delete"}
FOREIGN_HOSTS = ["evil.example", "localhost.evil.com", "127.0.0.1.nip.io"]


def _operations(server: RunningServer) -> list[tuple[str, str]]:
    schema = httpx.get(f"{server.staff_url}schema/openapi.json", timeout=30).json()
    operations = [
        (method.upper(), re.sub(r"\{[^}]+\}", DUMMY_ID, path))
        for path, item in schema["paths"].items()
        if path.startswith("/api/v1")
        for method in item
        if method in METHODS
    ]
    return sorted(operations)


@pytest.fixture(scope="module")
def operations(server: RunningServer) -> list[tuple[str, str]]:
    found = _operations(server)
    # The schema really was enumerated: every resource of DESIGN.md is there.
    paths = {path for _, path in found}
    for resource in (
        "clinics",
        "doctors",
        "services",
        "working-hours",
        "time-off",
        "patients",
        "appointments",
    ):
        assert f"/api/v1/{resource}" in paths, resource
    assert len(found) >= 35
    return found


@pytest.fixture(scope="module")
def raw(server: RunningServer) -> Iterator[httpx.Client]:
    """A client with no credentials of its own."""
    with httpx.Client(base_url=server.staff_url.rstrip("/"), timeout=30) as client:
        yield client


def _send(client: httpx.Client, method: str, path: str, headers: dict[str, str]) -> httpx.Response:
    body: dict[str, object] | None = {} if method in ("POST", "PATCH", "PUT") else None
    return client.request(method, path, headers=headers, json=body)


def _one_char_off(token: str) -> str:
    last = token[-1]
    return token[:-1] + ("A" if last != "A" else "B")


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer wrong",
        "Basic dXNlcjpwYXNz",
        f"Basic {STAFF_TOKEN}",
        f"Bearer {_one_char_off(STAFF_TOKEN)}",
        f"Bearer {STAFF_TOKEN[:-1]}",
        f"Bearer {STAFF_TOKEN}x",
        "Bearer",
        STAFF_TOKEN,
    ],
    ids=[
        "none",
        "wrong",
        "basic",
        "basic-with-token",
        "one-char-off",
        "prefix",
        "longer",
        "empty",
        "no-scheme",
    ],
)
def test_every_api_route_needs_the_token(
    raw: httpx.Client, operations: list[tuple[str, str]], authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    answers = {(m, p): _send(raw, m, p, headers).status_code for m, p in operations}
    assert {op: code for op, code in answers.items() if code != 401} == {}


def test_the_right_token_opens_every_route(
    server: RunningServer, raw: httpx.Client, operations: list[tuple[str, str]]
) -> None:
    """The control: with the token nothing is refused (so the 401s above mean something)."""
    headers = {"Authorization": f"Bearer {server.token}"}
    answers = {(m, p): _send(raw, m, p, headers).status_code for m, p in operations}
    assert {op: code for op, code in answers.items() if code in (401, 403) or code >= 500} == {}


def test_401_says_how_to_authenticate(raw: httpx.Client) -> None:
    r = raw.get("/api/v1/clinics")
    assert r.status_code == 401
    assert r.headers["www-authenticate"].lower().startswith("bearer")
    assert r.json()["status_code"] == 401


def test_unknown_api_paths_need_the_token_too(raw: httpx.Client) -> None:
    assert raw.get("/api/v1/no-such-thing").status_code == 401
    assert raw.get("/api/v2/clinics").status_code == 401


@pytest.mark.parametrize("host", FOREIGN_HOSTS)
@pytest.mark.parametrize("with_port", [False, True])
def test_foreign_host_is_403_everywhere(
    server: RunningServer,
    raw: httpx.Client,
    operations: list[tuple[str, str]],
    host: str,
    with_port: bool,
) -> None:
    port = urlsplit(server.staff_url).port
    header = f"{host}:{port}" if with_port else host
    headers = {"Host": header, "Authorization": f"Bearer {server.token}"}
    answers = {(m, p): _send(raw, m, p, headers).status_code for m, p in operations}
    for path in ("/schema/openapi.json", "/", "/index.html", "/schema"):
        answers[("GET", path)] = raw.get(path, headers=headers).status_code
    assert {op: code for op, code in answers.items() if code != 403} == {}


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]", "LOCALHOST"])
@pytest.mark.parametrize("with_port", [False, True])
def test_allowed_hosts_are_served(
    server: RunningServer, raw: httpx.Client, host: str, with_port: bool
) -> None:
    port = urlsplit(server.staff_url).port
    header = f"{host}:{port}" if with_port else host
    auth = {"Authorization": f"Bearer {server.token}"}
    assert raw.get("/api/v1/health", headers={"Host": header, **auth}).status_code == 200
    assert raw.get("/schema/openapi.json", headers={"Host": header}).status_code == 200
    assert raw.get("/", headers={"Host": header}).status_code == 200


def test_host_check_comes_before_the_token(raw: httpx.Client) -> None:
    assert raw.get("/api/v1/clinics", headers={"Host": "evil.example"}).status_code == 403


@pytest.fixture(scope="module")
def webhook_origin(server: RunningServer) -> str:
    parts = urlsplit(server.webhook_url)
    return f"{parts.scheme}://{parts.netloc}"


def test_webhook_listener_serves_no_api(
    server: RunningServer, webhook_origin: str, operations: list[tuple[str, str]]
) -> None:
    headers = {"Authorization": f"Bearer {server.token}"}
    with httpx.Client(base_url=webhook_origin, timeout=30) as client:
        answers = {(m, p): _send(client, m, p, headers).status_code for m, p in operations}
        for path in (
            "/",
            "/index.html",
            "/schema",
            "/schema/openapi.json",
            "/schema/openapi.yaml",
            "/schema/swagger",
            "/api/v1/health",
        ):
            answers[("GET", path)] = client.get(path, headers=headers).status_code
            answers[("GET", path + " (no token)")] = client.get(path).status_code
    assert {op: code for op, code in answers.items() if code not in (404, 405)} == {}


def test_webhook_listener_answers_its_own_route(server: RunningServer) -> None:
    """The control for the test above: the listener is up and serves the webhook."""
    r = httpx.get(server.webhook_url, params={"hub.mode": "subscribe"}, timeout=30)
    assert r.status_code == 403  # no verify token given, but the route is there


def test_webhook_listener_accepts_any_host(server: RunningServer) -> None:
    """A tunnel's public name arrives here: no Host allow-list on this listener."""
    r = httpx.get(
        server.webhook_url,
        params={"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "42"},
        headers={"Host": "abc.trycloudflare.com"},
        timeout=30,
    )
    assert (r.status_code, r.text) == (200, "42")


def test_allowed_hosts_setting_extends_the_list(tmp_path: Path) -> None:
    running = start_server(
        tmp_path, env={"CLINICBOT_ALLOWED_HOSTS": "127.0.0.1,localhost,clinic-pc.lan"}
    )
    try:
        port = urlsplit(running.staff_url).port
        with running.client() as client:
            for host in ("clinic-pc.lan", f"clinic-pc.lan:{port}", "CLINIC-PC.LAN", "localhost"):
                r = client.get("/api/v1/health", headers={"Host": host})
                assert r.status_code == 200, (host, r.text)
            for host in ("evil.example", "clinic-pc.lan.evil.com", "clinic-pc"):
                assert client.get("/api/v1/health", headers={"Host": host}).status_code == 403
            # The allow-list does not replace the token.
            r = client.get("/api/v1/health", headers={"Host": "clinic-pc.lan", "Authorization": ""})
            assert r.status_code == 401
    finally:
        assert running.stop() == 0
