"""The relay poller's status, for the settings screen: is the clinic taking its webhooks
from a relay, when did the relay last answer, and what went wrong if it did not."""

from __future__ import annotations

from litestar import Controller, get

from clinicbot.services.relay_poller import RelayPoller, RelayStatus

NOT_CONFIGURED = RelayStatus(
    state="off",
    relay_url=None,
    last_success=None,
    last_error=None,
    last_error_at=None,
    failures=0,
    retry_in=None,
    backlog_acked=True,
    received=0,
    skipped=0,
)


class RelayController(Controller):
    path = "/relay"
    tags = ["relay"]

    @get(summary="The relay poller's state")
    async def relay_status(self, relay: RelayPoller | None) -> RelayStatus:
        """``state`` is off (CLINICBOT_RELAY_URL and CLINICBOT_RELAY_TOKEN are not both
        set), starting, polling, retrying (the relay failed; ``retry_in`` says when the next
        try is) or misconfigured (no app secret to verify relayed webhooks with)."""
        return NOT_CONFIGURED if relay is None else relay.status()
