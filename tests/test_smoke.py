"""The server starts from the command line, migrates, and answers on both listeners."""

from __future__ import annotations

import httpx

from tests.conftest import VERIFY_TOKEN, RunningServer


def test_health_and_schema(api: httpx.Client) -> None:
    assert api.get("/api/v1/health").json()["status"] == "ok"
    schema = api.get("/schema/openapi.json")
    assert schema.status_code == 200
    assert "/api/v1/patients" in schema.json()["paths"]


def test_webhook_handshake(server: RunningServer) -> None:
    params = {
        "hub.mode": "subscribe",
        "hub.verify_token": VERIFY_TOKEN,
        "hub.challenge": "1158201444",
    }
    ok = httpx.get(server.webhook_url, params=params)
    assert (ok.status_code, ok.text) == (200, "1158201444")
    wrong = httpx.get(server.webhook_url, params={**params, "hub.verify_token": "nope"})
    assert wrong.status_code == 403
