"""Persistence: tables, migrations, the unit of work."""

from yibao.core.settings import database_url
from yibao.store.db import Database

__all__ = ["Database", "database_url"]
