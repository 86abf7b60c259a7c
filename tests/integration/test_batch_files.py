"""Batch runs on files: chunking never changes a fen, the result file restores every column,
side tables in any form give the same result, the CLI writes what it says, bad input writes nothing."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from tests.cli import Ran, yibao
from yibao import synth
from yibao.core.errors import InputErrors
from yibao.policy import load_pack
from yibao.settlement.batch.engine import OUTPUT_AMOUNTS, settle_batch
from yibao.settlement.batch.io import read_input, run_batch
from yibao.settlement.batch.result import COLUMNS, STORED, read_result
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
    a, b = read_result(one.out), read_result(many.out)
    assert a.height == b.height > 0
    assert a.equals(b)
    ya, yb = pl.read_parquet(one.ytd_out), pl.read_parquet(many.ytd_out)
    assert ya.columns == yb.columns  # one schema from the pack's groups, whatever groups a chunk meets
    assert ya.equals(yb)
    assert many.persons_years == yb.height == one.persons_years


def test_result_file_restores_the_engine_columns_and_ytd(county: Path, tmp_path: Path) -> None:
    """The file holds the key and what cannot be derived; the reader gives back exactly what the
    engine returns in memory in one pass, and the per-chunk year-to-date rows are the one-pass ones."""
    pack = load_pack(PACK)
    run = run_batch(pack, county, tmp_path / "r.parquet", chunk=2000)
    assert pl.read_parquet_schema(run.out).keys() == set(STORED)
    whole = settle_batch(pack, read_input(county))
    got = read_result(run.out)
    assert got.columns == list(COLUMNS) == whole.claims.columns
    assert got.schema == whole.claims.schema
    assert got.equals(whole.claims)
    assert pl.read_parquet(run.ytd_out).equals(whole.year_to_date)
    assert read_result(run.out, ["claim_id", "psn_part_amt"]).equals(whole.claims.select("claim_id", "psn_part_amt"))


def _copy(county: Path, to: Path) -> Path:
    to.mkdir()
    for f in county.glob("*.parquet"):
        (to / f.name).write_bytes(f.read_bytes())
    return to


@pytest.mark.parametrize("form", ["small row groups", "row groups out of order", "csv"])
def test_side_tables_in_any_form_give_the_same_result(county: Path, tmp_path: Path, form: str) -> None:
    """Sorted Parquet side tables are read per chunk by row group; others are read once and sliced."""
    pack = load_pack(PACK)
    expected = read_result(run_batch(pack, county, tmp_path / "a.parquet", chunk=3000).out)
    data = _copy(county, tmp_path / "data")
    for name in ("people", "identities", "chronic_filings"):
        table = pl.read_parquet(data / f"{name}.parquet")
        (data / f"{name}.parquet").unlink()
        if form == "small row groups":
            table.write_parquet(data / f"{name}.parquet", row_group_size=97)
        elif form == "row groups out of order":
            table.sample(fraction=1.0, shuffle=True, seed=1).write_parquet(data / f"{name}.parquet", row_group_size=500)
        else:
            table.with_columns(pl.col(pl.Enum).cast(pl.Utf8)).write_csv(data / f"{name}.csv")
    got = read_result(run_batch(pack, data, tmp_path / "b.parquet", chunk=3000).out)
    assert got.equals(expected)


def test_people_with_more_claims_than_a_chunk_are_never_split(county: Path, tmp_path: Path) -> None:
    pack = load_pack(PACK)
    data = _copy(county, tmp_path / "data")
    claims = pl.read_parquet(data / "claims.parquet")
    busiest = claims.group_by("psn_no").len().sort("len", "psn_no", descending=True).head(30)["psn_no"]
    few = claims.filter(pl.col("psn_no").is_in(busiest.implode()))
    few.write_parquet(data / "claims.parquet", row_group_size=64)
    assert few.group_by("psn_no").len()["len"].max() > 5  # type: ignore[operator]
    one = run_batch(pack, data, tmp_path / "one.parquet", chunk=10**9)
    tiny = run_batch(pack, data, tmp_path / "tiny.parquet", chunk=5)
    assert tiny.chunks > 10
    assert read_result(tiny.out).equals(read_result(one.out))
    assert pl.read_parquet(tiny.ytd_out).equals(pl.read_parquet(one.ytd_out))


def _refused(pack_dir: Path, out: Path, chunk: int) -> InputErrors:
    with pytest.raises(InputErrors) as exc:
        run_batch(load_pack(PACK), pack_dir, out, chunk=chunk)
    assert not out.exists() and not list(out.parent.glob(out.stem + "*"))  # nothing, not even a part
    return exc.value


def test_claims_out_of_person_order_across_chunks_are_refused_and_nothing_written(county: Path, tmp_path: Path) -> None:
    data = _copy(county, tmp_path / "data")
    claims = pl.read_parquet(data / "claims.parquet")
    first = claims["psn_no"][0]
    moved = pl.concat([claims.filter(pl.col("psn_no") != first), claims.filter(pl.col("psn_no") == first)])
    moved.write_parquet(data / "claims.parquet")
    exc = _refused(data, tmp_path / "out" / "r.parquet", 1000)
    assert [(e.field, e.value) for e in exc.errors] == [("psn_no", first)]
    assert "sorted by psn_no" in exc.errors[0].expected


def test_a_bad_claim_in_a_late_chunk_is_named_and_nothing_written(county: Path, tmp_path: Path) -> None:
    data = _copy(county, tmp_path / "data")
    claims = pl.read_parquet(data / "claims.parquet")
    row = claims.height - 10
    claims = claims.with_columns(
        pl.when(pl.int_range(pl.len()) == row).then(9).otherwise(pl.col("hosp_lv")).cast(claims["hosp_lv"].dtype).alias("hosp_lv")
    )
    claims.write_parquet(data / "claims.parquet")
    exc = _refused(data, tmp_path / "out" / "r.parquet", 1000)
    assert [(e.field, e.value) for e in exc.errors] == [("hosp_lv", 9)]
    assert claims["claim_id"][row] in exc.errors[0].where


def test_batch_on_synthetic_county_equals_claim_by_claim(county: Path, tmp_path: Path) -> None:
    pack = load_pack(PACK)
    run = run_batch(pack, county, tmp_path / "r.parquet")
    out = {r["claim_id"]: r for r in read_result(run.out).iter_rows(named=True)}
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


def _yibao(*args: str) -> Ran:
    """In-process (tests/cli.py): the README test runs ``yibao batch`` and ``yibao compare`` in a subprocess."""
    return yibao(*args)


@pytest.mark.slow  # settles the 3,000-person county: the full suite has it, the quick command leaves it out
def test_cli_batch_writes_results_and_totals_add_up(county: Path, tmp_path: Path) -> None:
    out = tmp_path / "not" / "yet" / "result.parquet"
    proc = _yibao("batch", str(county), "-p", PACK, "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    df = read_result(out)
    assert df.height == pl.read_parquet(county / "claims.parquet").height
    parts = df.select(pl.col("hifp_pay") + pl.col("hifmi_pay") + pl.col("maf_pay") + pl.col("oth_pay") + pl.col("psn_part_amt"))
    assert parts.to_series().equals(df["medfee_sumamt"], check_names=False)
    assert (out.parent / "result.ytd.parquet").exists()


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


@pytest.mark.slow  # settles the 3,000-person county: the full suite has it, the quick command leaves it out
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


def test_the_county_register_of_institutions_is_not_read_as_peoples_choices(county: Path, tmp_path: Path) -> None:
    """``institutions.parquet`` is the synthetic county's register of hospitals (no ``psn_no``); the people's
    chosen institutions are ``institution_choices``, read when present."""
    assert "psn_no" not in pl.read_parquet_schema(county / "institutions.parquet")
    assert read_input(county).institutions.is_empty()
    data = _copy(county, tmp_path / "data")
    psn_no = pl.read_parquet(data / "people.parquet")["psn_no"][0]
    choice = pl.DataFrame({"psn_no": [psn_no], "fixmedins_code": ["H1"], "role": ["designated"]})
    choice.write_parquet(data / "institution_choices.parquet")
    assert read_input(data).institutions.select("psn_no", "fixmedins_code", "role").rows() == [(psn_no, "H1", "designated")]
