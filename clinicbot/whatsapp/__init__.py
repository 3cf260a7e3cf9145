"""The WhatsApp Cloud API adapter: webhook payloads in (and, later, the Graph API out)."""
