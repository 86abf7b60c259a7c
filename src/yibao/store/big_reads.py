"""The transaction's settings for a big read of the ledger on PostgreSQL (the monitoring run, ``verify``, the reports).

``SET LOCAL``: they end with the transaction, and nothing else sees them; on SQLite nothing is set.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

WORK_MEM = "256MB"
"""Memory per sort or hash of the read: a year's ledger grouped per person (or per person, year and accumulator)
stays in memory instead of spilling to temporary files in batches (the default is 4 MB)."""


def roomy(session: Session, *, jit: bool = True) -> None:
    """On PostgreSQL, for the rest of ``session``'s transaction: :data:`WORK_MEM`, and no JIT compilation when
    ``jit`` is false (JSON functions' row estimates are far off: compiling the plan costs seconds)."""
    if session.connection().dialect.name != "postgresql":
        return
    session.execute(sa.text(f"SET LOCAL work_mem = '{WORK_MEM}'"))
    if not jit:
        session.execute(sa.text("SET LOCAL jit = off"))


def kept(session: Session, name: str, q: sa.Select[Any]) -> sa.Select[Any]:
    """On PostgreSQL, ``q``'s rows kept in the temporary table ``name`` for the rest of ``session``'s transaction (made
    again if it was made before in it) and analysed, as a query of them: a later statement's planner then knows how
    many rows there are, which it cannot tell of an aggregate's ``HAVING``, and no list of values is sent (a statement
    takes at most 65,535 parameters)."""
    conn = session.connection()
    compiled = q.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {name}")
    conn.exec_driver_sql(f"CREATE TEMPORARY TABLE {name} ON COMMIT DROP AS {compiled}", compiled.params)
    conn.exec_driver_sql(f"ANALYZE {name}")
    table = sa.table(name, *(sa.column(c.name) for c in q.selected_columns))
    return sa.select(*table.c)
