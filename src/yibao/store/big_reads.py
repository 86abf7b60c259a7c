"""The transaction's settings for a big read of the ledger on PostgreSQL (the monitoring run, ``verify``, the reports).

``SET LOCAL``: they end with the transaction, and nothing else sees them; on SQLite nothing is set.
"""

from __future__ import annotations

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
