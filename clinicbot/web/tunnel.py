"""Routes for the tunnel that lets Meta reach this PC: its status, start and stop.

The settings screen shows the state, the callback URL to enter in Meta's dashboard and
whether a verify token is set. Nothing here can fail with a 500: a missing cloudflared or
a cloudflared that died is a state, with its reason in ``last_error``.
"""

from __future__ import annotations

from litestar import Controller, get, post

from clinicbot.services.tunnel import TunnelManager, TunnelStatus

NOT_MANAGED = TunnelStatus(
    state="unavailable",
    public_url=None,
    callback_url=None,
    verify_token_set=False,
    last_error="This server does not manage a tunnel.",
    restarts=0,
)


class TunnelController(Controller):
    path = "/tunnel"
    tags = ["tunnel"]

    @get(summary="The tunnel's state and public callback URL")
    async def tunnel_status(self, tunnel: TunnelManager | None) -> TunnelStatus:
        """``state`` is off, starting, running, restarting (cloudflared died and is being
        started again, with backoff) or unavailable (cloudflared is not installed)."""
        return NOT_MANAGED if tunnel is None else tunnel.status()

    @post("/start", status_code=200, summary="Start the tunnel (cloudflared)")
    async def start_tunnel(self, tunnel: TunnelManager | None) -> TunnelStatus:
        """Starts cloudflared unless it runs already and answers the status at once; the
        public URL appears in the status a few seconds later."""
        return NOT_MANAGED if tunnel is None else await tunnel.start()

    @post("/stop", status_code=200, summary="Stop the tunnel")
    async def stop_tunnel(self, tunnel: TunnelManager | None) -> TunnelStatus:
        """Stops cloudflared; Meta can no longer reach this PC through it."""
        return NOT_MANAGED if tunnel is None else await tunnel.stop()
