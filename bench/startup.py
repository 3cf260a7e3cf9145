"""The start-up bench: how long clinicbot takes from the spawn of its process to its first
API answer, from source and frozen (build.spec's bundle), each beside a bare Litestar app
started the same way; the idle server's memory; the desktop window's memory; the bundle's
size. Its section of docs/BENCHMARKS.md is written by bench/startup_report.py.

Every start is a new process on a data directory that already holds the demo clinic (a
clinic's ordinary morning), polled on ``GET /api/v1/health`` every 5 ms from just before the
spawn. The OS file cache is warm (one untimed start of each first): a start after a reboot
reads the files from disk too, which this bench does not measure.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx

from bench.report import Machine, machine
from bench.runner import ROOT
from bench.timing import Figure, figure

SECTION = "startup"
TOKEN = "bench-startup-token-not-a-secret"
SOURCE, FROZEN = "from source", "frozen"
TARGETS_MS = {SOURCE: 1500.0, FROZEN: 3000.0}
IDLE_TARGET_MB = 150.0
FULL_RUNS, QUICK_RUNS = 11, 2
FULL_IDLE, QUICK_IDLE = 10.0, 0.5  # seconds the idle server (and the window) is left alone
POLL = 0.005
WAIT = 120.0  # a start that takes longer has failed
Log = Callable[[str], None]

# The baseline: the same two libraries and one route, nothing of clinicbot's.
BASELINE_APP = """\
import sys

import uvicorn
from litestar import Litestar, get


@get("/api/v1/health", sync_to_thread=False)
def health() -> dict[str, str]:
    return {"status": "ok"}


if __name__ == "__main__":
    uvicorn.run(Litestar([health]), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""
BASELINES = {
    SOURCE: "`python -c` a bare Litestar app (one route) under uvicorn",
    FROZEN: "that bare app frozen by PyInstaller (one folder)",
}


@dataclass(frozen=True)
class Options:
    runs: int = FULL_RUNS
    idle_seconds: float = FULL_IDLE
    bundle: Path | None = None  # dist/clinicbot when None (built when missing)
    window: bool = True  # also measure the desktop window's memory (Qt offscreen)
    work_dir: Path = ROOT / "bench" / ".work"
    command: str = "python -m bench --only startup"


@dataclass(frozen=True)
class Start:
    """Starts of clinicbot (``work``) and of its baseline, taken alternately."""

    what: str
    work: Figure
    base: Figure
    first_ms: float  # the first start ever, on an empty data directory with --demo

    @property
    def target(self) -> float:
        return TARGETS_MS[self.what]

    def met(self, statistic: str) -> bool:
        return float(getattr(self.work, statistic)) < self.target


@dataclass(frozen=True)
class Memory:
    """A process tree's memory in MB (10^6 bytes); PSS and USS when the kernel says."""

    processes: int
    rss: float
    pss: float | None
    uss: float | None


@dataclass(frozen=True)
class Footprint:
    what: str  # e.g. "serve --demo, frozen"
    when: str  # e.g. "after 10 s idle"
    memory: Memory


@dataclass(frozen=True)
class BundleSize:
    path: str
    mb: float
    files: int
    zip_mb: float
    zip_seconds: float
    parts: list[tuple[str, float]]  # the largest top-level parts of _internal, MB
    built_seconds: float | None  # built by this run, else None


@dataclass
class StartupRun:
    started: str
    command: str
    machine: Machine
    seconds: float = 0.0
    load: tuple[float, float] = (0.0, 0.0)
    idle_seconds: float = FULL_IDLE
    starts: list[Start] = field(default_factory=list)
    footprints: list[Footprint] = field(default_factory=list)
    bundle: BundleSize | None = None

    def start(self, what: str) -> Start | None:
        return next((s for s in self.starts if s.what == what), None)


# -- processes ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def environment(**extra: str) -> dict[str, str]:
    drop = {"DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM", "CLINICBOT_WINDOW_PROBE"}
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("CLINICBOT_")}
    return {**env, "CLINICBOT_STAFF_TOKEN": TOKEN, **extra}


@dataclass
class Spawned:
    process: subprocess.Popen[bytes]
    port: int
    log: Path
    clean_exits: tuple[int, ...]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=WAIT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.returncode not in self.clean_exits:
            raise RuntimeError(f"exit {self.process.returncode}; see {self.log}")


@contextlib.contextmanager
def spawned(
    args: list[str], log: Path, env: dict[str, str] | None = None, *, baseline: bool = False
) -> Iterator[tuple[Spawned, float]]:
    """Start ``args + [port]`` and poll its health route: (the process, seconds to the first
    200 answer); it is stopped by SIGTERM on leaving, and must end cleanly: exit code 0, or
    for the baseline also death by that SIGTERM (uvicorn.run raises it again once stopped)."""
    port = free_port()
    headers = {"Authorization": f"Bearer {TOKEN}"}
    url = f"http://127.0.0.1:{port}/api/v1/health"
    log.parent.mkdir(parents=True, exist_ok=True)
    with httpx.Client(timeout=5) as client, log.open("wb") as out:
        started = time.perf_counter()
        process = subprocess.Popen(
            [*args, str(port)], stdout=out, stderr=subprocess.STDOUT, env=env or environment()
        )
        clean = (0, -signal.SIGTERM) if baseline else (0,)
        running = Spawned(process, port, log, clean)
        try:
            yield running, _first_answer(client, url, headers, running, started)
        finally:
            running.stop()


def _first_answer(
    client: httpx.Client, url: str, headers: dict[str, str], running: Spawned, started: float
) -> float:
    while time.perf_counter() - started < WAIT:
        try:
            if client.get(url, headers=headers).status_code == 200:
                return time.perf_counter() - started
        except httpx.TransportError:
            pass  # not listening yet
        if running.process.poll() is not None:
            raise RuntimeError(f"it stopped before answering; see {running.log}")
        time.sleep(POLL)
    raise RuntimeError(f"no answer within {WAIT:.0f} s; see {running.log}")


def clinicbot_args(executable: list[str], data_dir: Path, *extra: str) -> list[str]:
    """``clinicbot serve`` on ``data_dir``; the port comes last (see :func:`spawned`)."""
    return [*executable, *extra, "--data-dir", str(data_dir), "--webhook-port", "0", "--port"]


# -- memory ---------------------------------------------------------------------------------


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (QtWebEngine's helper processes among them)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text(encoding="utf-8")
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    return tree


def _rollup(pid: int) -> dict[str, int]:
    """/proc/PID/smaps_rollup in bytes (Rss, Pss, Private_*), or VmRSS when unreadable."""
    fields: dict[str, int] = {}
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text(encoding="utf-8").splitlines():
            name, _, value = line.partition(":")
            parts = value.split()
            if len(parts) == 2 and parts[1] == "kB":
                fields[name.strip()] = int(parts[0]) * 1024
    except OSError:
        pass
    if "Rss" not in fields:
        for line in Path(f"/proc/{pid}/status").read_text(encoding="utf-8").splitlines():
            if line.startswith("VmRSS:"):
                fields["Rss"] = int(line.split()[1]) * 1024
    return fields


def memory_of(pid: int) -> Memory:
    rolled = [_rollup(p) for p in process_tree(pid)]
    mb = 1e6
    has_pss = all("Pss" in r for r in rolled)
    return Memory(
        processes=len(rolled),
        rss=sum(r["Rss"] for r in rolled) / mb,
        pss=sum(r["Pss"] for r in rolled) / mb if has_pss else None,
        uss=(
            sum(r.get("Private_Clean", 0) + r.get("Private_Dirty", 0) for r in rolled) / mb
            if has_pss
            else None
        ),
    )


# -- the bundles ----------------------------------------------------------------------------


def pyinstaller(args: list[str], cwd: Path) -> float:
    """Run PyInstaller; the seconds it took."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level=WARN", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"PyInstaller failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    return time.perf_counter() - started


def clinicbot_bundle(options: Options, log: Log) -> tuple[Path, float | None]:
    """The bundle's folder, and the seconds it took to build when this run built it."""
    folder = options.bundle or ROOT / "dist" / "clinicbot"
    if (folder / "clinicbot").is_file():
        return folder, None
    if options.bundle is not None:
        raise RuntimeError(f"no clinicbot executable in {folder}")
    log("building the bundle: pyinstaller build.spec")
    return folder, pyinstaller([str(ROOT / "build.spec")], ROOT)


def baseline_bundle(work: Path, log: Log) -> Path:
    """The bare app frozen, built once per work directory (again when its source changes)."""
    source = work / "baseline_app.py"
    executable = work / "dist" / "baseline_app" / "baseline_app"
    if executable.is_file() and source.read_text(encoding="utf-8") == BASELINE_APP:
        return executable
    work.mkdir(parents=True, exist_ok=True)
    source.write_text(BASELINE_APP, encoding="utf-8")
    log("building the frozen baseline app")
    where = ["--distpath", str(work / "dist"), "--workpath", str(work / "build")]
    pyinstaller([*where, "--specpath", str(work), "--onedir", str(source)], work)
    return executable


def bundle_size(folder: Path, work: Path, built: float | None) -> BundleSize:
    files = [p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()]
    total = sum(p.stat().st_size for p in files)
    internal = folder / "_internal"
    parts: dict[str, int] = {}
    for p in files:
        top = p.relative_to(internal).parts[0] if p.is_relative_to(internal) else p.name
        parts[top] = parts.get(top, 0) + p.stat().st_size
    largest = sorted(parts.items(), key=lambda kv: -kv[1])[:4]
    archive = work / "clinicbot-bundle.zip"
    started = time.perf_counter()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        for p in sorted(folder.rglob("*")):
            name = str(Path("clinicbot") / p.relative_to(folder))
            if p.is_symlink():  # kept as a link, as `zip -y` and `ditto` keep it
                link = zipfile.ZipInfo(name)
                link.create_system = 3  # Unix: the mode below is read
                link.external_attr = (stat.S_IFLNK | 0o777) << 16
                z.writestr(link, os.readlink(p))
            else:
                z.write(p, name)
    zip_seconds = time.perf_counter() - started
    zipped = archive.stat().st_size
    archive.unlink()
    return BundleSize(
        path=str(folder.relative_to(ROOT) if folder.is_relative_to(ROOT) else folder),
        mb=total / 1e6,
        files=len(files),
        zip_mb=zipped / 1e6,
        zip_seconds=zip_seconds,
        parts=[(name, size / 1e6) for name, size in largest],
        built_seconds=built,
    )


# -- the run --------------------------------------------------------------------------------


def measure_starts(
    what: str, work: list[str], base: list[str], options: Options, data_dir: Path, log: Log
) -> Start:
    """The first start (empty data directory, --demo: migrations and the demo clinic), then
    an untimed start of the baseline, then ``runs`` pairs: the baseline, clinicbot."""
    logs = options.work_dir / "startup" / "logs"
    shutil.rmtree(data_dir, ignore_errors=True)
    with spawned(clinicbot_args(work, data_dir, "--demo"), logs / "first.log") as (_, first):
        pass
    with spawned(base, logs / "baseline.log", baseline=True):
        pass
    samples: list[tuple[float, float]] = []
    for i in range(options.runs):
        with spawned(base, logs / "baseline.log", baseline=True) as (_, b):
            pass
        with spawned(clinicbot_args(work, data_dir), logs / "clinicbot.log") as (_, w):
            pass
        samples.append((w * 1000, b * 1000))
        log(f"start {what} {i + 1}/{options.runs}: {w * 1000:.0f} ms (baseline {b * 1000:.0f} ms)")
    return Start(
        what,
        figure([w for w, _ in samples]),
        figure([b for _, b in samples]),
        first_ms=first * 1000,
    )


def idle_memory(what: str, work: list[str], options: Options, data_dir: Path) -> list[Footprint]:
    """``serve --demo`` on an empty data directory: its memory once it answers, and again
    after ``idle_seconds`` alone."""
    shutil.rmtree(data_dir, ignore_errors=True)
    label = f"`serve --demo`, {what}"
    log_file = options.work_dir / "startup" / "logs" / "idle.log"
    with spawned(clinicbot_args(work, data_dir, "--demo"), log_file) as (running, _):
        after_start = memory_of(running.process.pid)
        time.sleep(options.idle_seconds)  # the measurement itself: time alone
        idle = memory_of(running.process.pid)
    return [
        Footprint(label, "once it answers", after_start),
        Footprint(label, f"after {options.idle_seconds:g} s idle", idle),
    ]


def window_memory(what: str, launcher: list[str], options: Options, data_dir: Path) -> Footprint:
    """The desktop window (server + Qt WebEngine's processes) on Qt's offscreen platform,
    ``idle_seconds`` after it opened on the demo clinic."""
    shutil.rmtree(data_dir, ignore_errors=True)
    log_file = options.work_dir / "startup" / "logs" / "window.log"
    env = environment(QT_QPA_PLATFORM="offscreen", QTWEBENGINE_DISABLE_SANDBOX="1")
    args = clinicbot_args(launcher, data_dir, "--demo")
    with spawned(args, log_file, env) as (running, _):
        deadline = time.monotonic() + WAIT
        while "the window is open" not in log_file.read_text(encoding="utf-8", errors="replace"):
            if time.monotonic() > deadline or running.process.poll() is not None:
                raise RuntimeError(f"the window did not open; see {log_file}")
            time.sleep(0.05)
        time.sleep(options.idle_seconds)  # the page loads and settles
        memory = memory_of(running.process.pid)
    label = f"desktop window (`clinicbot --demo`, Qt offscreen), {what}"
    return Footprint(label, f"{options.idle_seconds:g} s after it opened", memory)


def run(options: Options, log: Log) -> StartupRun:
    started_at, started = datetime.now(UTC), time.perf_counter()
    result = StartupRun(
        started=started_at.strftime("%Y-%m-%d %H:%M UTC"),
        command=options.command,
        machine=machine(),
        idle_seconds=options.idle_seconds,
    )
    load_before = os.getloadavg()[0]
    work = options.work_dir / "startup"
    folder, built = clinicbot_bundle(options, log)
    kinds = {
        SOURCE: ([sys.executable, "-m", "clinicbot"], [sys.executable, "-c", BASELINE_APP]),
        FROZEN: ([str(folder / "clinicbot")], [str(baseline_bundle(work / "baseline", log))]),
    }
    for what, (launcher, base) in kinds.items():
        data = work / "data" / what.replace(" ", "-")
        result.starts.append(measure_starts(what, [*launcher, "serve"], base, options, data, log))
    for what, (launcher, _) in kinds.items():
        data = work / "data" / f"idle-{what.replace(' ', '-')}"
        result.footprints += idle_memory(what, [*launcher, "serve"], options, data)
        log(f"idle memory {what}: {result.footprints[-1].memory}")
    if options.window:
        for what, (launcher, _) in kinds.items():
            data = work / "data" / f"window-{what.replace(' ', '-')}"
            result.footprints.append(window_memory(what, launcher, options, data))
            log(f"window memory {what}: {result.footprints[-1].memory}")
    log("measuring the bundle and zipping it")
    result.bundle = bundle_size(folder, work, built)
    shutil.rmtree(work / "data", ignore_errors=True)
    result.seconds = time.perf_counter() - started
    result.load = (load_before, os.getloadavg()[0])
    return result
