"""Allow ``python -m clinicbot``."""

from clinicbot.cli import main

main()
