"""Local fakes of what clinicbot talks to over the network, for tests and bench/:
``whatsapp.FakeWhatsApp`` is Meta's Graph API and webhooks (WHATSAPP.md §10)."""

from tests.fakes.records import Sent
from tests.fakes.whatsapp import FakeWhatsApp

__all__ = ["FakeWhatsApp", "Sent"]
