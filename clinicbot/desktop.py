"""The desktop window: ``clinicbot`` with no command.

The server (:func:`clinicbot.server.serve`) runs in a background thread with its own event
loop. Once the staff listener answers ``/api/v1/health``, a pywebview window opens on it,
signed in through the URL fragment (``#token=...``): a browser never sends a fragment to a
server, and the page moves the token into sessionStorage and off the address (ui/lib/api.js).
The window uses a private (off-the-record) browser profile, so the address is not kept on
disk either, and pywebview's log is filtered so that it cannot print the token.

Closing the window (or SIGTERM/SIGINT) stops the server as SIGTERM stops ``clinicbot
serve``: in-flight requests and sends finish and the database closes; then the process
ends with ``os._exit``, because Qt can crash at interpreter exit.

One instance per data directory: the server's lock (``<data>/clinicbot.lock``). A second
``clinicbot`` on a locked directory leaves a request file (``<data>/clinicbot.show``);
a running window takes it within a fraction of a second and comes to the front.

When no window can open (no display, no GUI backend: :func:`unavailable_reason`), the CLI
serves headless instead and prints the address.

On Linux the window is Qt WebEngine, which leaves downloads (the CSV exports) and
``window.print()`` (the day list) to the application: :class:`_QtPage` asks where to save
and shows the print dialog. Qt's own messages, the page's console among them, go through
the log with the token filtered out.

Test hook (off unless set): ``CLINICBOT_WINDOW_PROBE=<file>``. Once the page has loaded and
signed in (its title is no longer the bare "clinicbot"), the launcher logs the token through
the page's console (it must come out filtered), saves a small download and prints the page
into the file's folder without dialogs (``probe.csv``, ``print.pdf``), writes
``{"title", "token_in_address", "downloaded", "printed"}`` as JSON to the file and closes
the window: that is how tests/test_window.py reads the real window's title.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

import filelock
import httpx

from clinicbot import __version__
from clinicbot.config import Settings
from clinicbot.server import Addresses, print_addresses, serve, url_host

if TYPE_CHECKING:
    import webview

log = logging.getLogger(__name__)

TITLE = "clinicbot"
BACKGROUND = "#f4f6f8"  # ui/app.css --bg: no white flash before the page paints
SHOW_REQUEST = "clinicbot.show"
PROBE_ENV = "CLINICBOT_WINDOW_PROBE"
SHOW_WAIT = 5.0  # how long a second launch waits for the running window to take its request
POLL = 0.2
# Qt platforms that need no display server (QT_QPA_PLATFORM=offscreen runs the smoke test).
WEBVIEW2_URL = "https://go.microsoft.com/fwlink/p/?LinkId=2124703"
_QT_HEADLESS_PLATFORMS = ("offscreen", "minimal", "vnc", "eglfs", "linuxfb", "vkkhrdisplay")


def unavailable_reason(env: Mapping[str, str] | None = None) -> str | None:
    """Why no window can open here, or None when one can."""
    env = os.environ if env is None else env
    if sys.platform == "linux":
        platform = env.get("QT_QPA_PLATFORM", "").split(";")[0].split(":")[0].strip()
        if platform in _QT_HEADLESS_PLATFORMS:
            pass  # asked for explicitly: a window on that platform
        elif not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"):
            return "no display (neither DISPLAY nor WAYLAND_DISPLAY is set)"
    try:
        import webview  # noqa: F401

        if sys.platform == "linux":
            from qtpy import QtWebEngineWidgets  # noqa: F401
        if sys.platform == "win32":
            # Without the WebView2 runtime pywebview falls back to Internet Explorer's engine,
            # which cannot run the staff UI (a blank window): serve headless instead.
            winforms = importlib.import_module("webview.platforms.winforms")
            if getattr(winforms, "renderer", None) != "edgechromium":
                return f"the Microsoft Edge WebView2 runtime is not installed ({WEBVIEW2_URL})"
    except Exception as exc:
        return f"no window backend ({type(exc).__name__}: {exc})"
    return None


def prepare_environment(env: MutableMapping[str, str] = os.environ) -> None:
    """Qt WebEngine refuses to run as root without its sandbox switched off."""
    if sys.platform != "linux" or os.geteuid() != 0:
        return
    if "QTWEBENGINE_DISABLE_SANDBOX" in env:
        return
    if "--no-sandbox" in env.get("QTWEBENGINE_CHROMIUM_FLAGS", ""):
        return
    env["QTWEBENGINE_DISABLE_SANDBOX"] = "1"


def window_address(staff_url: str, host: str) -> str:
    """The staff listener as this PC reaches it: loopback when listening on every address."""
    port = urlsplit(staff_url).port
    if host in ("", "0.0.0.0", "127.0.0.1", "localhost"):  # noqa: S104 (not a bind)
        shown = "127.0.0.1"
    elif host.strip("[]") in ("::", "::1"):
        shown = "[::1]"
    else:
        shown = url_host(host)
    return f"http://{shown}:{port}/"


class _Redact(logging.Filter):
    """Replaces the token in a record's text (pywebview logs the URL it loads, at debug)."""

    def __init__(self, secret: str) -> None:
        super().__init__()
        self._secrets = sorted({secret, quote(secret, safe="")}, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if any(s in text for s in self._secrets):
            for s in self._secrets:
                text = text.replace(s, "[token]")
            record.msg, record.args = text, None
        return True


class ServerThread(threading.Thread):
    """``serve()`` on its own event loop; ``stop()`` is safe from any thread, at any time."""

    def __init__(self, settings: Settings, *, demo: bool) -> None:
        super().__init__(name="clinicbot-server", daemon=True)
        self._settings = settings
        self._demo = demo
        self._loop = asyncio.new_event_loop()
        self._stop_event = asyncio.Event()
        self.ready = threading.Event()  # set once listening, or when the thread ends
        self.addresses: Addresses | None = None
        self.failure: str | None = None

    def run(self) -> None:
        try:
            with asyncio.Runner(loop_factory=lambda: self._loop) as runner:
                runner.run(
                    serve(
                        self._settings, demo=self._demo, on_ready=self._ready, stop=self._stop_event
                    )
                )
        except SystemExit as exc:  # bind() says why it cannot listen
            self.failure = str(exc.code)
        except BaseException as exc:
            log.exception("the server stopped on an error")
            self.failure = f"clinicbot: the server stopped on an error: {exc!r}"
        finally:
            self.ready.set()

    def _ready(self, addresses: Addresses) -> None:
        print_addresses(addresses)
        self.addresses = addresses
        self.ready.set()

    def stop(self) -> None:
        # A closed loop (RuntimeError) means the server is already done.
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._stop_event.set)


def _wait_healthy(base: str, settings: Settings, server: ServerThread) -> str | None:
    """Wait until the staff listener answers /api/v1/health; None, or why it does not."""
    why = "it does not answer"
    deadline = time.monotonic() + 60
    headers = {"Authorization": f"Bearer {settings.staff_token}"}
    with httpx.Client(headers=headers, timeout=5) as client:
        while time.monotonic() < deadline and server.is_alive():
            try:
                status = client.get(f"{base}api/v1/health").status_code
            except httpx.HTTPError:
                status = 0
            if status == 200:
                return None
            if status == 403:  # the Host allow-list: a --host that is not a loopback name
                host = urlsplit(base).hostname
                return f"it refuses the name {host}: add it to CLINICBOT_ALLOWED_HOSTS"
            if status:
                why = f"it answers {status}"
            time.sleep(0.05)
    return why


def ask_running_window(data_dir: Path, *, wait: float = SHOW_WAIT) -> bool:
    """Ask the window that holds ``data_dir`` to come to the front; whether it did."""
    request = data_dir / SHOW_REQUEST
    try:
        request.write_text(f"{os.getpid()}\n", encoding="utf-8")
    except OSError:
        return False
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if not request.exists():
            return True
        time.sleep(0.05)
    request.unlink(missing_ok=True)  # nobody took it: a headless server holds the lock
    return False


@dataclass
class _State:
    """What the window looks like now (pywebview reports it through events)."""

    minimized: bool = False
    maximized: bool = True


class _QtPage:
    """What Qt WebEngine leaves to the application: saving a download (the CSV exports; the
    handler pywebview has does not work on Qt 6) and ``window.print()`` (the day list).

    Connected in the GUI thread (pywebview's ``before_show`` event runs there), so the
    handlers run there too. With the probe on, files go to the probe's folder, no dialog.
    """

    def __init__(self, probe_dir: Path | None) -> None:
        self.probe_dir = probe_dir
        self.native: Any = None
        self.printer: Any = None  # kept until printing ends: Qt prints asynchronously
        self.downloaded = threading.Event()
        self.printed = threading.Event()

    def attach(self, window: webview.Window) -> None:
        self.native = window.native
        self.native.profile.downloadRequested.connect(self._download)
        self.native.webview.printRequested.connect(self._print)
        self.native.webview.printFinished.connect(self._printed)

    def _download(self, download: Any) -> None:
        name = download.downloadFileName()
        if self.probe_dir is not None:
            target = self.probe_dir / name
            download.isFinishedChanged.connect(self.downloaded.set)
        else:
            from qtpy.QtWidgets import QFileDialog

            suggested = str(Path(download.downloadDirectory()) / name)
            chosen, _ = QFileDialog.getSaveFileName(self.native, "Save as", suggested)
            if not chosen:
                download.cancel()
                return
            target = Path(chosen)
        download.setDownloadDirectory(str(target.parent))
        download.setDownloadFileName(target.name)
        download.accept()

    def _print(self) -> None:
        from qtpy.QtPrintSupport import QPrintDialog, QPrinter
        from qtpy.QtWidgets import QDialog

        if self.probe_dir is not None:  # screen resolution: a quick PDF (Qt rasterizes pages)
            printer = QPrinter(QPrinter.PrinterMode.ScreenResolution)
            printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
            printer.setOutputFileName(str(self.probe_dir / "print.pdf"))
        else:
            printer = QPrinter(QPrinter.PrinterMode.HighResolution)
            if QPrintDialog(printer, self.native).exec() != QDialog.DialogCode.Accepted.value:
                return
        self.printer = printer
        self.native.webview.print(printer)

    def _printed(self, ok: bool) -> None:
        if not ok:
            log.warning("printing failed")
        self.printer = None
        self.printed.set()


class _Window:
    """The window's side of the run: the probe, the show requests, the stop requests."""

    def __init__(
        self,
        window: webview.Window,
        server: ServerThread,
        show_request: Path,
        closing: threading.Event,
        page: _QtPage | None,
    ) -> None:
        self.window = window
        self.page = page
        self.server = server
        self.show_request = show_request
        self.closing = closing
        self.state = _State()
        events: Any = window.events
        events.minimized += self._minimized
        events.maximized += self._maximized
        events.restored += self._restored

    def _minimized(self) -> None:
        self.state.minimized = True

    def _maximized(self) -> None:
        self.state.minimized, self.state.maximized = False, True

    def _restored(self) -> None:
        if self.state.minimized:
            self.state.minimized = False
        else:
            self.state.maximized = False

    def watch(self) -> None:
        """Runs beside the GUI loop until the window closes or has to close."""
        events: Any = self.window.events
        if not events.shown.wait(60):
            log.error("the window did not show")
        else:
            log.info("the window is open")
        probe = os.environ.get(PROBE_ENV)
        if probe:
            threading.Thread(target=self._probe, args=(Path(probe),), daemon=True).start()
        while not self.closing.wait(POLL):
            if not self.server.is_alive():
                log.error("the server stopped; closing the window")
                break
            if self.show_request.exists():
                self.show_request.unlink(missing_ok=True)
                self.bring_forward()
        self.window.destroy()

    def bring_forward(self) -> None:
        log.info("another launch asked for this window: bringing it to the front")
        maximized = self.state.maximized
        self.window.restore()  # un-minimizes, raises and activates (Qt: also un-maximizes)
        if maximized:
            self.window.maximize()

    def _probe(self, path: Path) -> None:
        """The test hook: the signed-in page's title, a download and a print, then close."""
        events: Any = self.window.events
        events.loaded.wait(60)
        title = ""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not self.closing.is_set():
            title = str(self.window.evaluate_js("document.title") or "")
            if title != TITLE and title.endswith(f" · {TITLE}"):
                break
            time.sleep(0.1)
        # The page's console reaches the log (Qt's "js" messages): with the token hidden.
        self.window.evaluate_js(
            "console.warn('probe: token ' + sessionStorage.getItem('clinicbot.token'))"
        )
        result: dict[str, object] = {
            "title": title,
            "token_in_address": bool(self.window.evaluate_js("/token=/.test(location.href)")),
        }
        if self.page is not None:  # as ui/lib/api.js download() saves a CSV export
            self.window.evaluate_js(_PROBE_DOWNLOAD)
            result["downloaded"] = self.page.downloaded.wait(60)
            self.window.evaluate_js("window.print()")
            result["printed"] = self.page.printed.wait(60)
        path.write_text(json.dumps(result), encoding="utf-8")
        self.closing.set()


_PROBE_DOWNLOAD = """
const a = document.createElement("a");
a.href = URL.createObjectURL(new Blob(["name,visits\\nAsha,3\\n"], {type: "text/csv"}));
a.download = "probe.csv";
document.body.appendChild(a);
a.click();
a.remove();
"""


def _open_window(
    settings: Settings, server: ServerThread, base: str, closing: threading.Event
) -> int:
    """Show the window until it closes; returns the exit code (the server is still running)."""
    import webview

    redact = _Redact(settings.staff_token)
    pywebview_log = logging.getLogger("pywebview")
    pywebview_log.addFilter(redact)
    for handler in list(pywebview_log.handlers):  # its own console handler: ours is enough
        pywebview_log.removeHandler(handler)
    window = webview.create_window(
        TITLE,
        f"{base}#token={quote(settings.staff_token, safe='')}",
        width=1366,
        height=768,
        min_size=(1024, 600),
        maximized=True,
        background_color=BACKGROUND,
    )
    if window is None:
        raise RuntimeError("pywebview made no window")
    probe = os.environ.get(PROBE_ENV)
    page: _QtPage | None = None
    if sys.platform == "linux":
        _log_qt_messages(redact)
        page = _QtPage(Path(probe).parent if probe else None)
        events: Any = window.events
        events.before_show += page.attach
    else:
        webview.settings["ALLOW_DOWNLOADS"] = True  # WebView2 and WKWebView save them
    side = _Window(window, server, settings.data_dir / SHOW_REQUEST, closing, page)
    webview.start(side.watch, gui="qt" if page is not None else None, private_mode=True)
    closing.set()  # the window is closed: the watcher stops
    return 0 if server.failure is None else 1


def _log_qt_messages(redact: _Redact) -> None:
    """Qt's messages, the page's console among them ("js: ..."), go through our log, where
    the token is filtered out like everywhere else."""
    from qtpy import QtCore

    qt_log = logging.getLogger("qt")
    qt_log.addFilter(redact)
    kinds = QtCore.QtMsgType
    levels = {
        kinds.QtDebugMsg: logging.DEBUG,
        kinds.QtInfoMsg: logging.INFO,
        kinds.QtWarningMsg: logging.WARNING,
        kinds.QtCriticalMsg: logging.ERROR,
        kinds.QtFatalMsg: logging.CRITICAL,
    }

    def handler(kind: Any, context: Any, message: str | None) -> None:
        category = context.category
        prefix = f"{category}: " if category and category != "default" else ""
        qt_log.log(levels.get(kind, logging.WARNING), "%s%s", prefix, message)

    QtCore.qInstallMessageHandler(handler)


def _stop_server(server: ServerThread) -> int:
    server.stop()
    server.join(timeout=120)
    if server.is_alive():
        print("clinicbot: the server did not stop within 2 minutes; leaving it", file=sys.stderr)
        return 1
    if server.failure is not None:
        print(server.failure, file=sys.stderr)
        return 1
    print("clinicbot: stopped", flush=True)
    return 0


def _lock_or_ask(settings: Settings) -> filelock.FileLock | None:
    """The data directory's lock; or, when another clinicbot holds it, None once the user
    has been told (and that clinicbot's window asked to come to the front)."""
    lock = filelock.FileLock(settings.lock_path)
    try:
        lock.acquire(timeout=0)
    except filelock.Timeout:
        if ask_running_window(settings.data_dir):
            print(
                f"clinicbot: clinicbot is already running on {settings.data_dir}: "
                "its window was brought to the front.",
                file=sys.stderr,
            )
        else:
            print(
                f"clinicbot: another clinicbot is already running on {settings.data_dir}.\n"
                "Close it first, or start this one with another --data-dir.",
                file=sys.stderr,
            )
        return None
    (settings.data_dir / SHOW_REQUEST).unlink(missing_ok=True)  # left by an earlier launch
    return lock


def run_window(settings: Settings, *, demo: bool) -> int:
    """``clinicbot``: the server in a thread and the window in front. Returns the exit code,
    or, once the GUI loop has run, ends the process itself (``os._exit``)."""
    lock = _lock_or_ask(settings)
    if lock is None:
        return 1
    closing = threading.Event()  # set by SIGTERM/SIGINT, the probe, or the window closing

    def on_signal(signum: int, frame: FrameType | None) -> None:
        closing.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, on_signal)
    gui_ran = False
    try:
        print(f"clinicbot {__version__}: data in {settings.data_dir}", flush=True)
        if settings.token_file is not None:
            print(f"clinicbot: the staff API token is in {settings.token_file}", flush=True)
        prepare_environment()
        server = ServerThread(settings, demo=demo)
        server.start()
        while not server.ready.wait(POLL) and not closing.is_set():
            pass
        code = 0
        if server.addresses is not None and not closing.is_set():
            base = window_address(server.addresses.staff_url, settings.host)
            why = _wait_healthy(base, settings, server)
            if why is not None:
                print(f"clinicbot: no window: the staff listener at {base}: {why}", file=sys.stderr)
                code = 1
            elif not closing.is_set():
                gui_ran = True
                code = _window_or_headless(settings, server, base, closing)
        code = _stop_server(server) or code
    finally:
        lock.release()
    if not gui_ran:
        return code
    # Qt can crash at interpreter exit: end here, once the server is done and output is out.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _window_or_headless(
    settings: Settings, server: ServerThread, base: str, closing: threading.Event
) -> int:
    try:
        return _open_window(settings, server, base, closing)
    except Exception as exc:
        log.exception("the window could not open")
        print(
            f"clinicbot: the window could not open ({exc}); serving headless: "
            "open the staff address above in a browser",
            file=sys.stderr,
            flush=True,
        )
        while not closing.wait(POLL) and server.is_alive():
            pass
        return 0
