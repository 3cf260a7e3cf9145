"""The layers of STYLE.md, read from the imports of every module with ``ast``.

To place a new module, add its name (or its package, as ``"clinicbot.pkg.*"``) to a layer
of ``LAYERS``. A module that no layer names belongs to the entry points and assembly: it
may import anything, and nothing below may import it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE_DIR = Path(__file__).resolve().parent.parent / "clinicbot"


@dataclass(frozen=True)
class Layer:
    name: str
    modules: tuple[str, ...]  # module names; "pkg.*" is the package and everything in it
    may_import: tuple[str, ...]  # the layers (its own included, if so) it may import from

    def holds(self, module: str) -> bool:
        return any(
            module == pattern or (pattern.endswith(".*") and _in_package(module, pattern[:-2]))
            for pattern in self.modules
        )


def _in_package(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


ENTRY = "entry points and assembly"
LAYERS: tuple[Layer, ...] = (
    # Inside base, each module may import only those listed before it (see BASE_ORDER).
    Layer(
        "base", ("clinicbot", "clinicbot.domain", "clinicbot.errors", "clinicbot.config"), ("base",)
    ),
    Layer(
        "pure core",
        ("clinicbot.scheduling", "clinicbot.phones", "clinicbot.conversation.*"),
        ("base", "pure core"),
    ),
    Layer(
        "adapters",
        (
            "clinicbot.db.*",
            "clinicbot.store.*",
            "clinicbot.whatsapp.*",
            "clinicbot.sessions",
            "clinicbot.relay.store",  # relay.db; the relay's process (relay.server) is an entry
        ),
        ("base", "pure core", "adapters"),
    ),
    Layer(
        "services",
        ("clinicbot.services.*",),
        ("base", "pure core", "adapters", "services"),
    ),
    Layer(
        "web",
        ("clinicbot.web.*", "clinicbot.relay.app"),
        ("base", "pure core", "adapters", "services", "web"),
    ),
    Layer(ENTRY, (), ("base", "pure core", "adapters", "services", "web", ENTRY)),
)
BASE_ORDER = ("clinicbot", "clinicbot.domain", "clinicbot.errors", "clinicbot.config")

# What the pure core may not touch: storage, network, processes, files, the clock, chance.
IO_MODULES = frozenset(
    {
        "sqlite3",
        "sqlite_utils",
        "httpx",
        "os",
        "time",
        "socket",
        "subprocess",
        "shutil",
        "pathlib",
        "io",
        "asyncio",
        "threading",
        "urllib",
        "random",
        "secrets",
        "uuid",
        "diskcache",
        "litestar",
        "uvicorn",
        "platformdirs",
        "filelock",
        "logging",
    }
)
CLOCK_CALLS = frozenset(
    {
        ("datetime", "now"),
        ("datetime", "utcnow"),
        ("datetime", "today"),
        ("date", "today"),
        ("time", "time"),
        ("time", "time_ns"),
        ("time", "monotonic"),
        ("time", "perf_counter"),
        ("time", "localtime"),
    }
)


def layer_of(module: str) -> Layer:
    for layer in LAYERS:
        if layer.holds(module):
            return layer
    return LAYERS[-1]


def _layer(name: str) -> Layer:
    return next(layer for layer in LAYERS if layer.name == name)


def module_name(path: Path, root: Path = PACKAGE_DIR) -> str:
    parts = [root.name, *path.relative_to(root).with_suffix("").parts]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def discover(root: Path = PACKAGE_DIR) -> dict[str, ast.Module]:
    return {
        module_name(path, root): ast.parse(path.read_text(encoding="utf-8"), str(path))
        for path in sorted(root.rglob("*.py"))
    }


def imports_of(module: str, tree: ast.Module, known: Iterable[str]) -> set[str]:
    """Every module ``module`` imports, anywhere in its body (functions included).

    ``from pkg import name`` counts as importing ``pkg.name`` when that is a module.
    """
    known = set(known)
    is_package = module in {k.rpartition(".")[0] for k in known}
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")
                anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                full = f"{base}.{alias.name}"
                found.add(full if full in known else base)
    return found


def violations(modules: dict[str, ast.Module]) -> list[str]:
    problems = []
    for module, tree in modules.items():
        layer = layer_of(module)
        for target in sorted(imports_of(module, tree, modules)):
            if not _in_package(target, "clinicbot") or target == module:
                continue
            target_layer = layer_of(target)
            if target_layer.name not in layer.may_import:
                problems.append(f"{module} ({layer.name}) imports {target} ({target_layer.name})")
            elif (
                layer.name == "base"
                and target_layer.name == "base"
                and BASE_ORDER.index(target) >= BASE_ORDER.index(module)
            ):
                problems.append(f"{module} imports {target}, later in the base order")
    return problems


def io_in_pure_core(modules: dict[str, ast.Module]) -> list[str]:
    problems = []
    pure = _layer("pure core")
    for module, tree in modules.items():
        if layer_of(module) is not pure:
            continue
        for target in imports_of(module, tree, modules):
            if target.split(".")[0] in IO_MODULES:
                problems.append(f"{module} imports {target}")
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                owner = node.func.value
                owner_name = (
                    owner.id
                    if isinstance(owner, ast.Name)
                    else owner.attr
                    if isinstance(owner, ast.Attribute)
                    else None
                )
                if (owner_name, node.func.attr) in CLOCK_CALLS:
                    problems.append(f"{module}:{node.lineno} calls {owner_name}.{node.func.attr}()")
    return problems


# the package itself ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def modules() -> dict[str, ast.Module]:
    return discover()


def test_every_module_is_read(modules: dict[str, ast.Module]) -> None:
    for expected in (
        "clinicbot",
        "clinicbot.scheduling",
        "clinicbot.db.migrations",
        "clinicbot.services.booking",
        "clinicbot.web.staff",
        "clinicbot.cli",
    ):
        assert expected in modules


def test_every_layer_names_modules_that_exist(modules: dict[str, ast.Module]) -> None:
    for layer in LAYERS:
        for pattern in layer.modules:
            exists = (
                any(_in_package(m, pattern[:-2]) for m in modules)
                if pattern.endswith(".*")
                else pattern in modules
            )
            assert exists, f"{layer.name} names {pattern}, which is no module of clinicbot"
    assert set(BASE_ORDER) == set(_layer("base").modules)


def test_each_layer_imports_only_from_below(modules: dict[str, ast.Module]) -> None:
    assert violations(modules) == []


def test_the_pure_core_does_no_io_and_reads_no_clock(modules: dict[str, ast.Module]) -> None:
    pure = {m for m in modules if layer_of(m).name == "pure core"}
    assert {"clinicbot.phones", "clinicbot.scheduling", "clinicbot.conversation.engine"} <= pure
    assert io_in_pure_core(modules) == []


def test_unnamed_modules_are_entry_points(modules: dict[str, ast.Module]) -> None:
    for module in (
        "clinicbot.cli",
        "clinicbot.server",
        "clinicbot.__main__",
        "clinicbot.demo",
        "clinicbot.relay.server",
    ):
        if module in modules:
            assert layer_of(module).name == ENTRY


# the checker itself: it must see what it is meant to catch ----------------------------------


def _fake(sources: dict[str, str]) -> dict[str, ast.Module]:
    return {name: ast.parse(source) for name, source in sources.items()}


def test_the_checker_sees_an_upward_import() -> None:
    fake = _fake(
        {
            "clinicbot.scheduling": "def f():\n    from clinicbot.db import database\n",
            "clinicbot.db": "",
            "clinicbot.db.database": "",
            "clinicbot.services.booking": "import clinicbot.web.staff\n",
            "clinicbot.web.staff": "from clinicbot import server\n",
            "clinicbot.server": "",
            "clinicbot.store.rows": "from ..services import booking\n",
            "clinicbot.store": "",
            "clinicbot.services": "",
            "clinicbot.errors": "from clinicbot.config import Settings\n",
            "clinicbot.config": "from clinicbot.errors import ClinicError\n",
        }
    )
    assert violations(fake) == [
        "clinicbot.scheduling (pure core) imports clinicbot.db.database (adapters)",
        "clinicbot.services.booking (services) imports clinicbot.web.staff (web)",
        f"clinicbot.web.staff (web) imports clinicbot.server ({ENTRY})",
        "clinicbot.store.rows (adapters) imports clinicbot.services.booking (services)",
        "clinicbot.errors imports clinicbot.config, later in the base order",
    ]


def test_the_checker_sees_io_and_the_clock_in_the_pure_core() -> None:
    fake = _fake(
        {
            "clinicbot.scheduling": (
                "import datetime\nfrom os import path\n"
                "def f():\n    return datetime.datetime.now()\n"
            ),
            "clinicbot.phones": "import time\nfrom datetime import date\nx = date.today()\n",
            "clinicbot.services.booking": "import sqlite3\nfrom datetime import datetime\n"
            "now = datetime.now()\n",
        }
    )
    assert sorted(io_in_pure_core(fake)) == [
        "clinicbot.phones imports time",
        "clinicbot.phones:3 calls date.today()",
        "clinicbot.scheduling imports os",
        "clinicbot.scheduling:4 calls datetime.now()",
    ]
