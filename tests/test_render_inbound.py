"""Replies rendered within WhatsApp's limits, and stored messages read back as the engine
sees them."""

from __future__ import annotations

import json

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from clinicbot.conversation.model import Choice, Reply
from clinicbot.whatsapp.inbound import to_inbound
from clinicbot.whatsapp.render import render


def test_a_reply_without_choices_is_text() -> None:
    out = render(Reply("Hello"))
    assert out.kind == "text"
    assert out.payload == {"type": "text", "text": {"preview_url": False, "body": "Hello"}}


def test_up_to_three_short_choices_are_buttons() -> None:
    out = render(Reply("Confirm?", (Choice("yes", "Confirm"), Choice("no", "Change"))))
    inner = out.payload["interactive"]
    assert inner["type"] == "button"
    assert [b["reply"] for b in inner["action"]["buttons"]] == [
        {"id": "yes", "title": "Confirm"},
        {"id": "no", "title": "Change"},
    ]
    assert out.preview == "Confirm?\n\n1. Confirm\n2. Change"


def test_long_titles_or_descriptions_make_a_list() -> None:
    choices = (Choice("a", "Tue 25 Nov, 10:30", "Dr. Mehta"), Choice("b", "Tue 25 Nov, 10:45"))
    out = render(Reply("Pick a time", choices, button="See times"))
    inner = out.payload["interactive"]
    assert inner["type"] == "list"
    assert inner["action"]["button"] == "See times"
    assert inner["action"]["sections"][0]["rows"][0] == {
        "id": "a",
        "title": "Tue 25 Nov, 10:30",
        "description": "Dr. Mehta",
    }


def test_more_than_ten_choices_fall_back_to_numbered_text() -> None:
    choices = tuple(Choice(str(n), f"Option {n}") for n in range(12))
    out = render(Reply("Pick one", choices))
    assert out.kind == "text"
    assert "12. Option 11" in out.payload["text"]["body"]


def test_the_numbered_fallback_can_be_forced() -> None:
    out = render(Reply("Pick", (Choice("a", "A"),)), interactive=False)
    assert out.kind == "text" and out.payload["text"]["body"] == "Pick\n\n1. A"


TEXT = st.text(min_size=0, max_size=5000)


@given(
    text=TEXT,
    choices=st.lists(
        st.tuples(st.text(min_size=1, max_size=300), st.text(min_size=1, max_size=60), TEXT),
        max_size=12,
    ),
    header=st.none() | st.text(max_size=100),
    button=st.none() | st.text(min_size=1, max_size=40),
)
def test_every_rendering_is_within_the_limits(
    text: str, choices: list[tuple[str, str, str]], header: str | None, button: str | None
) -> None:
    reply = Reply(
        text, tuple(Choice(i, t, d or None) for i, t, d in choices), button=button, header=header
    )
    out = render(reply)
    if out.kind == "text":
        assert len(out.payload["text"]["body"]) <= 4096
        return
    inner = out.payload["interactive"]
    if "header" in inner:
        assert len(inner["header"]["text"]) <= 60
    if inner["type"] == "button":
        assert len(inner["body"]["text"]) <= 1024
        buttons = inner["action"]["buttons"]
        assert 1 <= len(buttons) <= 3
        titles = [b["reply"]["title"] for b in buttons]
        assert all(1 <= len(t) <= 20 for t in titles) and len(set(titles)) == len(titles)
        assert all(len(b["reply"]["id"]) <= 256 for b in buttons)
    else:
        assert len(inner["body"]["text"]) <= 4096
        assert 1 <= len(inner["action"]["button"]) <= 20
        rows = inner["action"]["sections"][0]["rows"]
        assert 1 <= len(rows) <= 10
        for row in rows:
            assert len(row["id"]) <= 200 and len(row["title"]) <= 24
            assert len(row.get("description", "")) <= 72


def _body(message: dict[str, object]) -> str:
    return json.dumps(message)


@pytest.mark.parametrize(
    ("kind", "message", "expected"),
    [
        ("text", {"text": {"body": "  Hi  "}}, ("text", "Hi", None)),
        ("text", {"text": {"body": "   "}}, ("other", "", None)),
        (
            "interactive",
            {"interactive": {"type": "button_reply", "button_reply": {"id": "b1", "title": "Yes"}}},
            ("choice", "Yes", "b1"),
        ),
        (
            "interactive",
            {"interactive": {"type": "list_reply", "list_reply": {"id": "s", "title": "10:30"}}},
            ("choice", "10:30", "s"),
        ),
        (
            "button",
            {"button": {"payload": "CONFIRM:a1", "text": "Confirm"}},
            ("choice", "Confirm", "CONFIRM:a1"),
        ),
        ("button", {"button": {"text": "Confirm"}}, ("text", "Confirm", None)),
        ("image", {"image": {"id": "1", "caption": "my report"}}, ("media", "my report", None)),
        ("audio", {"audio": {"id": "1", "voice": True}}, ("media", "", None)),
        ("location", {"location": {"latitude": 1, "longitude": 2}}, ("media", "", None)),
        ("reaction", {"reaction": {"emoji": "👍"}}, ("other", "", None)),
        ("unsupported", {"unsupported": {"type": "poll"}}, ("media", "", None)),
        ("interactive", {"interactive": {"type": "nfm_reply"}}, ("other", "", None)),
        ("text", {"text": "not an object"}, ("other", "", None)),
    ],
)
def test_stored_messages_read_as_the_engine_expects(
    kind: str, message: dict[str, object], expected: tuple[str, str, str | None]
) -> None:
    inbound = to_inbound(kind, _body(message))
    assert (inbound.kind, inbound.text, inbound.choice_id) == expected
    assert not inbound.stale


def test_a_stale_message_is_marked() -> None:
    assert to_inbound("text", _body({"text": {"body": "hi"}}), stale=True).stale


@given(kind=st.text(max_size=20), body=st.text(max_size=300) | st.binary().map(repr))
def test_reading_never_raises(kind: str, body: str) -> None:
    inbound = to_inbound(kind, body)
    assert msgspec.json.encode(inbound)
