"""The ledger's verification in SQL (:func:`yibao.app.ledger.verify`): accumulators summed in the database.

A ledger entry's ``consumed`` and a year-to-date row's ``data`` are :class:`yibao.settlement.model.YearToDate` as
JSON: scalars (``admissions``, ``ci_paid`` …) and maps (``basic_paid: {"inp": …, "opd@M03": …}`` …). Each JSON is
parsed once and turned into one row per scalar and per map entry (:func:`values`: PostgreSQL's ``jsonb_each``,
SQLite's ``json_each``); :func:`differing_years` sums both sides per person-year, field and key in one grouping and
returns only the person-years that differ, judged as ``YearToDate`` equality judges them (a map entry summing to 0
is no entry; a stored entry of 0 is one; the stored JSON's ``year`` must be the row's).
:func:`account_bills` finds the bills whose personal-account payment disagrees with what they consumed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSON, JSONB

from yibao.settlement.model import YearToDate
from yibao.store.service_tables import LedgerEntry, YearToDateRow

SCALARS: tuple[str, ...] = YearToDate._SCALARS
MAPS: tuple[str, ...] = YearToDate._MAPS
_LEDGER: sa.Table = LedgerEntry.__table__  # type: ignore[assignment]
_YTD: sa.Table = YearToDateRow.__table__  # type: ignore[assignment]


def values(
    dialect: str, table: sa.Table, column: str, *, stored: bool, scope: sa.Select[Any, Any] | None = None
) -> sa.Select[Any]:
    """One row per scalar and per map entry of the JSON in ``table.<column>`` (parsed once per row): ``person_id,
    year, field, key`` (NULL for a scalar) ``, v``. Only rows that can change the comparison: of the ledger
    (``stored`` false) no 0 (a sum's 0 is no entry); of the stored rows (``stored``) every map entry (an entry of 0 is
    one) and the JSON's ``year``, but no scalar 0 (a scalar of 0 is a scalar left out). No NULL, on either side.
    ``scope``: only the person-years it selects (``person_id, year``)."""
    source = table.c[column]
    if dialect == "postgresql":
        top = sa.func.jsonb_each(sa.cast(source, JSONB)).table_valued(
            sa.column("key", sa.String), sa.column("value", JSONB), name="f"
        )
        is_map = sa.func.jsonb_typeof(top.c.value) == "object"
        inner = sa.func.jsonb_each(sa.case((is_map, top.c.value), else_=sa.cast(sa.literal("{}"), JSONB))).table_valued(
            sa.column("key", sa.String), sa.column("value", JSONB), name="k"
        )
        whole = sa.cast(sa.literal("{}"), ARRAY(sa.Text))  # the path to the value itself: JSON null is NULL
        scalar: sa.ColumnElement[Any] = sa.cast(top.c.value.op("#>>")(whole), sa.BigInteger)
        entry: sa.ColumnElement[Any] = sa.cast(inner.c.value, sa.BigInteger)
    else:
        top = sa.func.json_each(source).table_valued(sa.column("key", sa.String), sa.column("value", sa.String), name="f")
        is_map = sa.func.json_type(top.c.value) == "object"
        inner = sa.func.json_each(sa.case((is_map, top.c.value), else_=sa.literal("{}"))).table_valued(
            sa.column("key", sa.String), sa.column("value", sa.BigInteger), name="k"
        )
        scalar, entry = top.c.value, inner.c.value
    field = top.c.key
    # filtered before the maps' entries are read; a CASE, so that a map's JSON is never cast to a number
    fields = [sa.and_(field.in_(MAPS), is_map), sa.case((field.in_(SCALARS), scalar)) != 0]
    if stored:
        fields.append(field == "year")
    v = sa.case((field.in_(MAPS), entry), else_=scalar)
    mine = [] if scope is None else [sa.tuple_(table.c.person_id, table.c.year).in_(scope)]
    return (
        sa.select(table.c.person_id, table.c.year, field.label("field"), inner.c.key.label("key"), v.label("v"))
        .select_from(table)
        .join(top, sa.true())
        .outerjoin(inner, sa.true())
        .where(sa.or_(*fields), v.is_not(None) if stored else v != 0, *mine)
    )


def differing_years(dialect: str, scope: sa.Select[Any, Any] | None = None) -> sa.Select[Any]:
    """The (person_id, year) whose accumulators summed over the ledger are not the stored ones, in order: the ledger's
    and the stored rows' values (:func:`values`) summed per person-year, field and key in one grouping. ``scope``: only
    the person-years it selects."""
    ledger = values(dialect, _LEDGER, "consumed", stored=False, scope=scope).subquery("ledger_values")
    stored = values(dialect, _YTD, "data", stored=True, scope=scope).subquery("stored_values")
    keys = ("person_id", "year", "field", "key")
    both = sa.union_all(
        sa.select(*(ledger.c[k] for k in keys), ledger.c.v.label("dv"), sa.null().label("sv")),
        sa.select(*(stored.c[k] for k in keys), sa.null().label("dv"), stored.c.v.label("sv")),
    ).subquery("sides")
    dsum, ssum = sa.func.coalesce(sa.func.sum(both.c.dv), 0), sa.func.coalesce(sa.func.sum(both.c.sv), 0)
    year_differs = sa.and_(both.c.field == "year", sa.func.max(both.c.sv) != both.c.year)
    sums_differ = sa.and_(
        both.c.field != "year",
        sa.or_(dsum != ssum, sa.and_(both.c.field.in_(MAPS), sa.func.count(both.c.sv) > 0, dsum == 0)),
    )
    groups = sa.select(both.c.person_id, both.c.year).group_by(*(both.c[k] for k in keys))
    found = groups.having(sa.or_(year_differs, sums_differ)).subquery("found")
    return sa.select(found.c.person_id, found.c.year).distinct().order_by(found.c.person_id, found.c.year)


def acct_paid(dialect: str) -> sa.ColumnElement[int]:
    """A ledger entry's ``consumed.acct_paid`` (0 when absent). On PostgreSQL read as ``json``, not ``jsonb``: one
    field of a text is found in about half the time it takes to build the whole ``jsonb`` (the last of duplicate
    keys counts either way)."""
    if dialect == "postgresql":
        value: sa.ColumnElement[Any] = sa.cast(sa.cast(_LEDGER.c.consumed, JSON).op("->>")("acct_paid"), sa.BigInteger)
    else:
        value = sa.func.json_extract(_LEDGER.c.consumed, "$.acct_paid")
    return sa.func.coalesce(value, 0)


def _wrong(paid: sa.ColumnElement[int], used: sa.ColumnElement[int], share: sa.ColumnElement[int]) -> sa.ColumnElement[bool]:
    """A bill's personal-account payment is not what was consumed, is larger than the share or of the other sign."""
    return sa.or_(
        paid != used, sa.func.abs(paid) > sa.func.abs(share), sa.and_(paid > 0, share < 0), sa.and_(paid < 0, share > 0)
    )


def account_bills(
    dialect: str, scope: sa.Select[Any] | None = None, new: Sequence[sa.ColumnElement[bool]] = ()
) -> sa.Select[Any, Any, int, Any]:
    """Per bill (a settlement with its back-pays, or any other entry alone): the personal-account payment, what the
    entries consumed of the account, the person's share — only bills where the payment is not what was consumed, is
    larger than the share or of the other sign; in the ledger's order.

    Almost every bill is one entry: those are judged row by row; only the entries of a bill with back-pays (a
    back-pay, or a settlement one corrects: a few) are grouped, instead of the whole ledger per bill. ``scope``: only
    the bills it selects (by their first entry's ``setl_id``), the bills of the ledger rows that ``new`` keeps: a bill
    of one entry is then one of those rows, found by them (by ``id``, not among the whole ledger)."""
    corrected = sa.select(_LEDGER.c.corrects).where(_LEDGER.c.corrects.is_not(None))
    shared = sa.or_(_LEDGER.c.corrects.is_not(None), _LEDGER.c.setl_id.in_(corrected))
    bill = sa.func.coalesce(_LEDGER.c.corrects, _LEDGER.c.setl_id)
    mine = [] if scope is None else [bill.in_(scope)]
    paid, used, share = sa.func.sum(_LEDGER.c.acct_pay), sa.func.sum(acct_paid(dialect)), sa.func.sum(_LEDGER.c.psn_part_amt)
    grouped = (
        sa.select(bill.label("setl_id"), paid.label("acct_pay"), used.label("consumed_acct_paid"),
                  share.label("psn_part_amt"), sa.func.min(_LEDGER.c.id).label("first"))
        .where(shared, *mine)
        .group_by(bill)
        .having(_wrong(paid, used, share))
    )  # fmt: skip
    alone = sa.select(
        _LEDGER.c.setl_id,
        _LEDGER.c.acct_pay,
        acct_paid(dialect).label("consumed_acct_paid"),
        _LEDGER.c.psn_part_amt,
        _LEDGER.c.id.label("first"),
    ).where(~shared, *new, _wrong(_LEDGER.c.acct_pay, acct_paid(dialect), _LEDGER.c.psn_part_amt))
    bills = sa.union_all(grouped, alone).subquery("bills")
    return sa.select(bills.c.setl_id, bills.c.acct_pay, bills.c.consumed_acct_paid, bills.c.psn_part_amt).order_by(bills.c.first)
