"""Where the app's own files are: a source checkout, an installed package, or a frozen bundle."""

from __future__ import annotations

import sys
from pathlib import Path


def bundle_root() -> Path:
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        return Path(frozen)
    return Path(__file__).resolve().parent.parent


def ui_dir() -> Path:
    """The static staff UI (``ui/`` beside the package)."""
    return bundle_root() / "ui"
