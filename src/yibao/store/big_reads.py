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


HASH_MEM_MULTIPLIER = 16
"""With ``hashes``: a hash aggregate may take this many times :data:`WORK_MEM` (the default is 2). The planner guesses
a grouping of a common table expression (which has no statistics) at a tenth of its rows: 1.97 million groups for the
claims cube's cells of a 20M-row year, about 1,700 in fact. Guessed at 780 MB, the hash did not fit the default and
the planner sorted 20 million rows by five text keys instead (the cube 157 s; hashed, 75 s). A hash that outgrows
the limit spills to disk (PostgreSQL 13 and later), so the limit is what may be used, not what is."""


def roomy(session: Session, *, jit: bool = True, hashes: bool = False) -> None:
    """On PostgreSQL, for the rest of ``session``'s transaction: :data:`WORK_MEM`, no JIT compilation when ``jit`` is
    false (JSON functions' row estimates are far off: compiling the plan costs seconds), and with ``hashes`` room for
    hash aggregates (:data:`HASH_MEM_MULTIPLIER`)."""
    if session.connection().dialect.name != "postgresql":
        return
    session.execute(sa.text(f"SET LOCAL work_mem = '{WORK_MEM}'"))
    if not jit:
        session.execute(sa.text("SET LOCAL jit = off"))
    if hashes:
        session.execute(sa.text(f"SET LOCAL hash_mem_multiplier = {HASH_MEM_MULTIPLIER}"))


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
