"""A what-if under a residents-only pack settles the synthetic county's residents and leaves its employees out."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from yibao.app import whatif as whatif_run
from yibao.policy.pack import load_pack
from yibao.whatif.scenario import schemes_of, settings_for


def test_schemes_and_settings_of_the_shipped_packs() -> None:
    assert schemes_of(load_pack("yunnan-lincang-2023")) == {"390"}
    assert schemes_of(load_pack("anhui-huaibei-2022")) == {"390", "310"}
    s = settings_for(load_pack("yunnan-lincang-2023"))
    assert s.threshold_fen == 700_000 and "tuopin" in s.monitored
    assert settings_for(load_pack("yunnan-lincang-2023"), threshold_fen=500_000).threshold_fen == 500_000


def test_a_residents_only_pack_runs_on_the_residents(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(whatif_run, "ROOT", tmp_path)
    pack = load_pack("yunnan-lincang-2023")
    out = whatif_run.run(pack, pack, 1500, 3, "zh")
    full = whatif_run.county(1500, 2023, 3)
    people = pl.read_parquet(full / "people.parquet")
    claims = pl.read_parquet(full / "claims.parquet").join(people.select("psn_no", "insutype"), on="psn_no")
    residents = claims.filter(pl.col("insutype") == "390").height
    assert 0 < residents < claims.height  # the county has employees, and they are left out
    assert out.claims == residents
    employees = claims.filter(pl.col("insutype") == "310")
    said = f"该险种 {employees['psn_no'].n_unique():,} 人的 {employees.height:,} 笔单据不在本政策包范围内"
    assert said in out.not_covered  # and said so, as `yibao batch` says it
    again = whatif_run.run(pack, pack, 1500, 3, "en")  # the baseline from the cache: the same counts
    assert f"{employees.height:,} claims of its {employees['psn_no'].n_unique():,} people were not settled" in again.not_covered
    # the baseline compared with itself changes nothing
    assert out.cmp.by_payer["change"].to_list() == [0] * out.cmp.by_payer.height
