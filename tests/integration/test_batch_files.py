"""Batch runs on files: chunking never changes a fen, the CLI writes what it says, bad input writes nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from yibao import synth
from yibao.policy import load_pack
from yibao.settlement.batch.engine import OUTPUT_AMOUNTS
from yibao.settlement.batch.io import run_batch
from yibao.settlement.model import Claim
from yibao.settlement.settle import settle_sequence

PACK = "anhui-huaibei-2022"


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("county")
    synth.write(synth.generate(3000, 2022, 7), d)
    return d


def test_chunked_run_equals_single_pass(county: Path, tmp_path: Path) -> None:
    pack = load_pack(PACK)
    one = run_batch(pack, county, tmp_path / "one.parquet", chunk=10**9)
    many = run_batch(pack, county, tmp_path / "many.parquet", chunk=1000)
    assert many.chunks > one.chunks
    a, b = pl.read_parquet(one.out), pl.read_parquet(many.out)
    assert a.height == b.height > 0
    assert a.equals(b)
    ya, yb = pl.read_parquet(one.ytd_out), pl.read_parquet(many.ytd_out)
    assert ya.sort("psn_no", "year").equals(yb.sort("psn_no", "year").select(ya.columns))


def test_batch_on_synthetic_county_equals_claim_by_claim(county: Path, tmp_path: Path) -> None:
    pack = load_pack(PACK)
    run = run_batch(pack, county, tmp_path / "r.parquet")
    out = {r["claim_id"]: r for r in pl.read_parquet(run.out).iter_rows(named=True)}
    people, claims = synth.to_people_and_claims(synth.read(county))
    by_person: dict[str, list[Claim]] = {}
    for c in claims:
        by_person.setdefault(c.psn_no, []).append(c)
    checked = 0
    for psn_no, own in list(by_person.items())[:600]:
        for s in settle_sequence(pack, people[psn_no], own):
            row = out[s.claim_id]
            assert [row[f] for f in OUTPUT_AMOUNTS] == [getattr(s, f) for f in OUTPUT_AMOUNTS], s.claim_id
            checked += 1
    assert checked > 1000


def _yibao(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "yibao", *args], capture_output=True, text=True, timeout=600)


@pytest.mark.slow  # runs the CLI in a subprocess
def test_cli_batch_writes_results_and_totals_add_up(county: Path, tmp_path: Path) -> None:
    out = tmp_path / "not" / "yet" / "result.parquet"
    proc = _yibao("batch", str(county), "-p", PACK, "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    df = pl.read_parquet(out)
    assert df.height == pl.read_parquet(county / "claims.parquet").height
    parts = df.select(pl.col("hifp_pay") + pl.col("hifmi_pay") + pl.col("maf_pay") + pl.col("oth_pay") + pl.col("psn_part_amt"))
    assert parts.to_series().equals(df["medfee_sumamt"], check_names=False)
    assert (out.parent / "result.ytd.parquet").exists()


@pytest.mark.slow  # runs the CLI in a subprocess
def test_cli_batch_bad_claim_names_it_and_writes_nothing(county: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    for f in county.glob("*.parquet"):
        (bad / f.name).write_bytes(f.read_bytes())
    claims = pl.read_parquet(bad / "claims.parquet")
    claims = claims.with_columns(
        pl.when(pl.int_range(pl.len()) == 5).then(9).otherwise(pl.col("hosp_lv")).cast(claims["hosp_lv"].dtype).alias("hosp_lv")
    )
    claims.write_parquet(bad / "claims.parquet")
    out = tmp_path / "never.parquet"
    proc = _yibao("batch", str(bad), "-p", PACK, "-o", str(out), "--lang", "en")
    assert proc.returncode == 2
    assert "hosp_lv" in proc.stderr and claims["claim_id"][5] in proc.stderr
    assert not out.exists() and not list(tmp_path.glob("never*"))


@pytest.mark.slow  # runs the CLI in a subprocess
def test_cli_compare_writes_report_and_lower_deductible_pays_more(county: Path, tmp_path: Path) -> None:
    overlay = Path(__file__).parents[2] / "examples" / "reform-ci-deductible.yaml"
    out = tmp_path / "cmp"
    proc = _yibao("compare", str(county), "-p", PACK, "--overlay", str(overlay), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    html = (out / "compare.html").read_text(encoding="utf-8")
    assert html.count("<svg") >= 2 and "大病保险" in html and "<script" not in html
    payers = pl.read_csv(out / "compare_by_payer.csv")
    row = payers.filter(pl.col("支付方") == "大病保险支付").row(0, named=True)
    assert float(row["调整方案"]) >= float(row["现行政策"])
    assert {p.name for p in out.glob("*.csv")} >= {"compare_by_payer.csv", "compare_summary.csv", "compare_by_identity.csv"}
