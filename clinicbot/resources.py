"""Where the app's own files are: a source checkout or a frozen bundle.

Frozen by PyInstaller (build.spec), ``sys._MEIPASS`` names the folder that holds the
bundled files: ``<bundle>/_internal`` in the one-folder layout, ``Contents/Frameworks`` in
the macOS .app, or the folder a one-file build unpacks into. Those files are read only: the
app writes to its data directory (clinicbot.config), never here.
"""

from __future__ import annotations

import sys
from pathlib import Path


def bundle_root() -> Path:
    """The folder that holds ``ui/``: the bundle's files when frozen, else the checkout."""
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        return Path(frozen)
    return Path(__file__).resolve().parent.parent


def ui_dir() -> Path:
    """The static staff UI (``ui/`` beside the package)."""
    return bundle_root() / "ui"
