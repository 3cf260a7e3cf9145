"""The reliability suite (``pytest -m reliability``): real processes under kill -9, a full
disk, a database another program holds, and junk or slow bodies at the listeners."""
