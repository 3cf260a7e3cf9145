"""Runtime SQL: plain functions over a ``sqlite3.Connection``, one table family per module.

They run inside a transaction that their caller owns (a service, or ``Database.read``).
"""
