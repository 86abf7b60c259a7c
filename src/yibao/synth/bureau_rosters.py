"""Identity rosters as other bureaus keep them, drawn from a synthetic county (pure generation).

:func:`bureau_roster` is what the civil affairs (民政) or rural revitalisation (乡村振兴) bureau
knows of the county's identities on a day; :func:`changed_roster` is the same roster a month
later with the county's own changes and planted ones (ended, re-certified, changed category, new
people, and one person under a second ID number). The file layouts are
:mod:`yibao.interfaces.workbooks.identity_files`.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl

from yibao.core.idcard import check_digit
from yibao.synth.county import SynthCounty
from yibao.synth.people import GIVEN_FEMALE, GIVEN_MALE, SURNAMES

CHANGES = {"民政": ("dibao", "tekun"), "乡村振兴": ("jiance", "fanpin")}
"""The category change the "changed" roster plants: (from, to)."""


def bureau_roster(county: SynthCounty, bureau: str, as_of: date) -> pl.DataFrame:
    """The bureau's roster as it knows it on ``as_of``: periods begun by then, ends only if already past."""
    people = county.people.select("psn_no", "certno", "psn_name", "gend", "county", "township", "village", "hh_no")
    ids = (
        county.identities.with_columns(pl.col("category").cast(pl.String), pl.col("source_bureau").cast(pl.String))
        .filter((pl.col("source_bureau") == bureau) & (pl.col("valid_from") <= as_of))
        .with_columns(pl.when(pl.col("valid_to") < as_of).then(pl.col("valid_to")).alias("valid_to"))
        .unique(["psn_no", "category"], keep="last", maintain_order=True)
    )
    return (
        ids.join(people, on="psn_no", how="inner")
        .sort("township", "village", "hh_no", "psn_no", "valid_from")
        .select("certno", "psn_name", "gend", "county", "township", "village", "hh_no", "category", "valid_from", "valid_to")
    )


def certno_of(region: str, born: date, seq: int, male: bool) -> str:
    """A valid ID number (GB 11643) for a birthplace region, birth date and sequence (odd digit for men)."""
    body = f"{region}{born:%Y%m%d}{seq:02d}{(seq * 2 + (1 if male else 0)) % 10}"
    return body + check_digit(body)


def changed_roster(county: SynthCounty, bureau: str, as_of: date, later: date, *, seed: int = 0) -> pl.DataFrame:
    """The roster a month later: the county's own changes up to ``later`` plus planted ones.

    Planted, among rows open and unchanged since ``as_of``: 5 ended, 4 re-certified (new start
    date), 4 changed category (the old ends the day before the new starts), 5 new people, and
    one new ID number with the name, birth date and village of someone already on the roster.
    """
    base = bureau_roster(county, bureau, as_of)
    now = bureau_roster(county, bureau, later)
    rng = np.random.default_rng([seed, later.toordinal()])
    open_both = now.join(base, on=["certno", "category", "valid_from"], how="semi").filter(pl.col("valid_to").is_null())
    order = rng.permutation(open_both.height)
    candidates = open_both[order]
    src, dst = CHANGES[bureau]
    has_dst = set(now.filter(pl.col("category") == dst)["certno"].to_list())
    movers = candidates.filter((pl.col("category") == src) & ~pl.col("certno").is_in(list(has_dst))).head(4)
    rest = candidates.join(movers, on="certno", how="anti")
    ended = rest.head(5)
    recert = rest.slice(5, 4)
    key = ["certno", "category"]
    plan = pl.concat(
        [
            ended.select(*key, pl.lit("end").alias("_do")),
            recert.select(*key, pl.lit("recert").alias("_do")),
            movers.select(*key, pl.lit("move").alias("_do")),
        ]
    )
    d_move, d_end, d_recert, d_new = (later - timedelta(days=k) for k in (20, 10, 5, 3))
    out = (
        now.join(plan, on=key, how="left")
        .with_columns(
            pl.when(pl.col("_do") == "end")
            .then(pl.lit(d_end))
            .when(pl.col("_do") == "move")
            .then(pl.lit(d_move - timedelta(days=1)))
            .otherwise(pl.col("valid_to"))
            .alias("valid_to"),
            pl.when(pl.col("_do") == "recert").then(pl.lit(d_recert)).otherwise(pl.col("valid_from")).alias("valid_from"),
        )
        .drop("_do")
    )
    moved = movers.with_columns(
        pl.lit(dst).alias("category"), pl.lit(d_move).alias("valid_from"), pl.lit(None, dtype=pl.Date).alias("valid_to")
    )

    # new people: fresh ID numbers in villages of the county
    rows = []
    places = base.select("county", "township", "village").unique(maintain_order=True)
    for k in range(5):
        male = bool(rng.integers(0, 2))
        born = date(1950, 1, 1) + timedelta(days=int(rng.integers(0, 60 * 365)))
        given = GIVEN_MALE if male else GIVEN_FEMALE
        name = SURNAMES[int(rng.integers(0, len(SURNAMES)))] + "".join(
            given[int(rng.integers(0, len(given)))] for _ in range(int(rng.integers(1, 3)))
        )
        place = places.row(int(rng.integers(0, places.height)), named=True)
        rows.append(
            {
                "certno": certno_of("530902", born, 90 + k, male),
                "psn_name": name,
                "gend": "1" if male else "2",
                **place,
                "hh_no": f"HN{later:%Y%m}{k + 1:03d}",
                "category": src,
                "valid_from": d_new,
                "valid_to": None,
            }
        )
    # the same person under another ID number (registered first in a neighbouring county)
    placed = base.filter(pl.col("village").is_not_null())
    twin = placed.row(int(rng.integers(0, placed.height)), named=True)
    born = date(int(twin["certno"][6:10]), int(twin["certno"][10:12]), int(twin["certno"][12:14]))
    rows.append(
        {
            **twin,
            "certno": certno_of("530921", born, 77, twin["gend"] == "1"),
            "category": src,
            "valid_from": later - timedelta(days=2),
            "valid_to": None,
        }
    )
    fresh = pl.DataFrame(rows, schema=out.schema)
    return pl.concat([out, moved.select(out.columns), fresh]).sort("township", "village", "hh_no", "certno", "valid_from")
