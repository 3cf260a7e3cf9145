"""The relay: a small store-and-forward server (``clinicbot relay``) for a clinic whose PC
Meta cannot reach. It takes Meta's webhooks on any VPS, keeps each signed body durably in
its own SQLite file, and hands them to the clinic, which polls it and re-verifies every
signature itself.

``store`` owns ``relay.db``, ``app`` the HTTP routes, ``server`` the process.
"""
