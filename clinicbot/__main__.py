"""Allow ``python -m clinicbot``; also the frozen bundle's entry point (build.spec)."""

import multiprocessing
import os
import sys

from clinicbot.cli import main

if __name__ == "__main__":
    # A frozen bundle started as a multiprocessing child runs the child's code, not the CLI
    # (clinicbot starts none itself; a library might).
    multiprocessing.freeze_support()
    # A windowed Windows build (clinicbot.exe, double-clicked) has no stdout or stderr: write
    # what would go there to nowhere rather than fail on the first print or log line.
    for name in ("stdout", "stderr"):
        if getattr(sys, name) is None:
            setattr(sys, name, open(os.devnull, "w", encoding="utf-8"))  # noqa: SIM115
    main()
