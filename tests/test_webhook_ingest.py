"""The webhook listener over real HTTP: verified, stored once, then acknowledged."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from clinicbot.whatsapp.webhook import signature
from tests.conftest import RunningServer, start_server
from tests.factories import make_clinic_api

SECRET = "test-app-secret"
NUMBER_ID = "106540352242922"


@pytest.fixture(scope="module")
def hook(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    server = start_server(
        tmp_path_factory.mktemp("webhook"), env={"CLINICBOT_WHATSAPP_APP_SECRET": SECRET}
    )
    with server.client() as api:
        clinic = make_clinic_api(api, name="Webhook")
        r = api.patch(f"/api/v1/clinics/{clinic.id}", json={"whatsapp_phone_number_id": NUMBER_ID})
        assert r.status_code == 200, r.text
    yield server
    assert server.stop() == 0


def _text_webhook(wamid: str, text: str = "Hi", sender: str = "919876543210") -> bytes:
    body = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "102290129340398",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": "15550783881",
                                "phone_number_id": NUMBER_ID,
                            },
                            "contacts": [{"profile": {"name": "Asha"}, "wa_id": sender}],
                            "messages": [
                                {
                                    "from": sender,
                                    "id": wamid,
                                    "timestamp": "1749416383",
                                    "type": "text",
                                    "text": {"body": text},
                                }
                            ],
                        },
                    }
                ],
            }
        ],
    }
    return json.dumps(body, ensure_ascii=True).encode()


def _post(server: RunningServer, raw: bytes, header: str | None) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if header is not None:
        headers["X-Hub-Signature-256"] = header
    return httpx.post(server.webhook_url, content=raw, headers=headers, timeout=30)


def _stored(server: RunningServer, wamid: str) -> list[tuple[str, str, str, str]]:
    conn = sqlite3.connect(f"file:{server.data_dir / 'clinicbot.db'}?mode=ro", uri=True)
    try:
        rows = conn.execute(
            "SELECT sender, profile_name, type, json_extract(body, '$.text.body')"
            " FROM inbound_messages WHERE wa_message_id = ?",
            [wamid],
        ).fetchall()
        return [tuple(r) for r in rows]
    finally:
        conn.close()


def test_a_signed_message_is_stored_once_then_acknowledged(hook: RunningServer) -> None:
    wamid = f"wamid.{uuid.uuid4().hex}"
    raw = _text_webhook(wamid, "नमस्ते, kal 5 baje")
    assert _post(hook, raw, signature(SECRET, raw)).status_code == 200
    assert _stored(hook, wamid) == [("919876543210", "Asha", "text", "नमस्ते, kal 5 baje")]
    # Meta redelivers for days: acknowledged again, stored once.
    assert _post(hook, raw, signature(SECRET, raw)).status_code == 200
    assert len(_stored(hook, wamid)) == 1


@pytest.mark.parametrize(
    ("header", "status"),
    [(None, 401), ("sha256=" + "0" * 64, 403), (signature("wrong", b"x"), 403), ("", 403)],
)
def test_a_bad_signature_stores_nothing(
    hook: RunningServer, header: str | None, status: int
) -> None:
    wamid = f"wamid.{uuid.uuid4().hex}"
    assert _post(hook, _text_webhook(wamid), header).status_code == status
    assert _stored(hook, wamid) == []


def test_the_signature_is_over_the_raw_bytes(hook: RunningServer) -> None:
    wamid = f"wamid.{uuid.uuid4().hex}"
    raw = _text_webhook(wamid, "José")
    reserialised = json.dumps(json.loads(raw), ensure_ascii=False).encode()
    assert _post(hook, reserialised, signature(SECRET, raw)).status_code == 403
    assert _post(hook, reserialised, signature(SECRET, reserialised)).status_code == 200
    assert _stored(hook, wamid)[0][3] == "José"


@pytest.mark.parametrize(
    "raw", [b"not json", b"[]", b'{"object": "whatsapp_business_account"}', b"{" * 5000]
)
def test_a_signed_body_that_is_not_a_webhook_is_400(hook: RunningServer, raw: bytes) -> None:
    assert _post(hook, raw, signature(SECRET, raw)).status_code == 400


def test_a_body_over_the_limit_is_413(hook: RunningServer) -> None:
    raw = b" " * (4 * 1024 * 1024 + 1)
    assert _post(hook, raw, signature(SECRET, raw)).status_code == 413


def test_without_an_app_secret_every_post_is_refused(tmp_path: Path) -> None:
    server = start_server(tmp_path)
    try:
        raw = _text_webhook("wamid.nosecret")
        assert _post(server, raw, signature(SECRET, raw)).status_code == 403
    finally:
        assert server.stop() == 0
