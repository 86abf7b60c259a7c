"""The columnar audit does not depend on the order of the frames' rows.

The engine numbers the frames once per audit (:mod:`yibao.audit.columnar.indexed`): each run of one
claim's lines is matched to its claim, visits are sorted stably when the claims come in ``seq``
order and fully otherwise. Shuffling the claims, the lines (a claim's lines then come in several
runs) and the people, or adding lines of a claim the frames do not hold, must give the same
findings as the frames in settlement order (which the differential test checks against the
scalar form).
"""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yibao.audit.columnar.indexed import positions
from yibao.audit.engine import audit_frames
from yibao.audit.model import Frames, frames_of

from . import gen


def _rows(df: pl.DataFrame) -> list[tuple[object, ...]]:
    return sorted(df.iter_rows())


def _stray_lines(lines: pl.DataFrame) -> pl.DataFrame:
    """The first claim's lines again, under a claim id no claim has."""
    first = lines.filter(pl.col("claim_id") == lines.get_column("claim_id")[0])
    return first.with_columns(pl.lit("NOT-A-CLAIM").alias("claim_id"), pl.col("feedetl_sn") + "x")


@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(gen.cases(), st.integers(0, 2**32 - 1))
def test_shuffled_frames_give_the_same_findings(case: gen.Case, seed: int) -> None:
    f = frames_of(case.claims, case.people)
    expected = _rows(audit_frames(case.pack, f, "during"))
    lines = f.lines if not f.lines.height else pl.concat([f.lines, _stray_lines(f.lines)])
    shuffled = Frames(
        f.claims.sample(fraction=1.0, shuffle=True, seed=seed),
        lines.sample(fraction=1.0, shuffle=True, seed=seed + 1),
        f.people.sample(fraction=1.0, shuffle=True, seed=seed + 2),
    )
    assert _rows(audit_frames(case.pack, shuffled, "during")) == expected


def test_positions_of_keys_in_a_table() -> None:
    table = pl.Series(["a", "b", "c", "b"])
    keys = pl.Series(["c", "x", "b", None, "a"])
    # "b" repeats in the table: its first row; "x" and null are not there
    assert positions(keys, table).to_list() == [2, None, 1, None, 0]
    assert positions(keys, pl.Series(["a", "b", "c"])).to_list() == [2, None, 1, None, 0]
    assert positions(pl.Series([], dtype=pl.Utf8), table).to_list() == []
