"""The web layer: the only place that knows Litestar and HTTP status codes."""
