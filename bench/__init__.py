"""clinicbot's benchmark suite: ``python -m bench`` (or ``./dev bench``).

It builds a realistic clinic database (100,000 patients, 1,000,000 appointments) through the
production migrations, measures the hot paths in-process and over HTTP against a real server
process, each next to a baseline taken in the same run, and writes its section of
docs/BENCHMARKS.md.

Modules: ``clinic`` (the clinic's shape), ``people`` (names and phones), ``build`` (the
database and its cache), ``inputs`` (seeded requests), ``timing`` (samples and percentiles),
``inprocess`` and ``api`` (the measurements), ``server`` (the clinicbot process), ``report``
(the Markdown section), ``runner`` (one run, start to end).

Beside it: the webhook bench (``webhook``, ``webhook_load``, ``webhook_baseline``:
acknowledgements per second) and the turns bench (``turns``, ``turns_load``,
``turns_baseline``, ``turns_report``: a whole WhatsApp turn, webhook in to reply out, while
200 patients book at once).
"""
