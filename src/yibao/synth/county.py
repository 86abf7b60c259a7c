"""The synthetic county: its frames (:class:`SynthCounty`) and :func:`generate`, which draws them.

Each part is drawn from its own random stream (people, identities, enrolments, filings, then
claims in chunks), so the same ``(persons, year, seed)`` gives the same county.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import cast

import numpy as np
import polars as pl

from yibao.synth.claims import claims_frame, draw_claims
from yibao.synth.draws import epoch_day
from yibao.synth.enrolments import draw_enrolments, enrolments_frame
from yibao.synth.filings import chronic_frame, cross_frame, draw_filings
from yibao.synth.identities import draw_identities, identities_frame
from yibao.synth.people import draw_people, people_frame
from yibao.synth.places import institutions_frame

Progress = Callable[[str], None]

FILES: tuple[str, ...] = ("people", "identities", "enrolments", "chronic_filings", "cross_filings", "claims", "institutions")


@dataclass(frozen=True)
class SynthCounty:
    """A synthetic county: one Polars frame per file (see :mod:`yibao.synth` for the columns)."""

    persons: int
    year: int
    seed: int
    people: pl.DataFrame
    identities: pl.DataFrame
    enrolments: pl.DataFrame
    chronic_filings: pl.DataFrame
    cross_filings: pl.DataFrame
    claims: pl.DataFrame
    institutions: pl.DataFrame

    def frames(self) -> dict[str, pl.DataFrame]:
        return {name: cast(pl.DataFrame, getattr(self, name)) for name in FILES}


def generate(persons: int, year: int, seed: int, *, progress: Progress | None = None) -> SynthCounty:
    """A county of ``persons`` people with a year of claims; same arguments, same county."""
    if persons < 1:
        raise ValueError(f"persons must be at least 1, got {persons}")
    if seed < 0:
        raise ValueError(f"seed must be 0 or more, got {seed}")
    if not 1990 <= year <= 2100:
        raise ValueError(f"year must be between 1990 and 2100, got {year}")
    say = progress or (lambda _stage: None)
    streams = np.random.SeedSequence([seed, persons, year]).spawn(5)
    rng_people, rng_ident, rng_enrol, rng_filing = (np.random.default_rng(s) for s in streams[:4])

    y0 = epoch_day(date(year, 1, 1))
    y1 = epoch_day(date(year, 12, 31))
    ndays = y1 - y0 + 1

    say("people")
    p = draw_people(rng_people, persons, year)
    say("identities")
    identities = draw_identities(rng_ident, p, year, y0, ndays)
    say("enrolments")
    enrolments, enrolled = draw_enrolments(rng_enrol, p)
    say("filings")
    chronic, cross = draw_filings(rng_filing, p, year, y0, y1)
    say("claims")
    claims = draw_claims(streams[4], p, enrolled, chronic, cross, y0, y1, ndays)
    say("frames")
    people_df = people_frame(p)
    psn_no = people_df["psn_no"]
    return SynthCounty(
        persons=persons,
        year=year,
        seed=seed,
        people=people_df,
        identities=identities_frame(identities, psn_no),
        enrolments=enrolments_frame(enrolments, p, psn_no, year),
        chronic_filings=chronic_frame(chronic, psn_no),
        cross_filings=cross_frame(cross, psn_no),
        claims=claims_frame(claims, psn_no),
        institutions=institutions_frame(),
    )
