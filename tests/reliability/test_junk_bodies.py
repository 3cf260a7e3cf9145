"""Junk and slow bodies at a real server's listeners: a body of hundreds of MB (declared, or
chunked with no length) is refused with 413 as soon as it is seen to be too large, without
being read; fifty slow-drip connections (a byte a second) do not stop a signed webhook and a
staff call from being served, and are cut off after a bounded time; all the while the
server's resident memory (read from /proc) stays within a generous bound."""

from __future__ import annotations

import contextlib
import select
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.conftest import RunningServer, start_server
from tests.fakes import FakeWhatsApp
from tests.test_whatsapp_durability import number

pytestmark = pytest.mark.reliability

MB = 1024 * 1024
HUGE = 500 * MB  # declared or streamed; far more than either listener takes
DRIPS = 50
MEMORY_BOUND = 150 * MB  # above the server's RSS before the junk: generous on purpose


def rss(pid: int) -> int:
    """Resident memory of a process, in bytes, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for {pid}")


@dataclass
class MemoryWatch:
    """Samples the server's RSS every 20 ms; ``peak`` is the largest seen."""

    pid: int
    before: int
    peak: int = 0
    stop: threading.Event = field(default_factory=threading.Event)

    @property
    def growth(self) -> int:
        return self.peak - self.before

    def run(self) -> None:
        while not self.stop.wait(0.02):
            with contextlib.suppress(FileNotFoundError):
                self.peak = max(self.peak, rss(self.pid))


@contextlib.contextmanager
def watched(server: RunningServer) -> Iterator[MemoryWatch]:
    before = rss(server.process.pid)
    watch = MemoryWatch(server.process.pid, before, before)
    thread = threading.Thread(target=watch.run, daemon=True)
    thread.start()
    try:
        yield watch
    finally:
        watch.stop.set()
        thread.join()


def address(url: str) -> tuple[str, int, str]:
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    return parts.hostname, parts.port, parts.path or "/"


def head(url: str, path: str | None, headers: dict[str, str]) -> tuple[socket.socket, bytes]:
    host, port, url_path = address(url)
    sock = socket.create_connection((host, port), timeout=30)
    lines = [f"POST {path or url_path} HTTP/1.1", f"Host: {host}:{port}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return sock, ("\r\n".join(lines) + "\r\n\r\n").encode()


def answer_of(sock: socket.socket) -> str:
    """The status line the server sent (after it stopped reading us), or "" if it just
    closed the connection."""
    sock.settimeout(30)
    got = b""
    with contextlib.suppress(OSError):
        while b"\r\n" not in got and (more := sock.recv(4096)):
            got += more
    return got.split(b"\r\n")[0].decode()


def stream_junk(
    url: str, headers: dict[str, str], *, chunked: bool, path: str | None = None
) -> tuple[str, int]:
    """POST up to ``HUGE`` bytes of junk until the server answers or hangs up; return its
    status line and how many body bytes it let us send."""
    sock, start = head(url, path, headers)
    sent = 0
    block = b"x" * MB
    piece = (b"%x\r\n" % len(block)) + block + b"\r\n" if chunked else block
    with sock:
        sock.sendall(start)
        while sent < HUGE:
            readable, _, _ = select.select([sock], [], [], 0)
            if readable:  # an answer (or a hang-up) before the body ended
                break
            try:
                sock.sendall(piece)
            except OSError:  # reset: it stopped reading and closed
                break
            sent += len(block)
        return answer_of(sock), sent


@dataclass
class Drip:
    """One connection trickling a byte a second: of its body (``kind`` "body", or "chunked"),
    of its headers ("head"), or saying nothing at all ("silent")."""

    url: str
    headers: dict[str, str]
    path: str | None = None
    kind: str = "body"
    answer: str | None = None  # the status line once the server cut it off ("" if it closed)
    sent: int = 0
    connected: threading.Event = field(default_factory=threading.Event)

    def run(self, stop: threading.Event) -> None:
        sock, start = head(self.url, self.path, self.headers)
        piece = {"body": b"{", "chunked": b"1\r\n{\r\n", "head": b"a", "silent": b""}[self.kind]
        with sock:
            if self.kind == "head":  # the headers never end: one goes on and on
                sock.sendall(start.removesuffix(b"\r\n\r\n") + b"\r\nX-Slow: ")
            elif self.kind != "silent":
                sock.sendall(start)
            self.connected.set()
            while not stop.is_set() and self.sent < 1000:
                readable, _, _ = select.select([sock], [], [], 1.0)
                if readable:
                    break
                try:
                    sock.sendall(piece)
                except OSError:
                    break
                self.sent += 1
            self.answer = answer_of(sock)


def stream_header(url: str) -> tuple[str, int]:
    """A header line of up to ``HUGE`` bytes, never ended; the answer and bytes sent."""
    sock, start = head(url, None, {})
    sent = 0
    with sock:
        sock.sendall(start.removesuffix(b"\r\n\r\n") + b"\r\nX-Junk: ")
        while sent < HUGE:
            if select.select([sock], [], [], 0)[0]:
                break
            try:
                sock.sendall(b"a" * MB)
            except OSError:
                break
            sent += MB
        return answer_of(sock), sent


def test_huge_bodies_are_refused_early_with_bounded_memory(tmp_path: Path) -> None:
    with FakeWhatsApp() as fake:
        server = start_server(tmp_path, env=fake.env())
        signed = {"Content-Type": "application/json", "X-Hub-Signature-256": "sha256=" + "0" * 64}
        staff = {"Content-Type": "application/json", "Authorization": f"Bearer {server.token}"}
        try:
            with watched(server) as memory:
                cases = {
                    "webhook, declared": (
                        server.webhook_url,
                        {**signed, "Content-Length": str(HUGE)},
                        False,
                        None,
                    ),
                    "webhook, chunked": (
                        server.webhook_url,
                        {**signed, "Transfer-Encoding": "chunked"},
                        True,
                        None,
                    ),
                    "webhook, unsigned": (  # answered 401 unread; the rest never read
                        server.webhook_url,
                        {"Transfer-Encoding": "chunked"},
                        True,
                        None,
                    ),
                    "staff, declared": (
                        server.staff_url,
                        {**staff, "Content-Length": str(HUGE)},
                        False,
                        "/api/v1/appointments",
                    ),
                    "staff, chunked": (
                        server.staff_url,
                        {**staff, "Transfer-Encoding": "chunked"},
                        True,
                        "/api/v1/appointments",
                    ),
                }
                outcomes = {
                    name: stream_junk(url, headers, chunked=chunked, path=path)
                    for name, (url, headers, chunked, path) in cases.items()
                }
                outcomes["webhook, endless header"] = stream_header(server.webhook_url)
                outcomes["staff, endless header"] = stream_header(server.staff_url)
                # Still serving, and the webhook still stores what Meta sends.
                fake.webhook_url = server.webhook_url
                fake.patient_says(number(), "Hi").delivery.wait(30)  # type: ignore[union-attr]
                with server.client() as api:
                    assert api.get("/api/v1/clinics").status_code == 200
            print(f"RSS {memory.before / MB:.0f} MB, peak {memory.peak / MB:.0f} MB; {outcomes}")
            for name, (status, sent) in outcomes.items():
                expected = {"webhook, unsigned": "401"}.get(name, "413")
                expected = "431" if name.endswith("endless header") else expected
                assert status.split()[1:2] == [expected], (name, status)
                assert sent < HUGE // 4, (name, sent)  # it hung up long before the end
            assert memory.growth < MEMORY_BOUND
        finally:
            assert server.stop() == 0


def test_slow_drips_do_not_stop_others_and_are_cut_off(tmp_path: Path) -> None:
    with FakeWhatsApp() as fake:
        server = start_server(tmp_path, "--demo", env=fake.env())
        fake.webhook_url = server.webhook_url
        signed = {"Content-Type": "application/json", "X-Hub-Signature-256": "sha256=" + "0" * 64}
        staff = {"Content-Type": "application/json", "Authorization": f"Bearer {server.token}"}
        drips = [
            Drip(server.webhook_url, {**signed, "Content-Length": "1000"}) for _ in range(DRIPS)
        ]
        drips += [
            Drip(server.staff_url, {**staff, "Content-Length": "1000"}, "/api/v1/appointments")
            for _ in range(DRIPS // 5)
        ]
        chunked = {**signed, "Transfer-Encoding": "chunked"}
        drips.append(Drip(server.webhook_url, chunked, kind="chunked"))
        drips += [Drip(server.webhook_url, signed, kind="head") for _ in range(5)]
        drips += [Drip(server.staff_url, staff, kind="head")]
        drips += [Drip(server.webhook_url, {}, kind="silent") for _ in range(3)]
        stop = threading.Event()
        threads = [threading.Thread(target=d.run, args=(stop,)) for d in drips]
        try:
            with watched(server) as memory:
                for thread in threads:
                    thread.start()
                FakeWhatsApp.wait_for(
                    lambda: all(
                        d.connected.is_set() and (d.sent or d.kind == "silent") for d in drips
                    ),
                    30,
                    0.05,
                    "every drip under way",
                )
                # Every drip is connected and sending: the others are served all the same.
                patient = number()
                fake.patient_says(patient, "Hi").delivery.wait(30)  # type: ignore[union-attr]
                fake.wait_for(lambda: fake.messages_to(patient), 30, 0.05, "the bot's answer")
                with server.client() as api:
                    assert api.get("/api/v1/clinics").status_code == 200
                assert [d.answer for d in drips if d.answer is not None] == []
                for thread in threads:  # the server cuts them off, long before 1000 bytes
                    thread.join(120)
            print(f"RSS {memory.before / MB:.0f} MB, peak {memory.peak / MB:.0f} MB")
            assert all(not t.is_alive() for t in threads)
            timed_out = {d.answer for d in drips if d.kind != "silent"}
            assert timed_out == {"HTTP/1.1 408 Request Timeout"}
            assert {d.answer for d in drips if d.kind == "silent"} == {""}  # closed
            assert max(d.sent for d in drips) < 1000
            assert memory.growth < MEMORY_BOUND
        finally:
            stop.set()
            assert server.stop() == 0
