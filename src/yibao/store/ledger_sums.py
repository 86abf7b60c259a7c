"""The ledger's verification in SQL (:func:`yibao.app.ledger.verify`): accumulators summed in the database.

A ledger entry's ``consumed`` and a year-to-date row's ``data`` are :class:`yibao.settlement.model.YearToDate` as
JSON: scalars (``admissions``, ``ci_paid`` …) and maps (``basic_paid: {"inp": …, "opd@M03": …}`` …). :func:`flat`
turns such a column into one row per number — (person, year, field, key, value), key ``""`` for a scalar — with
PostgreSQL's ``jsonb_each`` or SQLite's ``json_tree``; :func:`differing_years` compares the ledger's sums with the
stored rows in one statement and returns only the person-years that differ, judged as ``YearToDate`` equality
judges them (a map entry summing to 0 is no entry; a stored entry of 0 is one). :func:`account_bills` finds the
bills whose personal-account payment disagrees with what they consumed of the account.
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


def flat(dialect: str, table: sa.Table, column: str) -> sa.Select[Any]:
    """One row per number in ``table.<column>`` (YearToDate JSON): ``person_id, year, field, key, v``."""
    source = table.c[column]
    if dialect == "postgresql":
        top = sa.func.jsonb_each(sa.cast(source, JSONB)).table_valued(
            sa.column("key", sa.String), sa.column("value", JSONB), name="f"
        )
        is_map = sa.func.jsonb_typeof(top.c.value) == "object"
        inner = sa.func.jsonb_each(sa.case((is_map, top.c.value), else_=sa.cast(sa.literal("{}"), JSONB))).table_valued(
            sa.column("key", sa.String), sa.column("value", JSONB), name="k"
        )
        number = sa.func.jsonb_typeof(top.c.value) == "number"
        value = sa.case((number, sa.cast(top.c.value, sa.BigInteger)), else_=sa.cast(inner.c.value, sa.BigInteger))
        columns = (top.c.key.label("field"), sa.func.coalesce(inner.c.key, "").label("key"), value.label("v"))
        return (
            sa.select(table.c.person_id, table.c.year, *columns)
            .select_from(table)
            .join(top, sa.true())
            .outerjoin(inner, sa.true())
            .where(sa.or_(number, inner.c.key.is_not(None)))
        )
    tree = sa.func.json_tree(source).table_valued(
        sa.column("key", sa.String), sa.column("value", sa.BigInteger), sa.column("type", sa.String),
        sa.column("path", sa.String), name="j",
    )  # fmt: skip
    top_level = tree.c.path == "$"  # a map's entries have its path: $.basic_paid, or $."basic_paid" (SQLite 3.39 on)
    field = sa.case((top_level, tree.c.key), else_=sa.func.trim(sa.func.substr(tree.c.path, 3), '"'))
    key = sa.case((top_level, ""), else_=tree.c.key)
    return (
        sa.select(table.c.person_id, table.c.year, field.label("field"), key.label("key"), tree.c.value.label("v"))
        .select_from(table)
        .join(tree, sa.true())
        .where(tree.c.type == "integer")
    )


def differing_years(dialect: str) -> sa.Select[Any]:
    """The (person_id, year) whose accumulators summed over the ledger are not the stored ones, in order."""
    ledger = flat(dialect, _LEDGER, "consumed").subquery("ledger_numbers")
    stored = flat(dialect, _YTD, "data").subquery("stored_numbers")
    names = (*SCALARS, *MAPS)
    keys = ("person_id", "year", "field", "key")
    both = sa.union_all(
        sa.select(*(ledger.c[k] for k in keys), ledger.c.v.label("dv"), sa.null().label("sv")).where(ledger.c.field.in_(names)),
        sa.select(*(stored.c[k] for k in keys), sa.null().label("dv"), stored.c.v.label("sv")).where(
            stored.c.field.in_((*names, "year"))
        ),
    ).subquery("numbers")
    derived = sa.func.coalesce(sa.func.sum(both.c.dv), 0)
    kept = sa.func.coalesce(sa.func.sum(both.c.sv), 0)
    differs = sa.or_(
        sa.and_(both.c.field.in_(SCALARS), derived != kept),
        sa.and_(both.c.field.in_(MAPS), sa.or_(derived != kept, sa.and_(sa.func.count(both.c.sv) > 0, derived == 0))),
        sa.and_(both.c.field == "year", sa.func.max(both.c.sv) != both.c.year),
    )
    per_number = sa.select(both.c.person_id, both.c.year).group_by(*(both.c[k] for k in keys)).having(differs).subquery("differ")
    return sa.select(per_number.c.person_id, per_number.c.year).distinct().order_by(per_number.c.person_id, per_number.c.year)


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
