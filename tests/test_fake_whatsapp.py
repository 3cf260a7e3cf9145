"""The fake WhatsApp Cloud API speaks the documented wire format (WHATSAPP.md §10), since
every later test trusts it: the Graph side's answers, limits and errors (§5, §7), its
status webhooks (§2.2 e/f, §2.3), the patients' webhooks (§2.2), signatures (§3), the
24-hour window (§6), retries (§4) and the fault switches. Webhooks go to a collector that
checks signatures; what it receives is also fed through clinicbot's own parser."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from clinicbot.whatsapp.webhook import parse_webhook
from tests.fakes import FakeWhatsApp
from tests.fakes.collector import Collector

JSON = dict[str, Any]
PATIENT = "16505551234"
OTHER = "919876543210"


@pytest.fixture
def fake() -> Iterator[FakeWhatsApp]:
    with FakeWhatsApp(status_delay=0.0, webhook_retry=(0.02, 0.1)) as running:
        yield running


@pytest.fixture(scope="module")
def shared() -> Iterator[FakeWhatsApp]:
    """One fake for the many body checks, which change none of its switches."""
    with FakeWhatsApp(statuses=()) as running:
        running.open_window(PATIENT)
        running.open_window("US.13491208655302741918")
        yield running


@pytest.fixture
def hooks(fake: FakeWhatsApp) -> Iterator[Collector]:
    with Collector(fake.app_secret) as collector:
        fake.webhook_url = collector.url
        yield collector


DEFAULT = object()


def post(fake: FakeWhatsApp, body: object, token: object = DEFAULT) -> httpx.Response:
    """POST a message with the fake's token (or ``token``; None sends no header)."""
    bearer = fake.access_token if token is DEFAULT else token
    headers = {} if bearer is None else {"Authorization": f"Bearer {bearer}"}
    url = f"{fake.base_url}/{fake.phone_number_id}/messages"
    return httpx.post(url, json=body, headers=headers, timeout=10)


def text(body: str = "Hello", to: str = "+" + PATIENT, **extra: Any) -> JSON:
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "text",
        "text": {"preview_url": False, "body": body},
        **extra,
    }


def buttons(n: int = 3, title: str = "Choice", body: str = "Pick one") -> JSON:
    return {
        "messaging_product": "whatsapp",
        "to": "+" + PATIENT,
        "type": "interactive",
        "interactive": {
            "type": "button",
            "body": {"text": body},
            "action": {
                "buttons": [
                    {"type": "reply", "reply": {"id": f"b{i}", "title": f"{title[:18]}{i}"}}
                    for i in range(n)
                ]
            },
        },
    }


def a_list(rows: int = 10, sections: int = 1) -> JSON:
    per = [rows // sections + (1 if i < rows % sections else 0) for i in range(sections)]
    made = 0
    sects = []
    for i, count in enumerate(per):
        sects.append(
            {
                "title": f"Day {i}",
                "rows": [
                    {"id": f"r{made + j}", "title": f"Slot {made + j}", "description": "Dr. X"}
                    for j in range(count)
                ],
            }
        )
        made += count
    return {
        "messaging_product": "whatsapp",
        "to": "+" + PATIENT,
        "type": "interactive",
        "interactive": {
            "type": "list",
            "header": {"type": "text", "text": "Slots"},
            "body": {"text": "Pick a time"},
            "footer": {"text": "City Clinic"},
            "action": {"button": "See slots", "sections": sects},
        },
    }


def template(name: str = "appointment_reminder", lang: str = "en", params: int = 2) -> JSON:
    return {
        "messaging_product": "whatsapp",
        "to": "+" + PATIENT,
        "type": "template",
        "template": {
            "name": name,
            "language": {"code": lang},
            "components": [
                {
                    "type": "body",
                    "parameters": [{"type": "text", "text": f"p{i}"} for i in range(params)],
                }
            ],
        },
    }


def changed(body: JSON, change: Callable[[JSON], object]) -> JSON:
    body = copy.deepcopy(body)
    change(body)
    return body


def error_code(response: httpx.Response) -> int:
    code: int = response.json()["error"]["code"]
    return code


# --- the Graph side ---------------------------------------------------------------------


def test_a_send_answers_the_documented_success_body(fake: FakeWhatsApp) -> None:
    fake.open_window(PATIENT)
    response = post(fake, text(biz_opaque_callback_data="ob:1:1"))
    assert response.status_code == 200
    answer = response.json()
    assert answer["messaging_product"] == "whatsapp"
    assert answer["contacts"] == [{"input": "+" + PATIENT, "wa_id": PATIENT}]
    wamid = answer["messages"][0]["id"]
    assert wamid.startswith("wamid.")
    [sent] = fake.messages_to(PATIENT)
    assert (sent.wamid, sent.to, sent.callback, sent.text) == (
        wamid,
        "+" + PATIENT,
        "ob:1:1",
        "Hello",
    )
    assert fake.messages_to("+" + PATIENT) == [sent]
    assert post(fake, text()).json()["messages"][0]["id"] != wamid  # fresh each time


def test_the_bearer_token_and_the_number_are_checked(fake: FakeWhatsApp) -> None:
    fake.open_window(PATIENT)
    for token in (None, "wrong"):
        refused = post(fake, text(), token=token)
        assert (refused.status_code, error_code(refused)) == (401, 190)
    fake.expire_token()
    expired = post(fake, text())
    assert (expired.status_code, error_code(expired)) == (401, 190)
    assert "Session has expired" in expired.json()["error"]["message"]
    fake.renew_token()
    assert post(fake, text()).status_code == 200
    other = httpx.post(
        f"{fake.base_url}/999/messages",
        json=text(),
        headers={"Authorization": f"Bearer {fake.access_token}"},
    )
    assert (other.status_code, error_code(other)) == (400, 100)
    older = fake.base_url.replace("v25.0", "v23.0")
    accepted = httpx.post(
        f"{older}/{fake.phone_number_id}/messages",
        json=text(),
        headers={"Authorization": f"Bearer {fake.access_token}"},
    )
    assert accepted.status_code == 200
    assert len(fake.accepted) == 2


def _set(path: str, value: Any) -> Callable[[JSON], None]:
    def change(body: JSON) -> None:
        *parents, last = path.split(".")
        node: Any = body
        for key in parents:
            node = node[int(key)] if key.isdigit() else node[key]
        if value is KeyError:
            del node[last]
        else:
            node[int(last) if last.isdigit() else last] = value

    return change


ACCEPTED: list[tuple[str, JSON]] = [
    ("text of 4096", text("x" * 4096)),
    ("3 buttons, titles of 20", buttons(3, title="T" * 20)),
    ("button body of 1024", buttons(1, body="b" * 1024)),
    (
        "button id of 256",
        changed(buttons(1), _set("interactive.action.buttons.0.reply.id", "i" * 256)),
    ),
    ("10 rows", a_list(10)),
    ("10 rows over 3 sections", a_list(10, sections=3)),
    (
        "row title of 24",
        changed(a_list(1), _set("interactive.action.sections.0.rows.0.title", "t" * 24)),
    ),
    (
        "description of 72",
        changed(a_list(1), _set("interactive.action.sections.0.rows.0.description", "d" * 72)),
    ),
    (
        "row id of 200",
        changed(a_list(1), _set("interactive.action.sections.0.rows.0.id", "i" * 200)),
    ),
    (
        "section title of 24",
        changed(a_list(2, 2), _set("interactive.action.sections.0.title", "s" * 24)),
    ),
    ("list label of 20", changed(a_list(1), _set("interactive.action.button", "L" * 20))),
    (
        "header and footer of 60",
        changed(
            a_list(1),
            lambda b: b["interactive"].update(
                header={"type": "text", "text": "h" * 60}, footer={"text": "f" * 60}
            ),
        ),
    ),
    (
        "a single untitled section",
        changed(a_list(1), _set("interactive.action.sections.0.title", KeyError)),
    ),
    ("callback data of 512", text(biz_opaque_callback_data="c" * 512)),
    (
        "a business-scoped recipient",
        changed(text(), lambda b: (b.pop("to"), b.update(recipient="US.13491208655302741918"))),
    ),
    ("a registered template", template()),
]

REFUSED: list[tuple[str, JSON, int]] = [
    ("no messaging_product", changed(text(), _set("messaging_product", KeyError)), 100),
    ("another messaging_product", changed(text(), _set("messaging_product", "sms")), 100),
    ("no recipient", changed(text(), _set("to", KeyError)), 131008),
    ("a malformed number", text(to="call me"), 131009),
    (
        "a malformed business-scoped id",
        changed(text(), lambda b: (b.pop("to"), b.update(recipient="nobody"))),
        131009,
    ),
    ("an unknown type", changed(text(), _set("type", "hologram")), 100),
    ("text of 4097", text("x" * 4097), 131009),
    ("an empty text", text(""), 131008),
    ("4 buttons", buttons(4), 131009),
    ("no buttons", buttons(0), 131009),
    (
        "a button title of 21",
        changed(buttons(1), _set("interactive.action.buttons.0.reply.title", "T" * 21)),
        131009,
    ),
    (
        "two equal titles",
        changed(buttons(2), _set("interactive.action.buttons.1.reply.title", "Choice0")),
        131009,
    ),
    (
        "a button id of 257",
        changed(buttons(1), _set("interactive.action.buttons.0.reply.id", "i" * 257)),
        131009,
    ),
    ("a button body of 1025", buttons(1, body="b" * 1025), 131009),
    (
        "a button without id",
        changed(buttons(1), _set("interactive.action.buttons.0.reply.id", KeyError)),
        131008,
    ),
    ("11 rows", a_list(11), 131009),
    ("11 rows over 2 sections", a_list(11, sections=2), 131009),
    ("11 sections", a_list(11, sections=11), 131009),
    (
        "a row title of 25",
        changed(a_list(1), _set("interactive.action.sections.0.rows.0.title", "t" * 25)),
        131009,
    ),
    (
        "a description of 73",
        changed(a_list(1), _set("interactive.action.sections.0.rows.0.description", "d" * 73)),
        131009,
    ),
    (
        "a row id of 201",
        changed(a_list(1), _set("interactive.action.sections.0.rows.0.id", "i" * 201)),
        131009,
    ),
    (
        "two equal row ids",
        changed(a_list(2), _set("interactive.action.sections.0.rows.1.id", "r0")),
        131009,
    ),
    (
        "a section title of 25",
        changed(a_list(2, 2), _set("interactive.action.sections.0.title", "s" * 25)),
        131009,
    ),
    (
        "untitled sections",
        changed(a_list(2, 2), _set("interactive.action.sections.1.title", KeyError)),
        131008,
    ),
    ("a list label of 21", changed(a_list(1), _set("interactive.action.button", "L" * 21)), 131009),
    ("no list label", changed(a_list(1), _set("interactive.action.button", KeyError)), 131008),
    ("a list body of 4097", changed(a_list(1), _set("interactive.body.text", "b" * 4097)), 131009),
    ("a footer of 61", changed(a_list(1), _set("interactive.footer.text", "f" * 61)), 131009),
    ("a header of 61", changed(a_list(1), _set("interactive.header.text", "h" * 61)), 131009),
    (
        "an image header on a list",
        changed(a_list(1), _set("interactive.header", {"type": "image", "image": {"id": "1"}})),
        131009,
    ),
    ("another interactive type", changed(buttons(1), _set("interactive.type", "carousel")), 100),
    ("callback data of 513", text(biz_opaque_callback_data="c" * 513), 131009),
    ("an unregistered template", template(name="no_such_template"), 132001),
    ("a template in another language", template(lang="fr"), 132001),
    (
        "a template without a language",
        changed(template(), _set("template.language", KeyError)),
        131008,
    ),
]


@pytest.mark.parametrize(("case", "body"), ACCEPTED, ids=[c for c, _ in ACCEPTED])
def test_bodies_within_the_limits_are_accepted(shared: FakeWhatsApp, case: str, body: JSON) -> None:
    response = post(shared, body)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(("case", "body", "code"), REFUSED, ids=[c for c, _, _ in REFUSED])
def test_bodies_beyond_the_limits_are_refused(
    shared: FakeWhatsApp, case: str, body: JSON, code: int
) -> None:
    before = len(shared.accepted)
    response = post(shared, body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"].startswith(f"(#{code}) ")
    assert error["type"] == "OAuthException" and error["fbtrace_id"]
    assert error["error_data"]["messaging_product"] == "whatsapp"
    assert len(shared.accepted) == before


def test_template_parameters_are_counted_when_registered(fake: FakeWhatsApp) -> None:
    fake.register_template("visit_reminder", "en_US", body_params=3)
    refused = post(fake, template("visit_reminder", "en_US", params=2))
    assert error_code(refused) == 132000
    assert post(fake, template("visit_reminder", "en_US", params=3)).status_code == 200


def test_mark_as_read_answers_success(fake: FakeWhatsApp) -> None:
    body = {"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.ABC"}
    response = post(fake, body)
    assert (response.status_code, response.json()) == (200, {"success": True})
    assert fake.reads == ["wamid.ABC"]
    assert error_code(post(fake, {**body, "message_id": ""})) == 131008


# --- statuses ---------------------------------------------------------------------------


def test_statuses_follow_sent_delivered_read_signed_and_escaped(
    fake: FakeWhatsApp, hooks: Collector
) -> None:
    fake.open_window(PATIENT)
    wamid = post(fake, text("नमस्ते", biz_opaque_callback_data="ob:7:1")).json()["messages"][0]["id"]
    fake.wait_for(lambda: len(hooks.statuses()) == 3)
    statuses = hooks.statuses()
    assert [s["status"] for s in statuses] == ["sent", "delivered", "read"]
    for s in statuses:
        assert s["id"] == wamid
        assert s["recipient_id"] == PATIENT
        assert s["biz_opaque_callback_data"] == "ob:7:1"
        assert s["timestamp"].isdigit()
    assert statuses[0]["pricing"]["type"] == "free_customer_service"
    assert "pricing" not in statuses[1]
    assert hooks.bad_signatures == 0
    assert all(raw.isascii() for raw in hooks.raws)
    body = hooks.bodies[0]
    assert body["object"] == "whatsapp_business_account"
    value = body["entry"][0]["changes"][0]["value"]
    assert value["metadata"] == {
        "display_phone_number": fake.display_phone_number,
        "phone_number_id": fake.phone_number_id,
    }
    parsed = parse_webhook(hooks.raws[2]).statuses
    assert [(s.wa_message_id, s.status, s.recipient) for s in parsed] == [(wamid, "read", PATIENT)]


def test_outside_the_window_a_send_fails_by_webhook_or_at_once(
    fake: FakeWhatsApp, hooks: Collector
) -> None:
    assert post(fake, text()).status_code == 200  # never wrote: the window is closed
    fake.wait_for(hooks.statuses)
    [failed] = hooks.statuses()
    assert failed["status"] == "failed"
    error = failed["errors"][0]
    assert error["code"] == 131047
    assert error["title"] == "Re-engagement message"
    assert "24 hours" in error["error_data"]["details"]
    assert post(fake, template()).status_code == 200  # a template is the way in
    fake.open_window(PATIENT, at=time.time() - 24 * 3600 - 1)  # wrote just over a day ago
    fake.window_mode = "sync"
    assert error_code(post(fake, text())) == 131047
    fake.open_window(PATIENT)
    assert post(fake, text()).status_code == 200


def test_webhooks_are_retried_until_the_clinic_answers(
    fake: FakeWhatsApp, hooks: Collector
) -> None:
    fake.open_window(PATIENT)
    hooks.fail_next = 3
    post(fake, text())
    fake.wait_for(lambda: len(hooks.statuses()) == 3)
    assert hooks.answers[:4] == [500, 500, 500, 200]
    first = next(d for d in fake.deliveries if d.kind == "status")
    assert first.attempts == [500, 500, 500, 200]
    fake.webhook_url = "http://127.0.0.1:9/webhooks/whatsapp"  # nobody listens there
    late = fake.patient_says(PATIENT, "are you there?", wait=False)
    fake.wait_for(lambda: len(late.delivery.attempts) >= 2 if late.delivery else False)
    assert late.delivery is not None and all(a == "ConnectError" for a in late.delivery.attempts)
    fake.webhook_url = hooks.url  # the clinic is back, perhaps on another port
    assert late.delivery.wait() == 200


# --- what patients send -----------------------------------------------------------------


def test_patient_messages_have_the_documented_shapes(fake: FakeWhatsApp, hooks: Collector) -> None:
    said = fake.patient_says(PATIENT, "कल 5 बजे", name="सीमा", user_id="US.1")
    fake.patient_taps(PATIENT, "book", "Book", context_id="wamid.OURS")
    fake.patient_taps(PATIENT, "slot_1", "Mon 09:30", list=True, description="Dr. X")
    fake.patient_taps_template(PATIENT, "CONFIRM:a1", "Confirm")
    for kind in ("image", "audio", "location", "sticker", "unsupported"):
        fake.patient_sends(PATIENT, kind)
    assert all(raw.isascii() for raw in hooks.raws) and hooks.bad_signatures == 0
    messages = [m for raw in hooks.raws for m in parse_webhook(raw).messages]
    assert messages[0].wa_message_id == said.wamid
    assert (messages[0].sender, messages[0].wa_id, messages[0].user_id) == (
        PATIENT,
        PATIENT,
        "US.1",
    )
    assert messages[0].profile_name == "सीमा"
    assert [m.type for m in messages] == [
        "text",
        "interactive",
        "interactive",
        "button",
        "image",
        "audio",
        "location",
        "sticker",
        "unsupported",
    ]
    body = hooks.bodies[1]["entry"][0]["changes"][0]["value"]["messages"][0]
    assert body["context"] == {"from": fake.display_phone_number, "id": "wamid.OURS"}
    assert body["interactive"] == {
        "type": "button_reply",
        "button_reply": {"id": "book", "title": "Book"},
    }
    listed = hooks.bodies[2]["entry"][0]["changes"][0]["value"]["messages"][0]["interactive"]
    assert listed["list_reply"] == {"id": "slot_1", "title": "Mon 09:30", "description": "Dr. X"}
    tapped = hooks.bodies[3]["entry"][0]["changes"][0]["value"]["messages"][0]
    assert tapped["button"] == {"payload": "CONFIRM:a1", "text": "Confirm"}
    voice = hooks.bodies[5]["entry"][0]["changes"][0]["value"]["messages"][0]["audio"]
    assert voice["voice"] is True and voice["id"]
    assert fake.window_open(PATIENT)


def test_injection_options(fake: FakeWhatsApp, hooks: Collector) -> None:
    fake.patient_says(OTHER, "old", age=3 * 24 * 3600)
    stale = parse_webhook(hooks.raws[0]).messages[0]
    assert stale.wa_timestamp is not None and time.time() - stale.wa_timestamp > 3 * 24 * 3600 - 5
    assert not fake.window_open(OTHER)  # a stale message does not open today's window
    fake.patient_says(OTHER, "twice", duplicate=True)
    fake.wait_for(lambda: len(hooks.raws) == 3)
    assert hooks.raws[1] == hooks.raws[2]
    fake.patient_says("", "no number", user_id="US.777", omit_wa_id=True)
    anonymous = hooks.bodies[3]["entry"][0]["changes"][0]["value"]
    assert "wa_id" not in anonymous["contacts"][0] and "from" not in anonymous["messages"][0]
    assert parse_webhook(hooks.raws[3]).messages[0].sender == "US.777"
    with fake.batch() as batch:
        fake.patient_says(PATIENT, "one")
        fake.patient_says(OTHER, "two")
        fake.patient_taps(PATIENT, "x", "X")
    assert len(hooks.raws) == 5 and len(batch) == 3
    together = parse_webhook(hooks.raws[4]).messages
    assert [m.wa_message_id for m in together] == [i.wamid for i in batch]
    assert {m.sender for m in together} == {PATIENT, OTHER}


def test_the_handshake_helper(fake: FakeWhatsApp, hooks: Collector) -> None:
    # The collector is no clinic: this checks only that the helper sends Meta's GET.
    response = fake.verify(hooks.url, "token", challenge="1158201444")
    assert response.request.url.params["hub.mode"] == "subscribe"
    assert response.request.url.params["hub.challenge"] == "1158201444"


# --- fault switches and rate limits ------------------------------------------------------


def test_an_outage_refuses_connections_or_answers_503(fake: FakeWhatsApp) -> None:
    fake.open_window(PATIENT)
    fake.outage("refuse")
    with pytest.raises(httpx.ConnectError):
        post(fake, text())
    fake.end_outage()
    assert post(fake, text()).status_code == 200
    with fake.down("503"):
        assert post(fake, text()).status_code == 503
    fake.outage("refuse", seconds=0.3)
    fake.wait_for(lambda: fake._outage is None, timeout=5)
    assert post(fake, text()).status_code == 200
    assert len(fake.accepted) == 2


def test_forced_errors(fake: FakeWhatsApp, hooks: Collector) -> None:
    fake.open_window(PATIENT)
    fake.open_window(OTHER)
    fake.force_error(130429, times=1)
    assert error_code(post(fake, text())) == 130429
    assert post(fake, text()).status_code == 200
    fake.force_error(131026, to=OTHER)
    assert post(fake, text(to="+" + OTHER)).status_code == 200  # then a failed status
    assert post(fake, text()).status_code == 200
    fake.wait_for(lambda: any(s["status"] == "failed" for s in hooks.statuses()))
    [failed] = [s for s in hooks.statuses() if s["status"] == "failed"]
    assert (failed["recipient_id"], failed["errors"][0]["code"]) == (OTHER, 131026)
    fake.clear_errors()
    fake.force_error(131000, sync=True, times=2)
    assert [error_code(post(fake, text())) for _ in range(2)] == [131000, 131000]
    assert [c.code for c in fake.refusals(131000)] == [131000, 131000]


def test_rate_limits_per_number_and_per_pair(fake: FakeWhatsApp) -> None:
    fake.number_mps, fake.pair_burst = 5, 2
    for who in (PATIENT, OTHER, "441234567890"):
        fake.open_window(who)
    assert [post(fake, text()).status_code for _ in range(2)] == [200, 200]
    assert error_code(post(fake, text())) == 131056  # this pair's burst is spent
    assert post(fake, text(to="+" + OTHER)).status_code == 200  # others are unaffected
    assert post(fake, text(to="+441234567890")).status_code == 200
    assert post(fake, text(to="+441234567890")).status_code == 200
    assert error_code(post(fake, text(to="+" + OTHER))) == 130429  # 5 in this second
    time.sleep(1.0)
    fake.pair_interval = 0.1
    time.sleep(0.2)
    assert post(fake, text()).status_code == 200  # the bucket refilled


def test_hung_sends_lose_the_answer_or_never_arrive(fake: FakeWhatsApp) -> None:
    fake.open_window(PATIENT)
    fake.open_window(OTHER)
    fake.hang(PATIENT, accepted=True)
    fake.hang(OTHER, accepted=False)
    for who in (PATIENT, OTHER):
        with pytest.raises(httpx.ReadTimeout):
            httpx.post(
                f"{fake.base_url}/{fake.phone_number_id}/messages",
                json=text(to="+" + who),
                headers={"Authorization": f"Bearer {fake.access_token}"},
                timeout=0.3,
            )
    assert len(fake.messages_to(PATIENT)) == 1  # Meta has it; the client never heard
    assert fake.messages_to(OTHER) == []
    fake.release()
    assert post(fake, text(to="+" + OTHER)).status_code == 200
