"""The ledger's verification in SQL (:func:`yibao.app.ledger.verify`): accumulators summed in the database.

A ledger entry's ``consumed`` and a year-to-date row's ``data`` are :class:`yibao.settlement.model.YearToDate` as
JSON: scalars (``admissions``, ``ci_paid`` …) and maps (``basic_paid: {"inp": …, "opd@M03": …}`` …). The scalars
are summed per person-year (:func:`scalars`: PostgreSQL's ``jsonb_to_record``, one parse per row; SQLite's
``json_extract``); the maps are turned into one row per entry (:func:`map_entries`: ``jsonb_each`` /
``json_each``) and summed per person-year and entry. :func:`differing_years` compares both with the stored rows in
one statement and returns only the person-years that differ, judged as ``YearToDate`` equality judges them (a map
entry summing to 0 is no entry; a stored entry of 0 is one; the stored JSON's ``year`` must be the row's).
:func:`account_bills` finds the bills whose personal-account payment disagrees with what they consumed.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from yibao.settlement.model import YearToDate
from yibao.store.service_tables import LedgerEntry, YearToDateRow

SCALARS: tuple[str, ...] = YearToDate._SCALARS
MAPS: tuple[str, ...] = YearToDate._MAPS
_LEDGER: sa.Table = LedgerEntry.__table__  # type: ignore[assignment]
_YTD: sa.Table = YearToDateRow.__table__  # type: ignore[assignment]


def scalars(dialect: str, table: sa.Table, column: str, names: tuple[str, ...]) -> sa.Select[Any]:
    """Per (person_id, year) of ``table``: the sum of each scalar ``names`` of the JSON in ``column`` (NULL: none),
    labelled ``j_<name>``."""
    source = table.c[column]
    if dialect == "postgresql":
        record = (
            sa.func.jsonb_to_record(sa.cast(source, JSONB))
            .table_valued(*(sa.column(n, sa.BigInteger) for n in names), name="r")
            .render_derived(with_types=True)
        )
        values: list[sa.ColumnElement[Any]] = [record.c[n] for n in names]
        q = sa.select(table.c.person_id, table.c.year).select_from(table).join(record, sa.true())
    else:
        values = [sa.func.json_extract(source, f"$.{n}") for n in names]
        q = sa.select(table.c.person_id, table.c.year).select_from(table)
    sums = [sa.func.sum(v).label(f"j_{n}") for v, n in zip(values, names, strict=True)]
    return q.add_columns(*sums).group_by(table.c.person_id, table.c.year)


def map_entries(dialect: str, table: sa.Table, column: str) -> sa.Select[Any]:
    """One row per entry of every map in ``table.<column>``: ``person_id, year, field, key, v``."""
    source = table.c[column]
    if dialect == "postgresql":
        top = sa.func.jsonb_each(sa.cast(source, JSONB)).table_valued(
            sa.column("key", sa.String), sa.column("value", JSONB), name="f"
        )
        is_map = sa.func.jsonb_typeof(top.c.value) == "object"
        inner = sa.func.jsonb_each(sa.case((is_map, top.c.value), else_=sa.cast(sa.literal("{}"), JSONB))).table_valued(
            sa.column("key", sa.String), sa.column("value", JSONB), name="k"
        )
        value: sa.ColumnElement[Any] = sa.cast(inner.c.value, sa.BigInteger)
    else:
        top = sa.func.json_each(source).table_valued(sa.column("key", sa.String), sa.column("value", sa.String), name="f")
        inner = sa.func.json_each(top.c.value).table_valued(
            sa.column("key", sa.String), sa.column("value", sa.BigInteger), name="k"
        )
        is_map = sa.func.json_type(top.c.value) == "object"
        value = inner.c.value
    return (
        sa.select(table.c.person_id, table.c.year, top.c.key.label("field"), inner.c.key.label("key"), value.label("v"))
        .select_from(table)
        .join(top, sa.true())
        .join(inner, sa.true())
        .where(top.c.key.in_(MAPS), is_map)
    )


def differing_years(dialect: str) -> sa.Select[Any]:
    """The (person_id, year) whose accumulators summed over the ledger are not the stored ones, in order."""
    derived = scalars(dialect, _LEDGER, "consumed", SCALARS).subquery("derived")
    kept = scalars(dialect, _YTD, "data", (*SCALARS, "year")).subquery("kept")
    nothing = [sa.null().label(n) for n in SCALARS]
    sides = sa.union_all(
        sa.select(derived.c.person_id, derived.c.year, *(derived.c[f"j_{n}"] for n in SCALARS), *nothing, sa.null().label("y")),
        sa.select(kept.c.person_id, kept.c.year, *nothing, *(kept.c[f"j_{n}"] for n in SCALARS), kept.c.j_year.label("y")),
    ).subquery("sides")
    cols = list(sides.c)
    ledger_sum = {n: sa.func.coalesce(sa.func.sum(cols[2 + i]), 0) for i, n in enumerate(SCALARS)}
    stored_sum = {n: sa.func.coalesce(sa.func.sum(cols[2 + len(SCALARS) + i]), 0) for i, n in enumerate(SCALARS)}
    scalar_years = (
        sa.select(sides.c.person_id, sides.c.year)
        .group_by(sides.c.person_id, sides.c.year)
        .having(sa.or_(*(ledger_sum[n] != stored_sum[n] for n in SCALARS), sa.func.max(sides.c.y) != sides.c.year))
    )
    ledger = map_entries(dialect, _LEDGER, "consumed").subquery("ledger_entries")
    stored = map_entries(dialect, _YTD, "data").subquery("stored_entries")
    keys = ("person_id", "year", "field", "key")
    both = sa.union_all(
        sa.select(*(ledger.c[k] for k in keys), ledger.c.v.label("dv"), sa.null().label("sv")),
        sa.select(*(stored.c[k] for k in keys), sa.null().label("dv"), stored.c.v.label("sv")),
    ).subquery("entries")
    dsum, ssum = sa.func.coalesce(sa.func.sum(both.c.dv), 0), sa.func.coalesce(sa.func.sum(both.c.sv), 0)
    entry_years = (
        sa.select(both.c.person_id, both.c.year)
        .group_by(*(both.c[k] for k in keys))
        .having(sa.or_(dsum != ssum, sa.and_(sa.func.count(both.c.sv) > 0, dsum == 0)))
    )
    found = sa.union(scalar_years, entry_years).subquery("found")
    return sa.select(found.c.person_id, found.c.year).order_by(found.c.person_id, found.c.year)


def acct_paid(dialect: str) -> sa.ColumnElement[int]:
    """A ledger entry's ``consumed.acct_paid`` (0 when absent)."""
    if dialect == "postgresql":
        value: sa.ColumnElement[Any] = sa.cast(sa.cast(_LEDGER.c.consumed, JSONB).op("->>")("acct_paid"), sa.BigInteger)
    else:
        value = sa.func.json_extract(_LEDGER.c.consumed, "$.acct_paid")
    return sa.func.coalesce(value, 0)


def account_bills(dialect: str) -> sa.Select[Any, Any, int, Any]:
    """Per bill (a settlement with its back-pays, or any other entry alone): the personal-account payment, what the
    entries consumed of the account, the person's share — only bills where the payment is not what was consumed, is
    larger than the share or of the other sign; in the ledger's order."""
    bill = sa.func.coalesce(_LEDGER.c.corrects, _LEDGER.c.setl_id)
    paid, used, share = sa.func.sum(_LEDGER.c.acct_pay), sa.func.sum(acct_paid(dialect)), sa.func.sum(_LEDGER.c.psn_part_amt)
    wrong = sa.or_(
        paid != used, sa.func.abs(paid) > sa.func.abs(share), sa.and_(paid > 0, share < 0), sa.and_(paid < 0, share > 0)
    )
    return (
        sa.select(bill.label("setl_id"), paid.label("acct_pay"), used.label("consumed_acct_paid"), share.label("psn_part_amt"))
        .group_by(bill)
        .having(wrong)
        .order_by(sa.func.min(_LEDGER.c.id))
    )
