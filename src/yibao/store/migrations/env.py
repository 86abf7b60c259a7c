"""Alembic environment: the engine comes from yibao (``config.attributes['engine']``) or the URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from yibao.store import audit_tables, claims_cube_tables, monitoring_tables, service_tables  # noqa: F401  (registers the tables)
from yibao.store.db import make_engine
from yibao.store.ledger_partitions import include_object
from yibao.store.tables import Base

config = context.config
target_metadata = Base.metadata


def run() -> None:
    engine: Engine = config.attributes.get("engine") or make_engine()
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=True,
            include_object=include_object(connection.dialect.name),  # the partitioned ledger's own objects
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run()
