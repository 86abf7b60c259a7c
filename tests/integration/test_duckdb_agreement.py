"""The DuckDB SQL engine (bench/duckdb_engine.py, the third implementation) agrees with the batch
engine to the fen on every payer column: on a small synthetic county under the shipped pack and
under the bench's stress overlay (caps that bind, crossed thresholds, a mid-year change), and on
random packs and claim histories."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import polars as pl
import pytest
from hypothesis import HealthCheck, event, given, settings

from tests.packgen import population, random_pack
from yibao import synth
from yibao.core.errors import InputErrors
from yibao.policy.overlay import apply_overlay, load_overlay, overlay_from_mapping
from yibao.policy.pack import PolicyPack, load_pack
from yibao.settlement.batch.engine import settle_batch
from yibao.settlement.batch.frames import to_frames
from yibao.settlement.batch.io import read_input
from yibao.settlement.model import Claim, Person

BENCH = Path(__file__).resolve().parents[2] / "bench"
PACK = "anhui-huaibei-2022"


def _duckdb_engine() -> ModuleType:
    """bench/ is no package: load the engine from its file, as ``python bench/duckdb_engine.py`` runs it."""
    spec = importlib.util.spec_from_file_location("bench_duckdb_engine", BENCH / "duckdb_engine.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


duck = _duckdb_engine()


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("duck-county")
    synth.write(synth.generate(2000, 2022, 11), d)
    return d


def _with_employee_lines(pack: PolicyPack) -> PolicyPack:
    """The synthetic county enrols employees; the shipped pack has no employee line (as bench/batch.py does)."""
    return apply_overlay(pack, load_overlay(BENCH / "employee-lines.yaml"))


def _assert_agree(batch: pl.DataFrame, sql: pl.DataFrame) -> None:
    assert sql.height == batch.height > 0
    columns = duck.OUT_COLUMNS[1:]
    assert {"hifp_pay", "hifmi_pay", "maf_pay", "oth_pay", "psn_part_amt"} <= set(columns)
    bad = duck.compare(batch, sql)
    assert bad.height == 0, bad.head(10)


@pytest.mark.parametrize("stress", [False, True], ids=["shipped", "stress"])
def test_duckdb_equals_batch_on_a_synthetic_county(county: Path, stress: bool) -> None:
    pack = _with_employee_lines(load_pack(PACK))
    if stress:
        pack = apply_overlay(pack, overlay_from_mapping({"overlay": "stress", "changes": duck.STRESS}, "stress"))
    batch = settle_batch(pack, read_input(county)).claims
    sql = duck.settle_duckdb(pack, county, threads=1)
    _assert_agree(batch, sql)
    # the county exercises every payer, so agreement is not agreement on zeros
    for name in ("hifp_pay", "hifmi_pay", "maf_pay", "act_pay_dedc"):
        assert int((batch[name] != 0).sum()) > 0, name
    if stress:
        assert int((batch["oth_pay"] != 0).sum()) > 0


@pytest.mark.slow
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(pack=random_pack(basic_features=False, later=False, by_person=False, issue15=False), pop=population(issue15=False))
def test_duckdb_equals_batch_on_random_packs(
    tmp_path_factory: pytest.TempPathFactory, pack: PolicyPack, pop: tuple[list[Person], list[Claim]]
) -> None:
    people, claims = pop
    data = to_frames(people, claims)
    try:
        batch = settle_batch(pack, data).claims
    except InputErrors:
        event("refused")
        return
    event("settled")
    d = tmp_path_factory.mktemp("duck-random")
    for name in ("claims", "people", "identities", "chronic_filings", "cross_filings"):
        getattr(data, name).write_parquet(d / f"{name}.parquet")
    sql = duck.settle_duckdb(pack, d, threads=1)
    _assert_agree(batch, sql)


def test_duckdb_refuses_the_later_tiers_features_it_does_not_do() -> None:
    base = load_pack(PACK)
    for key, value in (
        ("critical_illness.base", "in_catalogue"),
        ("assistance.base", "in_catalogue"),
        ("tilted_assistance.base", "in_catalogue"),
        ("categories", {"xian_kunnan": {"label_zh": "县定困难群众", "label_en": "county hardship"}}),
    ):
        pack = apply_overlay(base, overlay_from_mapping({"overlay": "x", "changes": {key: value}}, "x"))
        with pytest.raises(ValueError, match=key):
            duck.settle_duckdb(pack, Path("unused"), threads=1)


def test_duckdb_refuses_the_account_paying_first() -> None:
    """An employee line whose personal account pays before the 自负段 (issue 15, feature 13) is refused by name."""
    line = "lines.employee_outpatient"
    changes = {f"{line}.personal_account": "all", f"{line}.account_first": True}
    pack = apply_overlay(load_pack(PACK), overlay_from_mapping({"overlay": "x", "changes": changes}, "x"))
    with pytest.raises(ValueError, match=r"lines\.employee_outpatient\.account_first"):
        duck.settle_duckdb(pack, Path("unused"), threads=1)


def test_duckdb_refuses_what_it_cannot_settle(county: Path) -> None:
    """A pack with a monthly outpatient cap (issue 15, feature 2) is refused by the comparator, naming the key."""
    monthly = overlay_from_mapping({"overlay": "monthly", "changes": {"lines.outpatient.cap_period": "month"}}, "monthly")
    pack = apply_overlay(_with_employee_lines(load_pack(PACK)), monthly)
    with pytest.raises(ValueError, match=r"lines\.outpatient\.cap_period"):
        duck.settle_duckdb(pack, county, threads=1)
