"""The frames numbered once per audit, so rules compare integers instead of joining strings.

A county-year has millions of lines; joining them with the claims (or with a knowledge table) on a
string key hashes every line each time. Instead, once per audit (:func:`indexed`):

- each line gets ``cidx``, the row of its claim in ``claims``: found for each run of lines of one
  claim (lines come grouped by claim), not for each line; lines of a claim not in the frames are
  dropped (no rule looks at them);
- each line gets ``item``, the index of its ``med_list_codg`` among the lines' distinct codes, so a
  rule keeps the lines of the items some knowledge names with a lookup (:meth:`Indexed.has_item`);
- each claim gets ``pidx``, the row of its person in ``people`` (null when not there), and ``pid``,
  an integer per person.

A rule then takes a claim's or person's columns for its few candidate lines by position
(:meth:`Indexed.with_claims`, :meth:`Indexed.with_people`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import polars as pl

from yibao.audit.columnar.memo import remembered
from yibao.audit.model import Frames

IDX = pl.UInt32


@dataclass(frozen=True)
class Indexed:
    lines: pl.DataFrame
    """The lines of known claims, in their order, with ``cidx`` and ``item``."""
    claims: pl.DataFrame
    """The claims, in their order, with ``pidx`` and ``pid``."""
    people: pl.DataFrame
    codes: dict[str, int]
    """Each distinct ``med_list_codg`` of the lines → its ``item``."""

    def items(self, codes: Iterable[str]) -> pl.Series:
        """A mask over ``item`` (True for the items among ``codes``)."""
        mask = np.zeros(len(self.codes), dtype=bool)
        for c in codes:
            i = self.codes.get(c)
            if i is not None:
                mask[i] = True
        return pl.Series("mask", mask)

    def has_item(self, codes: Iterable[str]) -> pl.Expr:
        """Whether a line's item is among ``codes`` (a gather from a mask: ``is_in`` costs five times more)."""
        return pl.lit(self.items(codes)).gather(pl.col("item"))

    def of_items(self, codes: Iterable[str]) -> pl.DataFrame:
        """The lines whose item is among ``codes``."""
        return self.lines.filter(self.has_item(codes))

    def by_item(self, table: pl.DataFrame) -> pl.DataFrame:
        """``table`` (a row per ``med_list_codg``) laid out by item: row ``i`` for item ``i``, nulls where it has none."""
        codes = pl.DataFrame({"med_list_codg": list(self.codes)}, schema={"med_list_codg": pl.Utf8})
        return codes.join(table, on="med_list_codg", how="left", maintain_order="left")

    def with_claims(self, df: pl.DataFrame, *columns: str) -> pl.DataFrame:
        """``df``'s lines (with ``cidx``) with their claim's ``columns``."""
        at = df.get_column("cidx")
        return df.with_columns([self.claims.get_column(c).gather(at) for c in columns])

    def with_people(self, df: pl.DataFrame, *columns: str) -> pl.DataFrame:
        """``df``'s lines (with ``cidx``) with their person's ``columns`` (lines of a person not in ``people`` are dropped)."""
        pidx = self.claims.get_column("pidx").gather(df.get_column("cidx"))
        df = df.filter(pidx.is_not_null())
        pidx = pidx.drop_nulls()
        return df.with_columns([self.people.get_column(c).gather(pidx) for c in columns])


def positions(keys: pl.Series, table: pl.Series) -> pl.Series:
    """The row of each of ``keys`` in ``table`` (its first, should a value repeat), null where it is not there.

    Joined on 64-bit hashes of the strings (an inner join, which hashes the smaller side: a third of a
    string join's time), then checked: any collision, repeated value or null falls back to the join on
    the strings themselves.
    """
    right = pl.DataFrame({"h": table.hash(), "at": pl.int_range(table.len(), dtype=IDX, eager=True)})
    left = pl.DataFrame({"h": keys.hash(), "k": pl.int_range(keys.len(), dtype=IDX, eager=True)})
    found = left.join(right, on="h", how="inner")
    k = found.get_column("k")
    if not found.height or np.bincount(k.to_numpy(), minlength=1).max() <= 1:
        at = pl.repeat(None, keys.len(), dtype=IDX, eager=True).scatter(k, found.get_column("at"))
        if ((table.gather(at) == keys).fill_null(False) | at.is_null()).all():
            return at
    right_s = pl.DataFrame({"k": table, "at": right.get_column("at")}).unique("k", keep="first", maintain_order=True)
    return pl.DataFrame({"k": keys}).join(right_s, on="k", how="left", maintain_order="left").get_column("at")


def _line_claims(f: Frames) -> pl.Series:
    """Each line's ``cidx`` (null for a claim not in ``f.claims``), found once per run of one claim's lines."""
    runs = f.lines.select(pl.col("claim_id").rle()).unnest("claim_id")
    at = positions(runs.get_column("value"), f.claims.get_column("claim_id"))
    known = at.fill_null(-1).cast(pl.Int64).to_numpy()
    s = pl.Series("cidx", np.repeat(known, runs.get_column("len").to_numpy()))
    return s.set(s < 0, None).cast(IDX) if (known < 0).any() else s.cast(IDX)


def _claim_people(f: Frames) -> pl.DataFrame:
    """``pidx`` and ``pid`` of each claim, in the claims' order."""
    psn = f.claims.get_column("psn_no")
    pidx = positions(psn, f.people.get_column("psn_no")).alias("pidx")
    if not pidx.null_count():
        return pl.DataFrame({"pidx": pidx, "pid": pidx.cast(pl.Int64)})
    # persons not in the registry: numbered after it, one number each
    extra = psn.filter(pidx.is_null()).rank("dense").cast(pl.Int64)
    pid = pidx.cast(pl.Int64).scatter(pidx.is_null().arg_true(), extra + f.people.height - 1)
    return pl.DataFrame({"pidx": pidx, "pid": pid})


def _build(f: Frames) -> Indexed:
    codes = f.lines.get_column("med_list_codg").drop_nulls().unique().sort().to_list()
    item = f.lines.get_column("med_list_codg").cast(pl.Enum(codes)).to_physical().cast(IDX).alias("item")
    cidx = _line_claims(f)
    lines = f.lines.with_columns(item, cidx)
    if cidx.null_count():
        lines = lines.filter(pl.col("cidx").is_not_null())
    claims = pl.concat([f.claims, _claim_people(f)], how="horizontal")
    return Indexed(lines, claims, f.people, {c: i for i, c in enumerate(codes)})


def indexed(f: Frames) -> Indexed:
    """:class:`Indexed` for ``f``, built once while its frames live."""
    return remembered(f, None, "indexed", lambda: _build(f))
