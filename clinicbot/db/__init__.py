"""SQLite adapter: the schema's migrations and the connections the app runs on."""

from clinicbot.db.database import Database, connect
from clinicbot.db.migrations import MIGRATIONS, migrate

__all__ = ["MIGRATIONS", "Database", "connect", "migrate"]
