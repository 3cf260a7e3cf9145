"""What a patient writes, and their number, stay out of the logs: a webhook with a
distinctive text and phone, answered by the bot and sent through the fake Graph API, leaves
neither in ``<data>/logs/clinicbot.log`` nor on the console, at the default level and at
DEBUG (``CLINICBOT_LOG_LEVEL``)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.conftest import start_server
from tests.fakes import FakeWhatsApp
from tests.test_whatsapp_durability import number

pytestmark = pytest.mark.reliability


@pytest.mark.parametrize("level", ["", "DEBUG"])
def test_a_patients_words_and_number_are_not_logged(tmp_path: Path, level: str) -> None:
    marker = f"quartz zebra {uuid.uuid4().hex}"
    patient = number()
    with FakeWhatsApp(status_delay=0.01) as fake:
        env = {**fake.env(), "CLINICBOT_LOG_LEVEL": level}
        server = start_server(tmp_path, "--demo", env=env)
        fake.webhook_url = server.webhook_url
        try:
            fake.patient_says(patient, "Hi", name="Quartz Person")
            fake.patient_says(patient, f"my number is {patient}, {marker}")
            fake.wait_for(lambda: len(fake.messages_to(patient)) >= 2, 30, 0.05, "replies")
            fake.wait_for(lambda: all(d.done.is_set() for d in fake.deliveries), 30, 0.05)
        finally:
            assert server.stop() == 0
    console = "".join(server.output)
    logged = (tmp_path / "logs" / "clinicbot.log").read_text(encoding="utf-8")
    if level == "DEBUG":
        assert " DEBUG " in logged  # the level took effect
    for where, text in (("console", console), ("log file", logged)):
        assert "applied migrations" in text, where
        assert marker.split()[-1] not in text, where
        assert "quartz zebra" not in text.lower(), where
        assert patient[-10:] not in text, where  # the number, with or without +91
        assert "Quartz Person" not in text, where
