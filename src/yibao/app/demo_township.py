"""Load the demo township (:mod:`yibao.synth.township`) and settle its 2020 under the Zibo pack's capitation.

The township's institutions go into the registry with their ``township`` (the capitation group), its
people with their township, village and identities; they are enrolled for 2020 and priced under the
Zibo pack (:func:`yibao.app.enrolment.enrol`), and their claims of 2020 settled into the ledger with
that pack (:func:`yibao.app.history.settle_history`, which takes each claim's township from the
institution), so that visits at the township's hospital and clinics by its residents are paid by head
up to the pot's limit. The demo county's year (2022) and people (``P…``) are untouched.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from yibao import synth
from yibao.app.bulk_load import load_synth
from yibao.app.enrolment import enrol
from yibao.app.history import HistoryResult, settle_history
from yibao.policy.pack import PolicyPack, load_pack
from yibao.store.db import Database
from yibao.synth.township import DEMO_TOWNSHIP, TOWNSHIP_PACK, TOWNSHIP_YEAR, generate_township


@dataclass(frozen=True)
class TownshipInfo:
    township: str
    year: int
    persons: int
    claims: int
    settled: HistoryResult


def load_township(
    db: Database, *, persons: int = 300, seed: int = 1, pack: PolicyPack | None = None, user: str = "demo"
) -> TownshipInfo:
    """Register, enrol and settle the demo township's year with ``pack`` (the Zibo 2020 pack by default).

    Refused (nothing written) when its people are already in the registry or 2020 has settlements."""
    pack = pack or load_pack(TOWNSHIP_PACK)
    town = generate_township(persons, seed)
    with tempfile.TemporaryDirectory() as tmp:
        synth.write(town, Path(tmp))
        load_synth(db, Path(tmp), user=user)  # people, identities, enrolment rows and the institutions with their township
    enrol(db, TOWNSHIP_YEAR, pack, user=user)  # premiums priced and split between the person and subsidies
    _people, claims = synth.to_people_and_claims(town)
    settled = settle_history(db, pack, claims, user)
    return TownshipInfo(DEMO_TOWNSHIP, TOWNSHIP_YEAR, town.people.height, town.claims.height, settled)
