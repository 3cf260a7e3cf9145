"""The webhook parser and signature check, as pure functions."""

from __future__ import annotations

import json

import pytest

from clinicbot.whatsapp.webhook import NotAWebhook, parse_webhook, signature, valid_signature


def _envelope(*values: object, field: str = "messages") -> bytes:
    changes = [{"field": field, "value": v} for v in values]
    body = {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": changes}]}
    return json.dumps(body).encode()


META = {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"}


def test_signature_matches_the_published_vectors() -> None:
    assert signature("secret", b"test") == (
        "sha256=0329a06b62cd16b33eb6792be8c60b158d89a2ee3a876fce9a881ebb488c0914"
    )
    raw = b'{"object":"whatsapp_business_account","entry":[]}'
    header = "sha256=02fe0c96d28c59ddb7cf81eff0ca05809b360ba73b63c28210b5906a0a107d1f"
    assert signature("app_secret_123", raw) == header
    assert valid_signature("app_secret_123", raw, header)
    assert not valid_signature("app_secret_123", raw + b" ", header)
    assert not valid_signature("app_secret_123", raw, header.replace("sha256=", "sha1="))
    assert not valid_signature("other", raw, header)


def test_a_batch_yields_every_message_status_and_event() -> None:
    raw = _envelope(
        {
            "metadata": META,
            "contacts": [
                {"profile": {"name": "Asha"}, "wa_id": "919876543210", "user_id": "IN.1"},
                {"profile": {"name": "Ravi"}, "wa_id": "919876543211"},
            ],
            "messages": [
                {
                    "from": "919876543210",
                    "id": "wamid.1",
                    "timestamp": "1749416383",
                    "type": "text",
                    "text": {"body": "Hi"},
                },
                {
                    "from": "919876543211",
                    "id": "wamid.2",
                    "timestamp": "1749416384",
                    "type": "image",
                    "image": {"id": "m1"},
                },
            ],
        },
        {
            "metadata": META,
            "statuses": [
                {
                    "id": "wamid.out",
                    "status": "delivered",
                    "timestamp": "1749416390",
                    "recipient_id": "919876543210",
                },
                {"status": "read"},
            ],
        },
        {"event": "VERIFIED_ACCOUNT"},
    )
    batch = parse_webhook(raw)
    assert [(m.wa_message_id, m.sender, m.profile_name, m.type) for m in batch.messages] == [
        ("wamid.1", "919876543210", "Asha", "text"),
        ("wamid.2", "919876543211", "Ravi", "image"),
    ]
    assert batch.messages[0].user_id == "IN.1"
    assert batch.messages[0].wa_timestamp == 1749416383
    assert batch.messages[0].phone_number_id == "106540352242922"
    assert [(s.wa_message_id, s.status, s.recipient) for s in batch.statuses] == [
        ("wamid.out", "delivered", "919876543210")
    ]
    # A status without an id cannot be matched to a message: kept as an event.
    assert [e.field for e in batch.events] == ["statuses", "messages"]


def test_a_user_without_wa_id_is_keyed_by_the_business_scoped_id() -> None:
    raw = _envelope(
        {
            "metadata": META,
            "contacts": [{"profile": {"name": "Neha"}, "user_id": "IN.777"}],
            "messages": [
                {
                    "from_user_id": "IN.777",
                    "id": "wamid.3",
                    "timestamp": "1749416383",
                    "type": "text",
                    "text": {"body": "hello"},
                }
            ],
        }
    )
    (message,) = parse_webhook(raw).messages
    assert (message.sender, message.wa_id, message.user_id, message.profile_name) == (
        "IN.777",
        None,
        "IN.777",
        "Neha",
    )


def test_odd_messages_are_kept_not_dropped() -> None:
    raw = _envelope(
        {
            "metadata": META,
            "messages": [
                {"from": "919876543210", "type": "text", "timestamp": "soon"},
                {"id": 12345, "from": 42},
                "not an object",
            ],
        }
    )
    messages = parse_webhook(raw).messages
    assert len(messages) == 3
    assert all(m.wa_message_id.startswith("nohash:") for m in messages)
    assert len({m.wa_message_id for m in messages}) == 3
    assert messages[0].wa_timestamp is None
    assert parse_webhook(raw).messages == messages  # the same body, the same keys


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[]",
        b'"text"',
        b'{"entry": []}',
        b'{"object": "x"}',
        b'{"object": "x", "entry": {}}',
        b'{"object": "x", "entry": [{"changes": {}}]}',
        b'{"object": "x", "entry": ["nope"]}',
        b"[" * 100_000 + b"]" * 100_000,
    ],
)
def test_what_is_not_a_webhook(raw: bytes) -> None:
    with pytest.raises(NotAWebhook):
        parse_webhook(raw)


def test_an_empty_batch_is_a_webhook() -> None:
    batch = parse_webhook(b'{"object": "whatsapp_business_account", "entry": []}')
    assert (batch.messages, batch.statuses, batch.events) == ([], [], [])
