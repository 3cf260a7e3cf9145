"""Services: each public function is one transaction's worth of work, run as
``await db.write(fn, ...)`` (or inside ``transaction(conn)`` in tests and scripts).
``now`` is always an argument: services read no clock.
"""
