"""The Graph API client: the request it makes, and every answer mapped to its exception
class by ``error.code`` (not the HTTP status), with a reason staff can read. The network is
swapped at httpx's seam (``MockTransport``); the last tests run against the fake."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from clinicbot.whatsapp import graph
from clinicbot.whatsapp.graph import (
    AuthError,
    BadRequest,
    GraphClient,
    GraphError,
    OutsideWindow,
    PairRateLimited,
    PermanentError,
    PolicyError,
    TokenExpired,
    TransientError,
    Undeliverable,
)
from tests.fakes import FakeWhatsApp
from tests.fakes.payloads import graph_error

JSON = dict[str, Any]
Handler = Callable[[httpx.Request], httpx.Response]
BASE = "https://graph.facebook.com/v25.0"
NUMBER_ID = "106540352242922"


def run(handler: Handler, call: Callable[[GraphClient], Any]) -> Any:
    async def go() -> Any:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
            api = GraphClient(client, base_url=BASE, access_token="tok", phone_number_id=NUMBER_ID)
            return await call(api)

    return asyncio.run(go())


def send_text(api: GraphClient) -> Any:
    return api.send(graph.message_body("919876543210", {"type": "text", "text": {"body": "hi"}}))


def answering(status: int, body: object = None, content: bytes | None = None) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        if content is not None:
            return httpx.Response(status, content=content)
        return httpx.Response(status, json=body)

    return handler


def raised(handler: Handler) -> GraphError:
    with pytest.raises(GraphError) as caught:
        run(handler, send_text)
    return caught.value


CODES: list[tuple[int, type[GraphError], str]] = [
    (131047, OutsideWindow, "More than 24 hours since the patient last wrote"),
    (131026, Undeliverable, "could not deliver"),
    (190, TokenExpired, "The WhatsApp access token has expired: update it in Settings."),
    (0, AuthError, "access token"),
    (3, AuthError, "access token"),
    (10, AuthError, "access token"),
    (200, AuthError, "access token"),
    (299, AuthError, "access token"),
    (130429, TransientError, "retrying"),
    (131000, TransientError, "retrying"),
    (131016, TransientError, "retrying"),
    (1, TransientError, "retrying"),
    (2, TransientError, "retrying"),
    (4, TransientError, "retrying"),
    (80007, TransientError, "retrying"),
    (131057, TransientError, "maintenance"),
    (131056, PairRateLimited, "Too many messages to this patient"),
    (100, BadRequest, "malformed"),
    (131008, BadRequest, "malformed"),
    (131009, BadRequest, "malformed"),
    (132000, BadRequest, "parameters"),
    (132001, BadRequest, "template"),
    (132015, BadRequest, "paused"),
    (132999, BadRequest, "malformed"),
    (131048, PolicyError, "spam"),
    (131050, PolicyError, "stopped marketing"),
    (368, PolicyError, "policy"),
    (131031, PolicyError, "locked"),
    (424242, PermanentError, "code 424242"),
]


@pytest.mark.parametrize(("code", "kind", "words"), CODES, ids=[str(c) for c, _, _ in CODES])
def test_each_code_is_its_class_with_a_readable_reason(
    code: int, kind: type[GraphError], words: str
) -> None:
    error = raised(answering(400, graph_error(code)))
    assert type(error) is kind
    assert error.code == code and error.http_status == 400
    assert words.lower() in error.reason.lower()
    assert not error.maybe_sent


def test_the_code_decides_not_the_http_status() -> None:
    assert type(raised(answering(400, graph_error(131000)))) is TransientError
    assert type(raised(answering(500, graph_error(131047)))) is OutsideWindow
    assert type(raised(answering(200, graph_error(131026)))) is Undeliverable


def test_answers_without_a_code_fall_back_on_the_status() -> None:
    unavailable = raised(answering(503, content=b"Service Unavailable"))
    assert type(unavailable) is TransientError and unavailable.http_status == 503
    assert type(raised(answering(429, content=b""))) is TransientError
    assert type(raised(answering(404, content=b"<html>"))) is PermanentError
    odd = {"error": {"message": "Temporary", "is_transient": True}}
    assert type(raised(answering(400, odd))) is TransientError


def test_a_success_without_a_wamid_may_have_been_sent() -> None:
    bodies: list[JSON] = [{"messages": []}, {"messaging_product": "whatsapp"}]
    for body in bodies:
        error = raised(answering(200, body))
        assert type(error) is TransientError and error.maybe_sent
    unreadable = raised(answering(200, content=b"not json"))
    assert unreadable.maybe_sent


@pytest.mark.parametrize(
    ("exc", "maybe_sent"),
    [
        (httpx.ConnectError("refused"), False),
        (httpx.ConnectTimeout("slow"), False),
        (httpx.ReadTimeout("no answer"), True),
        (httpx.RemoteProtocolError("closed"), True),
        (httpx.ReadError("reset"), True),
    ],
)
def test_network_errors_are_transient_and_say_if_meta_may_have_it(
    exc: httpx.TransportError, maybe_sent: bool
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    error = raised(handler)
    assert type(error) is TransientError
    assert error.maybe_sent is maybe_sent
    assert "No connection to WhatsApp" in error.reason


def test_the_request_is_the_documented_one() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"messages": [{"id": "wamid.X"}]})

    payload = {"type": "text", "text": {"preview_url": False, "body": "नमस्ते"}}

    async def both(api: GraphClient) -> list[str]:
        first = await api.send(graph.message_body("919876543210", payload, "ob:1:1"))
        second = await api.send(graph.message_body("US.13491208655302741918", payload))
        await api.mark_read("wamid.IN")
        return [first, second]

    assert run(handler, both) == ["wamid.X", "wamid.X"]
    assert {str(r.url) for r in seen} == {f"{BASE}/{NUMBER_ID}/messages"}
    assert all(r.headers["authorization"] == "Bearer tok" for r in seen)
    assert all(r.headers["content-type"] == "application/json" for r in seen)
    bodies = [json.loads(r.content) for r in seen]
    assert bodies[0] == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "+919876543210",
        **payload,
        "biz_opaque_callback_data": "ob:1:1",
    }
    assert bodies[1]["recipient"] == "US.13491208655302741918" and "to" not in bodies[1]
    assert bodies[2] == {
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": "wamid.IN",
    }


def test_addressees() -> None:
    assert graph.addressee("+919876543210") == {"to": "+919876543210"}
    assert graph.addressee("919876543210") == {"to": "+919876543210"}
    assert graph.addressee("US.ENT.55") == {"recipient": "US.ENT.55"}
    with pytest.raises(BadRequest):
        graph.addressee("nobody")


def test_a_failed_status_error_reads_the_same_way() -> None:
    error = graph.error_from_body(
        {
            "code": 131047,
            "title": "Re-engagement message",
            "message": "Re-engagement message",
            "error_data": {"details": "Message failed to send because more than 24 hours…"},
        }
    )
    assert type(error) is OutsideWindow
    assert error.reason == (
        "More than 24 hours since the patient last wrote: only a template can reach them."
    )
    assert error.details.startswith("Message failed to send")


# --- against the fake: the client and the fake agree --------------------------------------


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeWhatsApp]:
    with FakeWhatsApp(statuses=()) as running:
        running.open_window("919876543210")
        yield running


def against(fake: FakeWhatsApp, body: JSON, token: str | None = None) -> str | GraphError:
    async def go() -> str | GraphError:
        async with httpx.AsyncClient() as client:
            api = GraphClient(
                client,
                base_url=fake.base_url,
                access_token=token or fake.access_token,
                phone_number_id=fake.phone_number_id,
            )
            try:
                return await api.send(body)
            except GraphError as exc:
                return exc

    return asyncio.run(go())


def test_the_client_reads_the_fakes_answers(fake: FakeWhatsApp) -> None:
    payload = {"type": "text", "text": {"body": "hi"}}
    hello = graph.message_body("919876543210", payload)
    assert str(against(fake, hello)).startswith("wamid.")
    assert type(against(fake, hello, token="wrong")) is TokenExpired
    too_long = graph.message_body("919876543210", {"type": "text", "text": {"body": "x" * 5000}})
    assert type(against(fake, too_long)) is BadRequest
    fake.window_mode = "sync"
    try:
        assert type(against(fake, graph.message_body("911111111111", payload))) is OutsideWindow
    finally:
        fake.window_mode = "async"
    fake.force_error(131056, times=1)
    assert type(against(fake, hello)) is PairRateLimited
    with fake.down("503"):
        assert type(against(fake, hello)) is TransientError
    with fake.down("refuse"):
        refused = against(fake, hello)
        assert type(refused) is TransientError and not refused.maybe_sent
