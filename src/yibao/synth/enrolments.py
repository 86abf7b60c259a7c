"""Enrolments for the county's year: most people enrolled, a few not, a few with a special status."""

from __future__ import annotations

import numpy as np
import polars as pl

from yibao.core.identities import ORDINARY
from yibao.synth.draws import Arr, gather
from yibao.synth.identities import CAT_INDEX

SPECIAL_STATUSES: tuple[str, ...] = ("deceased", "military", "prison", "other_province")
_SPECIAL_P = np.array([0.35, 0.10, 0.05, 0.50])


def draw_enrolments(rng: np.random.Generator, p: dict[str, Arr]) -> tuple[dict[str, Arr], Arr]:
    n = int(p["n"])
    ordinary_resident = (p["cat"] == CAT_INDEX[ORDINARY]) & ~p["employee"]
    u = rng.random(n)
    special_p = np.where(p["employee"], 0.0, np.where(ordinary_resident, 0.006, 0.005))
    not_enrolled_p = np.where(ordinary_resident, 0.025, 0.0)
    special = u < special_p
    not_enrolled = ~special & (u < special_p + not_enrolled_p)
    stas = np.where(special, 4, np.where(not_enrolled, 0, 1)).astype(np.int64)
    kind = np.where(special, 1 + rng.choice(len(SPECIAL_STATUSES), size=n, p=_SPECIAL_P), 0)
    return {"stas": stas, "special": kind}, stas == 1


def enrolments_frame(drawn: dict[str, Arr], p: dict[str, Arr], psn_no: pl.Series, year: int) -> pl.DataFrame:
    """``enrolments``: psn_no, year, insutype, psn_insu_stas, special_status (one row per person)."""
    return pl.DataFrame(
        {
            "psn_no": psn_no,
            "year": pl.Series(np.full(len(psn_no), year, dtype=np.int32)),
            "insutype": gather(("390", "310"), p["employee"].astype(np.int64)),
            "psn_insu_stas": gather(("0", "1", "2", "3", "4"), drawn["stas"]),
            "special_status": gather(("", *SPECIAL_STATUSES), drawn["special"]).replace("", None),
        }
    )
