"""Persistence: tables, migrations, the unit of work."""

from yibao.store.db import Database, database_url

__all__ = ["Database", "database_url"]
