"""The settings screen's API over real HTTP: WhatsApp and relay settings saved in the data
directory (0600, secrets never shown in full), the environment winning over them, their
live application (webhook signature and handshake, the sender, the relay poller) without a
restart, the connection test against the local fake of the Graph API, the staff token's
rotation, and the first run's demo clinic.
"""

from __future__ import annotations

import asyncio
import json
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from clinicbot.config import Connection, LiveConnection, load_settings, write_private
from clinicbot.services.app_settings import check_connection
from clinicbot.web.security import StaffToken
from tests.conftest import STAFF_TOKEN, RunningServer, start_server
from tests.factories import make_clinic_api
from tests.fakes import FakeWhatsApp
from tests.fakes.whatsapp import VERIFIED_NAME

API = "/api/v1"
WHATSAPP = f"{API}/settings/whatsapp"
SECRET = "saved-app-secret-0123456789"
TOKEN = "EAAGsavedAccessToken0123456789abcdef"

JSON = dict[str, Any]


@pytest.fixture
def processes() -> Iterator[list[RunningServer]]:
    started: list[RunningServer] = []
    yield started
    for server in started:
        server.stop()


def serve(path: Path, processes: list[RunningServer], *extra: str, **env: str) -> RunningServer:
    running = start_server(path, *extra, env=env)
    processes.append(running)
    return running


def wait_for(predicate: Any, what: str, timeout: float = 15.0) -> Any:
    return FakeWhatsApp.wait_for(predicate, timeout=timeout, what=what)


def put(api: httpx.Client, body: JSON, status: int = 200) -> JSON:
    r = api.put(WHATSAPP, json=body)
    assert r.status_code == status, r.text
    answer: JSON = r.json()
    return answer


# --- saved, masked, kept -------------------------------------------------------------------


def test_saved_settings_are_masked_kept_0600_and_survive_a_restart(
    tmp_path: Path, processes: list[RunningServer]
) -> None:
    clinic = serve(tmp_path, processes)
    with clinic.client() as api:
        before = api.get(WHATSAPP).json()
        assert before["whatsapp_access_token"] == {
            "source": "unset",
            "env_var": "CLINICBOT_WHATSAPP_ACCESS_TOKEN",
            "value": None,
            "hint": None,
        }
        assert before["whatsapp_api_base"]["source"] == "default"
        assert before["whatsapp_verify_token"]["source"] == "environment"  # start_server sets it
        saved = put(
            api,
            {
                "whatsapp_access_token": TOKEN,
                "whatsapp_phone_number_id": "106540352242922",
                "whatsapp_app_secret": SECRET,
                "relay_token": "short",
            },
        )
        assert api.get(WHATSAPP).json() == saved
    assert saved["whatsapp_access_token"] == {
        "source": "saved",
        "env_var": "CLINICBOT_WHATSAPP_ACCESS_TOKEN",
        "value": None,
        "hint": "…" + TOKEN[-4:],
    }
    assert saved["whatsapp_phone_number_id"]["value"] == "106540352242922"
    assert saved["relay_token"]["source"] == "saved" and saved["relay_token"]["hint"] is None
    for secret in (TOKEN, SECRET, "short"):
        assert secret not in json.dumps(saved)
    path = tmp_path / "settings.json"
    assert saved["file"] == str(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text())["whatsapp_app_secret"] == SECRET
    assert [p.name for p in tmp_path.glob(".settings.json.*")] == []  # no temporary left

    clinic.stop()
    again = serve(tmp_path, processes)
    with again.client() as api:
        assert api.get(WHATSAPP).json() == saved
        cleared = put(api, {"relay_token": None, "whatsapp_access_token": TOKEN + "2"})
    assert cleared["relay_token"]["source"] == "unset"
    assert cleared["whatsapp_access_token"]["hint"] == "…def2"
    assert "relay_token" not in json.loads(path.read_text())
    assert all(secret not in "".join(clinic.output + again.output) for secret in (TOKEN, SECRET))


def test_the_environment_wins_and_cannot_be_saved_over(
    tmp_path: Path, processes: list[RunningServer]
) -> None:
    # A value saved earlier for the app secret, and now the environment sets one too.
    write_private(tmp_path / "settings.json", json.dumps({"whatsapp_app_secret": SECRET}))
    fake = FakeWhatsApp(app_secret="env-app-secret-abcdefgh").start()
    try:
        clinic = serve(tmp_path, processes, CLINICBOT_WHATSAPP_APP_SECRET=fake.app_secret)
        fake.webhook_url = clinic.webhook_url
        with clinic.client() as api:
            shown = api.get(WHATSAPP).json()
            assert shown["whatsapp_app_secret"]["source"] == "environment"
            assert shown["whatsapp_app_secret"]["hint"] == "…efgh"
            r = api.put(WHATSAPP, json={"whatsapp_app_secret": "another-secret-123"})
            assert r.status_code == 409
            assert r.json()["extra"][0]["key"] == "whatsapp_app_secret"
            assert "CLINICBOT_WHATSAPP_APP_SECRET" in r.json()["detail"]
            assert api.put(WHATSAPP, json={"whatsapp_verify_token": None}).status_code == 409
            assert put(api, {"relay_token": "relay-token-1"})["relay_token"]["source"] == "saved"
        # The environment's secret is the one the webhook checks, not the saved one.
        assert fake.patient_says("919800000001", "Hi").delivery is not None
        bad = FakeWhatsApp(app_secret=SECRET).start()
        try:
            bad.webhook_url = clinic.webhook_url
            refused = bad.patient_says("919800000002", "Hi", wait=False).delivery
            assert refused is not None
            wait_for(lambda: 403 in refused.attempts, "the saved secret refused")
        finally:
            bad.stop()
    finally:
        fake.stop()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"relay_url": "ftp://relay.example.com"}, "relay_url"),
        ({"relay_url": "https://"}, "relay_url"),
        ({"relay_url": "https://exa mple.com"}, "relay_url"),
        ({"whatsapp_phone_number_id": "+91 98765 43210"}, "whatsapp_phone_number_id"),
        ({"whatsapp_access_token": "two words"}, "whatsapp_access_token"),
        ({"whatsapp_access_token": ""}, "whatsapp_access_token"),
        ({"whatsapp_api_base": "http://127.0.0.1:1/v25.0"}, None),  # the environment's only
        ({"no_such_setting": "x"}, None),
    ],
)
def test_bad_values_are_400_and_change_nothing(
    api: httpx.Client, body: JSON, field: str | None
) -> None:
    before = api.get(WHATSAPP).json()
    r = api.put(WHATSAPP, json=body)
    assert r.status_code == 400, r.text
    if field is not None:
        assert r.json()["extra"][0]["key"] == field
    assert api.get(WHATSAPP).json() == before


@pytest.mark.parametrize(
    "raw",
    [b"", b"{", b"null", b"[]", b'"text"', b'{"whatsapp_access_token": 12}', b"[" * 3000],
)
def test_malformed_bodies_are_400(api: httpx.Client, raw: bytes) -> None:
    headers = {"Content-Type": "application/json"}
    assert api.put(WHATSAPP, content=raw, headers=headers).status_code == 400


def test_a_relay_url_with_no_host_is_400(api: httpx.Client) -> None:
    r = api.put(WHATSAPP, json={"relay_url": "https://:8080"})
    assert r.status_code == 400 and r.json()["extra"][0]["key"] == "relay_url"


# --- applied at once -----------------------------------------------------------------------


def test_a_saved_app_secret_and_verify_token_apply_without_a_restart(
    tmp_path: Path, processes: list[RunningServer]
) -> None:
    with FakeWhatsApp(app_secret=SECRET, webhook_retry=(0.05, 0.2)) as fake:
        clinic = serve(tmp_path, processes, "--demo", CLINICBOT_WHATSAPP_VERIFY_TOKEN="")
        fake.webhook_url = clinic.webhook_url
        handshake = {"hub.mode": "subscribe", "hub.verify_token": "my-verify-token"}
        handshake["hub.challenge"] = "1158201444"
        assert httpx.get(clinic.webhook_url, params=handshake).status_code == 403
        said = fake.patient_says("919811112222", "Hi", wait=False).delivery
        assert said is not None
        wait_for(lambda: said.attempts[:2] == [403, 403], "the unsigned-for clinic to refuse")

        with clinic.client() as api:
            assert api.get(f"{API}/tunnel").json()["verify_token_set"] is False
            put(api, {"whatsapp_app_secret": SECRET, "whatsapp_verify_token": "my-verify-token"})
            assert api.get(f"{API}/tunnel").json()["verify_token_set"] is True  # the screen sees it
            assert said.wait(15) == 200  # Meta's next retry is accepted
            answered = httpx.get(clinic.webhook_url, params=handshake)
            assert (answered.status_code, answered.text) == (200, "1158201444")
            clinic_id = api.get(f"{API}/clinics").json()[0]["id"]
            patient = f"{API}/patients/by-phone/919811112222"
            wait_for(
                lambda: api.get(patient, params={"clinic_id": clinic_id}).status_code == 200,
                "the patient of the stored message",
            )
            # Cleared again: refused again, at once.
            put(api, {"whatsapp_app_secret": None})
            refused = fake.patient_says("919811113333", "Hi", wait=False).delivery
            assert refused is not None
            wait_for(lambda: 403 in refused.attempts, "the refusal once the secret is gone")


def test_messages_wait_until_credentials_are_saved_then_go_out(
    tmp_path: Path, processes: list[RunningServer]
) -> None:
    with FakeWhatsApp() as fake:
        env = fake.env()
        del env["CLINICBOT_WHATSAPP_ACCESS_TOKEN"], env["CLINICBOT_WHATSAPP_PHONE_NUMBER_ID"]
        clinic = serve(tmp_path, processes, "--demo", **env)
        fake.webhook_url = clinic.webhook_url
        patient = "919822223333"
        fake.patient_says(patient, "Hi")
        with clinic.client() as api:
            clinic_id = api.get(f"{API}/clinics").json()[0]["id"]

            def waiting() -> JSON | None:
                s: JSON = api.get(f"{API}/messages/sender", params={"clinic_id": clinic_id}).json()
                return s if s["state"] == "not_configured" and s["backlog"] > 0 else None

            wait_for(waiting, "the bot's reply to wait for credentials")
            assert fake.messages_to(patient) == []
            put(
                api,
                {
                    "whatsapp_access_token": fake.access_token,
                    "whatsapp_phone_number_id": fake.phone_number_id,
                },
            )
            wait_for(lambda: fake.messages_to(patient), "the reply to go out once saved")
            state = api.get(f"{API}/messages/sender", params={"clinic_id": clinic_id}).json()
            assert state["state"] in ("ok", "retrying")


def test_the_relay_poller_follows_the_saved_relay(
    tmp_path: Path, processes: list[RunningServer], unused_port: int
) -> None:
    clinic = serve(tmp_path, processes, CLINICBOT_WHATSAPP_APP_SECRET=SECRET)
    with clinic.client() as api:
        assert api.get(f"{API}/relay").json()["state"] == "off"
        url = f"http://127.0.0.1:{unused_port}"
        put(api, {"relay_url": url, "relay_token": "relay-token-0123456789"})
        status = wait_for(
            lambda: (s := api.get(f"{API}/relay").json())["state"] == "retrying" and s,
            "the poller to try the new relay",
        )
        assert status["relay_url"] == url
        assert "cannot reach the relay" in status["last_error"]
        put(api, {"relay_url": None})
        status = wait_for(
            lambda: (s := api.get(f"{API}/relay").json())["state"] == "off" and s,
            "the poller to stop",
        )
        assert status["relay_url"] is None and status["last_error"] is None


@pytest.fixture
def unused_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


# --- the connection test -------------------------------------------------------------------


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeWhatsApp]:
    with FakeWhatsApp() as running:
        yield running


@pytest.fixture(scope="module")
def tested(tmp_path_factory: pytest.TempPathFactory, fake: FakeWhatsApp) -> Iterator[RunningServer]:
    """A clinic whose Graph API is the fake, with no credentials in the environment."""
    running = start_server(
        tmp_path_factory.mktemp("connection-test"),
        env={"CLINICBOT_WHATSAPP_API_BASE": fake.base_url},
    )
    yield running
    running.stop()


def connection_test(server: RunningServer, body: JSON | None = None) -> JSON:
    with server.client() as api:
        if body is not None:
            put(api, body)
        r = api.post(f"{WHATSAPP}/test")
        assert r.status_code == 200, r.text
        answer: JSON = r.json()
        return answer


def test_the_connection_test_names_the_number_when_all_is_right(
    tested: RunningServer, fake: FakeWhatsApp
) -> None:
    body = {
        "whatsapp_access_token": fake.access_token,
        "whatsapp_phone_number_id": fake.phone_number_id,
    }
    result = connection_test(tested, body)
    assert result == {
        "ok": True,
        "outcome": "connected",
        "detail": f"Connected to {VERIFIED_NAME} · +1 555-078-3881.",
        "display_phone_number": "+1 555-078-3881",
        "verified_name": VERIFIED_NAME,
    }
    asked = [c for c in fake.requests if c.path == f"/v25.0/{fake.phone_number_id}"]
    assert asked and asked[-1].status == 200


@pytest.mark.parametrize(
    ("body", "outcome", "words"),
    [
        (
            {"whatsapp_access_token": "EAAGnotTheRightToken1234"},
            "bad_token",
            "wrong or has expired",
        ),
        ({"whatsapp_phone_number_id": "109999999999999"}, "no_such_number", "109999999999999"),
        ({"whatsapp_access_token": None}, "not_configured", "access token"),
    ],
)
def test_the_connection_test_says_what_is_wrong(
    tested: RunningServer, fake: FakeWhatsApp, body: JSON, outcome: str, words: str
) -> None:
    right = {
        "whatsapp_access_token": fake.access_token,
        "whatsapp_phone_number_id": fake.phone_number_id,
    }
    result = connection_test(tested, {**right, **body})
    assert (result["ok"], result["outcome"]) == (False, outcome)
    assert words in result["detail"]


def test_an_expired_token_is_a_bad_token(tested: RunningServer, fake: FakeWhatsApp) -> None:
    fake.expire_token()
    try:
        body = {
            "whatsapp_access_token": fake.access_token,
            "whatsapp_phone_number_id": fake.phone_number_id,
        }
        assert connection_test(tested, body)["outcome"] == "bad_token"
    finally:
        fake.renew_token()


def test_the_connection_test_without_a_network_says_unreachable(
    tmp_path: Path, processes: list[RunningServer], unused_port: int
) -> None:
    clinic = serve(
        tmp_path,
        processes,
        CLINICBOT_WHATSAPP_API_BASE=f"http://127.0.0.1:{unused_port}/v25.0",
        CLINICBOT_WHATSAPP_ACCESS_TOKEN=TOKEN,
        CLINICBOT_WHATSAPP_PHONE_NUMBER_ID="106540352242922",
    )
    result = connection_test(clinic)
    assert (result["ok"], result["outcome"]) == (False, "unreachable")
    assert "127.0.0.1" in result["detail"]


def _check(handler: Any) -> Any:
    async def run() -> Any:
        transport = httpx.MockTransport(handler)
        async with httpx.AsyncClient(transport=transport) as client:
            return await check_connection(
                Connection(whatsapp_access_token=TOKEN, whatsapp_phone_number_id="12345"), client
            )

    return asyncio.run(run())


def test_a_timeout_and_an_odd_answer_are_said_in_words() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    result = _check(slow)
    assert (result.ok, result.outcome) == (False, "timeout")
    assert "did not answer in time" in result.detail

    def broken(request: httpx.Request) -> httpx.Response:
        assert request.url.params["fields"] == "display_phone_number,verified_name"
        assert request.headers["authorization"] == f"Bearer {TOKEN}"
        return httpx.Response(502, text="Bad Gateway")

    result = _check(broken)
    assert (result.ok, result.outcome) == (False, "error")
    assert "HTTP 502" in result.detail

    def bare(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"id": "12345"})

    result = _check(bare)
    assert (result.ok, result.detail, result.verified_name) == (
        True,
        "Connected to the number.",
        None,
    )


# --- the staff token -----------------------------------------------------------------------


def test_rotating_the_staff_token_locks_out_the_old_one(
    tmp_path: Path, processes: list[RunningServer]
) -> None:
    clinic = serve(tmp_path, processes, CLINICBOT_STAFF_TOKEN="")
    kept = tmp_path / "staff_token"
    old = kept.read_text().strip()
    base = clinic.staff_url.rstrip("/")

    def status(token: str, path: str = f"{API}/clinics") -> int:
        return httpx.get(base + path, headers={"Authorization": f"Bearer {token}"}).status_code

    assert status(old) == 200
    info = httpx.get(
        f"{base}{API}/settings/staff-token", headers={"Authorization": f"Bearer {old}"}
    ).json()
    assert info == {"source": "file", "file": str(kept)}
    r = httpx.post(f"{base}{API}/settings/staff-token", headers={"Authorization": f"Bearer {old}"})
    assert r.status_code == 200, r.text
    new = r.json()["token"]
    assert r.json()["file"] == str(kept) and len(new) >= 32 and new != old
    assert kept.read_text().strip() == new
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    # The old token works until the new one is used (the window that asked for it may
    # have a request on its way), then never again.
    assert (status(old), status(new), status(old)) == (200, 200, 401)
    assert new not in "".join(clinic.output)

    clinic.stop()
    serve(tmp_path, processes, CLINICBOT_STAFF_TOKEN="")
    assert kept.read_text().strip() == new


def test_a_staff_token_from_the_environment_cannot_be_rotated(api: httpx.Client) -> None:
    assert api.get(f"{API}/settings/staff-token").json() == {"source": "environment", "file": None}
    r = api.post(f"{API}/settings/staff-token")
    assert r.status_code == 409
    assert "CLINICBOT_STAFF_TOKEN" in r.json()["detail"]
    assert api.get(f"{API}/clinics").status_code == 200  # the token still works
    assert api.headers["Authorization"] == f"Bearer {STAFF_TOKEN}"


# --- the first run ---------------------------------------------------------------------------


def test_the_demo_clinic_loads_into_an_empty_database_only(
    tmp_path: Path, processes: list[RunningServer]
) -> None:
    clinic = serve(tmp_path, processes)
    with clinic.client() as api:
        assert api.get(f"{API}/clinics").json() == []
        put(api, {"whatsapp_phone_number_id": "106540352242922"})
        r = api.post(f"{API}/setup/demo")
        assert r.status_code == 201, r.text
        demo = r.json()
        assert demo["name"] == "Sharma Family Clinic"
        assert demo["whatsapp_phone_number_id"] == "106540352242922"
        assert len(api.get(f"{API}/doctors", params={"clinic_id": demo["id"]}).json()) >= 2
        again = api.post(f"{API}/setup/demo")
        assert again.status_code == 409
        assert "already" in again.json()["detail"]
        assert [c["id"] for c in api.get(f"{API}/clinics").json()] == [demo["id"]]


def test_the_demo_clinic_is_refused_beside_another_clinic(api: httpx.Client) -> None:
    make_clinic_api(api, name="Not Empty")
    assert api.post(f"{API}/setup/demo").status_code == 409


def test_the_new_routes_are_in_the_openapi_schema(api: httpx.Client) -> None:
    paths = api.get("/schema/openapi.json").json()["paths"]
    assert set(paths[WHATSAPP]) == {"get", "put"}
    assert set(paths[f"{WHATSAPP}/test"]) == {"post"}
    assert set(paths[f"{API}/settings/staff-token"]) == {"get", "post"}
    assert set(paths[f"{API}/setup/demo"]) == {"post"}


# --- the live holder itself ----------------------------------------------------------------


def test_the_live_connection_prefers_the_environment_and_tells_subscribers(
    tmp_path: Path,
) -> None:
    settings = load_settings(
        {"CLINICBOT_STAFF_TOKEN": "x", "CLINICBOT_RELAY_URL": "https://env.example"},
        data_dir=tmp_path,
    )
    heard: list[Connection] = []
    live = LiveConnection(settings, {"relay_url": "https://saved.example", "relay_token": "t"})
    live.subscribe(lambda: heard.append(live.current()))
    assert live.current().relay_url == "https://env.example"
    assert live.current().relay_configured and not live.current().can_send
    live.apply({"whatsapp_access_token": "a", "whatsapp_phone_number_id": "1", "junk": "x"})
    assert heard == [live.current()] and live.current().can_send
    assert live.current().relay_token is None
    assert live.saved == {"whatsapp_access_token": "a", "whatsapp_phone_number_id": "1"}


def test_a_replaced_staff_token_ends_at_the_new_ones_first_use_or_after_the_grace() -> None:
    now = [100.0]
    gate = StaffToken("old", grace=15, clock=lambda: now[0])
    assert gate.accepts("Bearer old") and not gate.accepts("Bearer new")
    assert not gate.accepts(None) and not gate.accepts("old")
    gate.replace("new")
    assert gate.accepts("Bearer old") and gate.accepts("Bearer new")
    assert not gate.accepts("Bearer old")  # the new one was used
    gate.replace("newer")
    now[0] += 15
    assert not gate.accepts("Bearer new")  # unused, but the grace is over
    assert gate.accepts("Bearer newer")
