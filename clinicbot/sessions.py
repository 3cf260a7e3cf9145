"""Conversation sessions in diskcache, as the original system kept them: per patient, the
``patient_id``, ``clinic_id`` and the engine's ``context``, expiring after a quiet spell.

A session also remembers which inbound message produced it and the context before that
message. The worker writes the session *before* committing the message's effects, so a
crash between the two leaves a session one message ahead of the database; re-processing
that message then starts from ``previous``, and the result is the same as if there had
been no crash. Writes are fsynced (``sqlite_synchronous=2``) for the same reason.
"""

from __future__ import annotations

from pathlib import Path

import diskcache
import msgspec

DEFAULT_TTL_SECONDS = 6 * 3600


class Session(msgspec.Struct):
    patient_id: str
    clinic_id: str
    context: bytes  # the engine's State, as msgspec JSON
    message_id: str | None = None  # the inbound message that produced ``context``
    previous: bytes | None = None  # the context before that message


class Sessions:
    """``get``/``put`` by key (``<clinic id>:<sender>``: a first message has no patient id
    yet); thread-safe (diskcache opens a connection per thread). Writes fsync: call them off
    the event loop."""

    def __init__(self, directory: Path, *, ttl_seconds: int = DEFAULT_TTL_SECONDS) -> None:
        self._cache = diskcache.Cache(str(directory), sqlite_synchronous=2)
        self._ttl = ttl_seconds
        self._decoder = msgspec.msgpack.Decoder(Session)
        self._encoder = msgspec.msgpack.Encoder()

    def get(self, key: str) -> Session | None:
        raw = self._cache.get(key)
        if not isinstance(raw, bytes):
            return None
        try:
            return self._decoder.decode(raw)
        except msgspec.DecodeError:
            return None  # written by another version: start afresh

    def put(self, key: str, session: Session) -> None:
        self._cache.set(key, self._encoder.encode(session), expire=self._ttl)

    def drop(self, key: str) -> None:
        self._cache.delete(key)

    def drop_prefix(self, prefix: str) -> int:
        """Forget every session whose key starts with ``prefix`` (the simulator's)."""
        keys = [k for k in self._cache.iterkeys() if isinstance(k, str) and k.startswith(prefix)]
        return sum(bool(self._cache.delete(k)) for k in keys)

    def close(self) -> None:
        self._cache.close()
