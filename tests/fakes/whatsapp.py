"""A local fake of Meta's WhatsApp Cloud API that speaks the exact wire format
(WHATSAPP.md §10), for tests and bench/.

It runs in-process on 127.0.0.1 over real HTTP, in two threads:

- the Graph side (uvicorn, a small ASGI app): ``POST /{vXX.X}/{phone_number_id}/messages``
  with the bearer check (401 + code 190), the body rules and limits of §7
  (``graph_rules``), templates accepted only when registered (else 132001), the success
  body of §5.3 with a fresh wamid, and mark-as-read (``{"success": true}``). Every accepted
  message is kept (``accepted``, ``messages_to``, ``callback_counts``). A read of the number,
  ``GET /{vXX.X}/{phone_number_id}?fields=display_phone_number,verified_name`` (the settings
  screen's connection test), answers the fields asked for and the ``id``, as Graph does,
  with the same bearer check, and code 100 for another id or an unknown field;
- Meta's side: signed webhooks (ASCII-escaped JSON, ``X-Hub-Signature-256`` with the app
  secret) POSTed to ``webhook_url`` — the statuses of each accepted message (sent →
  delivered → read, echoing ``biz_opaque_callback_data``) and what patients say
  (``patient_says``, ``patient_taps``, …). Each is retried with backoff until the clinic
  answers 200, as Meta does for days, so a clinic that was killed and restarted (perhaps
  on another port: set ``webhook_url`` again) still hears everything.

The 24-hour window is modelled per patient from their last inbound message: a non-template
send outside it gets a 200 and then a ``failed`` 131047 status (``window_mode="async"``,
the default) or a synchronous 400 131047 (``"sync"``). Fault switches: ``outage`` (refused
connections, or 503s), ``force_error`` (any code, for everyone or one number, n times),
``expire_token``, ``hang`` (a send whose answer is lost, or that never reaches Meta, until
``release``), and rate limits enforced as Meta does: ``number_mps`` per second for the
number (130429) and a per-patient token bucket of ``pair_burst`` refilled every
``pair_interval`` seconds (131056).

Typical use (see tests/test_sender.py)::

    with FakeWhatsApp() as fake:
        clinic = start_server(data_dir, env=fake.env())
        fake.webhook_url = clinic.webhook_url
        fake.patient_says("919876543210", "Hi")          # signed webhook, window opened
        fake.wait_for(lambda: fake.messages_to("919876543210"))
        assert fake.callback_counts()["ob:1:1"] == 1       # sent exactly once
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from typing import Any, TypeVar
from urllib.parse import parse_qs

import httpx
import uvicorn

from tests.fakes import graph_rules, payloads
from tests.fakes.patients import PatientInjector
from tests.fakes.records import Call, Delivery, Outcome, Rule, Sent

JSON = dict[str, Any]
T = TypeVar("T")

APP_SECRET = "test-app-secret"
ACCESS_TOKEN = "test-graph-access-token"
PHONE_NUMBER_ID = "106540352242922"
DISPLAY_PHONE_NUMBER = "15550783881"
VERIFIED_NAME = "Test Clinic"
WABA_ID = "102290129340398"
WINDOW_SECONDS = 24 * 3600
ASYNC_CODES = frozenset({131026, 131047, 131049, 131050})  # delivery-stage: a failed status
PATH = re.compile(r"/(v\d+\.\d+)/([^/]+)/messages")
NODE = re.compile(r"/(v\d+\.\d+)/([^/]+)")
DEFAULT_TEMPLATES = {("appointment_reminder", lang): None for lang in ("en", "en_US", "hi")}


def digits(value: str) -> str:
    return re.sub(r"\D", "", value)


class FakeWhatsApp(PatientInjector):
    """Start with ``with FakeWhatsApp() as fake:``; point the clinic at ``fake.env()``."""

    def __init__(
        self,
        *,
        app_secret: str = APP_SECRET,
        access_token: str = ACCESS_TOKEN,
        phone_number_id: str = PHONE_NUMBER_ID,
        webhook_url: str | None = None,
        templates: dict[tuple[str, str], int | None] | None = None,
        window_mode: str = "async",
        enforce_window: bool = True,
        statuses: tuple[str, ...] = ("sent", "delivered", "read"),
        status_delay: float = 0.02,
        webhook_retry: tuple[float, float] = (0.05, 1.0),
        number_mps: int = 80,
        pair_burst: int = 45,
        pair_interval: float = 6.0,
        latency: float = 0.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.app_secret, self.access_token = app_secret, access_token
        self.phone_number_id, self.webhook_url = phone_number_id, webhook_url
        self.display_phone_number, self.waba_id = DISPLAY_PHONE_NUMBER, WABA_ID
        self.verified_name = VERIFIED_NAME
        self.templates = dict(DEFAULT_TEMPLATES if templates is None else templates)
        self.window_mode, self.enforce_window = window_mode, enforce_window
        self.statuses, self.status_delay, self.webhook_retry = statuses, status_delay, webhook_retry
        self.number_mps, self.pair_burst, self.pair_interval = number_mps, pair_burst, pair_interval
        self.latency, self.clock = latency, clock
        self.token_expired = False
        self.accepted: list[Sent] = []
        self.reads: list[str] = []
        self.requests: list[Call] = []
        self.deliveries: list[Delivery] = []
        self._lock = threading.RLock()
        self._rules: list[Rule] = []
        self._hangs: dict[str, bool] = {}
        self._last_inbound: dict[str, float] = {}
        self._wa_of: dict[str, str] = {}  # BSUID -> wa_id, once a patient showed both
        self._recent: collections.deque[float] = collections.deque()
        self._buckets: dict[str, tuple[float, float]] = {}
        self._outage: str | None = None
        self._port = 0
        self._server: uvicorn.Server | None = None
        self._graph_thread: threading.Thread | None = None
        self._loop = asyncio.new_event_loop()
        self._meta_thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._http: httpx.AsyncClient | None = None
        self._pending: set[Future[None]] = set()
        self._closing = False

    # --- lifecycle -------------------------------------------------------------------------

    def __enter__(self) -> FakeWhatsApp:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> FakeWhatsApp:
        self._meta_thread.start()
        self._start_graph()
        return self

    def stop(self) -> None:
        self._closing = True
        self._stop_graph()
        for pending in list(self._pending):
            pending.cancel()
        if self._http is not None:
            asyncio.run_coroutine_threadsafe(self._http.aclose(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._meta_thread.join(5)

    @property
    def base_url(self) -> str:
        """What ``CLINICBOT_WHATSAPP_API_BASE`` should be (version included)."""
        return f"http://127.0.0.1:{self._port}/v25.0"

    def env(self) -> dict[str, str]:
        """The clinic's environment for talking to this fake."""
        return {
            "CLINICBOT_WHATSAPP_API_BASE": self.base_url,
            "CLINICBOT_WHATSAPP_ACCESS_TOKEN": self.access_token,
            "CLINICBOT_WHATSAPP_PHONE_NUMBER_ID": self.phone_number_id,
            "CLINICBOT_WHATSAPP_APP_SECRET": self.app_secret,
        }

    def _start_graph(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self._port))
        sock.listen(512)
        self._port = sock.getsockname()[1]
        config = uvicorn.Config(
            self._asgi,
            log_level="warning",
            access_log=False,
            lifespan="off",
            interface="asgi3",
            proxy_headers=False,
            timeout_graceful_shutdown=1,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started and thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.005)
        self._server, self._graph_thread = server, thread

    def _stop_graph(self) -> None:
        if self._server is not None and self._graph_thread is not None:
            self._server.should_exit = True
            self._graph_thread.join(10)
        self._server = self._graph_thread = None

    # --- fault switches --------------------------------------------------------------------

    def outage(self, mode: str = "refuse", seconds: float | None = None) -> None:
        """The Graph API goes away: ``"refuse"`` connections, or answer ``"503"``."""
        assert mode in ("refuse", "503")
        self._outage = mode
        if mode == "refuse":
            self._stop_graph()
        if seconds is not None:
            timer = threading.Timer(seconds, self.end_outage)
            timer.daemon = True
            timer.start()

    def end_outage(self) -> None:
        mode, self._outage = self._outage, None
        if mode == "refuse" and not self._closing:
            self._start_graph()

    @contextlib.contextmanager
    def down(self, mode: str = "refuse") -> Iterator[None]:
        self.outage(mode)
        try:
            yield
        finally:
            self.end_outage()

    def force_error(
        self,
        code: int,
        *,
        to: str | None = None,
        times: int | None = None,
        sync: bool | None = None,
    ) -> None:
        """Answer sends (to one number, or all) with ``code``: synchronously, or for the
        delivery-stage codes (131026, 131047, …) as a 200 and then a ``failed`` status."""
        key = None if to is None else self._patient_key(to)
        with self._lock:
            self._rules.append(
                Rule(code, key, times, code not in ASYNC_CODES if sync is None else sync)
            )

    def hang(self, to: str, *, accepted: bool) -> None:
        """Hold sends to ``to`` until ``release()``: ``accepted`` ones reach Meta and only
        the answer is lost; the others never reach it (and get a 503 when released)."""
        with self._lock:
            self._hangs[self._patient_key(to)] = accepted

    def release(self) -> None:
        with self._lock:
            self._hangs.clear()

    def clear_errors(self) -> None:
        with self._lock:
            self._rules.clear()

    def expire_token(self) -> None:
        self.token_expired = True

    def renew_token(self) -> None:
        self.token_expired = False

    def register_template(self, name: str, language: str, body_params: int | None = None) -> None:
        self.templates[(name, language)] = body_params

    # --- what tests read -------------------------------------------------------------------

    def messages_to(self, who: str) -> list[Sent]:
        """Every message accepted for a patient (wa_id digits, "+digits" or their BSUID)."""
        key = self._patient_key(who)
        with self._lock:
            return [s for s in self.accepted if s.patient == key]

    def callback_counts(self) -> collections.Counter[str]:
        """How many accepted messages carried each ``biz_opaque_callback_data``."""
        with self._lock:
            return collections.Counter(s.callback for s in self.accepted if s.callback)

    def sent(self, wamid: str) -> Sent:
        with self._lock:
            return next(s for s in self.accepted if s.wamid == wamid)

    def refusals(self, code: int) -> list[Call]:
        with self._lock:
            return [c for c in self.requests if c.code == code]

    @staticmethod
    def wait_for(
        predicate: Callable[[], T], timeout: float = 10.0, interval: float = 0.02, what: str = ""
    ) -> T:
        """Poll until ``predicate()`` is truthy and return it; AssertionError on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
            time.sleep(interval)

    # --- the Graph side --------------------------------------------------------------------

    async def _asgi(
        self, scope: JSON, receive: Callable[[], Any], send: Callable[[JSON], Any]
    ) -> None:
        if scope["type"] != "http":
            return
        raw = b""
        more = True
        while more:
            event = await receive()
            raw += event.get("body", b"")
            more = event.get("more_body", False)
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        query = scope.get("query_string", b"").decode("latin-1")
        status, answer = await self._answer(scope["method"], scope["path"], headers, raw, query)
        content = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
        kind = b"text/plain" if isinstance(answer, bytes) else b"application/json"
        await send(
            {"type": "http.response.start", "status": status, "headers": [(b"content-type", kind)]}
        )
        await send({"type": "http.response.body", "body": content})

    async def _answer(
        self, method: str, path: str, headers: dict[str, str], raw: bytes, query: str = ""
    ) -> tuple[int, JSON | bytes]:
        if self._outage == "503":
            return 503, b"Service Unavailable"
        node = NODE.fullmatch(path)
        if node is not None and method == "GET":
            outcome = self._read_number(path, node[2], headers, query)
        else:
            outcome = self._decide(method, path, headers, raw)
        if outcome.sent is not None:
            self._schedule(self._status_chain(outcome.sent, outcome.plan))
        # release() comes from the test thread: poll rather than share an asyncio.Event.
        while outcome.hang and self._hangs and not self._closing:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        if self.latency:
            await asyncio.sleep(self.latency)
        return outcome.status, outcome.answer

    def _refuse(
        self, path: str, code: int, details: str | None = None, patient: str | None = None
    ) -> Outcome:
        status = 401 if code == 190 else 400
        with self._lock:
            self.requests.append(Call(path, status, code, patient))
        return Outcome(status, payloads.graph_error(code, details))

    def _decide(self, method: str, path: str, headers: dict[str, str], raw: bytes) -> Outcome:
        match = PATH.fullmatch(path)
        if match is None or method != "POST":
            return self._refuse(path, 100, f"Unsupported {method} request to {path}.")
        if headers.get("authorization") != f"Bearer {self.access_token}":
            return self._refuse(path, 190, "Invalid OAuth access token - Cannot parse access token")
        if self.token_expired:
            return self._refuse(path, 190)
        if match[2] != self.phone_number_id:
            return self._refuse(
                path, 100, f"Unsupported post request. Object with ID '{match[2]}' does not exist."
            )
        try:
            body = json.loads(raw)
        except ValueError:
            return self._refuse(path, 100, "The request body is not JSON.")
        if isinstance(body, dict) and body.get("status") == "read":
            return self._mark_read(path, body)
        problem = graph_rules.check_send(body)
        if problem is not None:
            return self._refuse(path, problem.code, problem.details)
        with self._lock:
            return self._accept(path, body)

    def _read_number(
        self, path: str, object_id: str, headers: dict[str, str], query: str
    ) -> Outcome:
        """``GET /{version}/{phone_number_id}?fields=…``: the fields asked for, and the id."""
        if headers.get("authorization") != f"Bearer {self.access_token}":
            return self._refuse(path, 190, "Invalid OAuth access token - Cannot parse access token")
        if self.token_expired:
            return self._refuse(path, 190)
        if object_id != self.phone_number_id:
            with self._lock:
                self.requests.append(Call(path, 400, 100, None))
            return Outcome(400, payloads.no_such_object(object_id))
        asked = [f for f in parse_qs(query).get("fields", [""])[0].split(",") if f]
        status, answer = payloads.number_fields(asked, self.phone_number_id, self.verified_name)
        with self._lock:
            self.requests.append(Call(path, status, None if status == 200 else 100, None))
        return Outcome(status, answer)

    def _mark_read(self, path: str, body: JSON) -> Outcome:
        problem = graph_rules.check_read(body)
        if problem is not None:
            return self._refuse(path, problem.code, problem.details)
        with self._lock:
            self.reads.append(body["message_id"])
            self.requests.append(Call(path, 200, None, None))
        return Outcome(200, {"success": True})

    def _accept(self, path: str, body: JSON) -> Outcome:
        patient = self._patient_key(body.get("to") or body["recipient"])
        kind = body.get("type", "text")
        now = self.clock()
        if self._hangs.get(patient) is False:  # swallowed before Meta got it
            return Outcome(503, b"Service Unavailable", hang=True)
        if kind == "template" and (problem := self._template_problem(body["template"])):
            return self._refuse(path, problem.code, problem.details, patient)
        rule = self._rule_for(patient)
        if rule is not None and rule.sync:
            return self._refuse(path, rule.code, None, patient)
        failure = None if rule is None else rule.code
        if not self._number_has_room(now):
            return self._refuse(path, 130429, None, patient)
        if not self._pair_has_room(patient, now):
            return self._refuse(path, 131056, None, patient)
        if failure is None and kind != "template" and not self.window_open(patient, now):
            if self.window_mode == "sync":
                return self._refuse(path, 131047, None, patient)
            failure = 131047
        sent = Sent(
            payloads.new_wamid(),
            body.get("to"),
            body.get("recipient"),
            patient,
            kind,
            body,
            body.get("biz_opaque_callback_data"),
            now,
            failure,
        )
        self.accepted.append(sent)
        self._recent.append(now)
        self.requests.append(Call(path, 200, None, patient))
        plan: list[tuple[str, int | None]] = [("failed", failure)] if failure else []
        plan += [] if failure else [(s, None) for s in self.statuses]
        hang = self._hangs.get(patient) is True  # accepted, but the answer is lost
        return Outcome(200, self._success(sent), sent, plan, hang)

    def _success(self, sent: Sent) -> JSON:
        contact: JSON = {"input": sent.to or sent.recipient}
        if sent.patient.isdigit():
            contact["wa_id"] = sent.patient
        if sent.recipient:
            contact["user_id"] = sent.recipient
        return {
            "messaging_product": "whatsapp",
            "contacts": [contact],
            "messages": [{"id": sent.wamid}],
        }

    def _template_problem(self, template: JSON) -> graph_rules.Problem | None:
        name, language = template["name"], template["language"]["code"]
        if (name, language) not in self.templates:
            return graph_rules.Problem(
                132001, f"template name ({name}) does not exist in {language}"
            )
        expected = self.templates[(name, language)]
        if expected is not None and graph_rules.body_parameter_count(template) != expected:
            return graph_rules.Problem(132000, f"expected {expected} body parameters")
        return None

    def _rule_for(self, patient: str) -> Rule | None:
        for rule in self._rules:
            if rule.to in (None, patient):
                if rule.times is not None:
                    rule.times -= 1
                    if rule.times <= 0:
                        self._rules.remove(rule)
                return rule
        return None

    def _number_has_room(self, now: float) -> bool:
        while self._recent and self._recent[0] <= now - 1.0:
            self._recent.popleft()
        return len(self._recent) < self.number_mps

    def _pair_has_room(self, patient: str, now: float) -> bool:
        tokens, last = self._buckets.get(patient, (float(self.pair_burst), now))
        tokens = min(float(self.pair_burst), tokens + (now - last) / self.pair_interval)
        if tokens < 1.0:
            self._buckets[patient] = (tokens, now)
            return False
        self._buckets[patient] = (tokens - 1.0, now)
        return True

    # --- patients and their 24-hour windows ------------------------------------------------

    def _patient_key(self, who: str) -> str:
        """wa_id digits for a phone; for a BSUID, the wa_id once known, else the BSUID."""
        if graph_rules.BSUID.fullmatch(who):
            with self._lock:
                return self._wa_of.get(who, who)
        return digits(who)

    def window_open(self, who: str, now: float | None = None) -> bool:
        if not self.enforce_window:
            return True
        last = self._last_inbound.get(self._patient_key(who))
        return last is not None and (self.clock() if now is None else now) - last < WINDOW_SECONDS

    def open_window(self, who: str, at: float | None = None) -> None:
        """As if the patient had just written (or at ``at``), without telling the clinic."""
        self._note_inbound(who, None, self.clock() if at is None else at)

    def close_window(self, who: str) -> None:
        with self._lock:
            self._last_inbound.pop(self._patient_key(who), None)

    def _note_inbound(self, wa_id: str | None, user_id: str | None, at: float) -> None:
        with self._lock:
            if wa_id and user_id:
                self._wa_of[user_id] = digits(wa_id)
            key = self._patient_key(wa_id or user_id or "")
            self._last_inbound[key] = max(at, self._last_inbound.get(key, at))

    # --- Meta's side: webhooks, retried until acknowledged --------------------------------

    def _schedule(self, work: Any) -> None:
        future: Future[None] = asyncio.run_coroutine_threadsafe(work, self._loop)
        self._pending.add(future)
        future.add_done_callback(self._pending.discard)

    def _record(self, body: JSON, kind: str) -> Delivery:
        delivery = Delivery(kind, body, payloads.wire(body))
        with self._lock:
            self.deliveries.append(delivery)
        return delivery

    def post_webhook(self, body: JSON, kind: str = "raw") -> Delivery:
        """Sign and POST ``body`` to the clinic, retrying until it answers 200."""
        delivery = self._record(body, kind)
        self._schedule(self._deliver(delivery))
        return delivery

    async def _deliver(self, delivery: Delivery) -> None:
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=10)
        headers = {
            "Content-Type": "application/json",
            "X-Hub-Signature-256": payloads.sign(self.app_secret, delivery.raw),
            "User-Agent": "facebookexternalua",
        }
        pause, longest = self.webhook_retry
        while not self._closing:
            outcome: int | str = "no webhook url"
            if self.webhook_url:
                try:
                    response = await self._http.post(
                        self.webhook_url, content=delivery.raw, headers=headers
                    )
                    outcome = response.status_code
                except httpx.HTTPError as exc:
                    outcome = type(exc).__name__
            delivery.attempts.append(outcome)
            if outcome == 200:
                delivery.done.set()
                return
            await asyncio.sleep(pause)
            pause = min(pause * 2, longest)

    def _status_body(self, sent: Sent, status: str, code: int | None) -> JSON:
        user_id = sent.recipient or next(
            (b for b, w in self._wa_of.items() if w == sent.patient), None
        )
        item = payloads.status_item(
            wamid=sent.wamid,
            status=status,
            timestamp=int(self.clock()),
            recipient_id=sent.patient if sent.patient.isdigit() else None,
            user_id=user_id,
            callback=sent.callback,
            pricing=payloads.pricing(
                "utility" if sent.type == "template" else "service", sent.type != "template"
            )
            if status == "sent"
            else None,
            error_code=code,
        )
        metadata = {
            "display_phone_number": self.display_phone_number,
            "phone_number_id": self.phone_number_id,
        }
        return payloads.envelope(self.waba_id, metadata, {"statuses": [item]})

    def emit_status(self, wamid: str, status: str, error_code: int | None = None) -> Delivery:
        """Send one status webhook for an accepted message, now (any order you like)."""
        return self.post_webhook(self._status_body(self.sent(wamid), status, error_code), "status")

    async def _status_chain(self, sent: Sent, plan: list[tuple[str, int | None]]) -> None:
        """The statuses of one message, in order: each waits for the previous one's 200."""
        for status, code in plan:
            await asyncio.sleep(self.status_delay)
            await self._deliver(self._record(self._status_body(sent, status, code), "status"))
