"""``yibao audit run --claims DIR`` over a synthetic county written by ``yibao synth --plant-rate``.

The CLI runs in-process (tests/cli.py; the README test runs these commands in a subprocess); its
findings are held against the plantings the generator recorded in ``planted.parquet``. Bad files are
refused naming file, row, field and value, and nothing is written.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest

from tests.cli import Ran, yibao
from yibao.audit.types import RULE_TYPES
from yibao.synth.truth import missed, unplanted

pytestmark = pytest.mark.slow  # the CLI over a 1,500-person county


def _yibao(*args: str) -> Ran:
    return yibao(*args)


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("audit-county")
    done = _yibao("synth", "--out", str(d), "--persons", "1500", "--seed", "4", "--plant-rate", "0.02")
    assert done.returncode == 0, done.stderr
    assert "植入的违规" in done.stdout
    return d


def test_synth_writes_fee_lines_and_the_planted_truth(county: Path) -> None:
    lines = pl.read_parquet(county / "fee_lines.parquet")
    claims = pl.read_parquet(county / "claims.parquet")
    planted = pl.read_parquet(county / "planted.parquet")
    assert set(planted["rule_type"].cast(pl.Utf8).unique().to_list()) == set(RULE_TYPES)
    sums = lines.group_by("claim_id").agg(pl.col("det_item_fee_sumamt").sum())
    assert claims.join(sums, on="claim_id").filter(pl.col("det_item_fee_sumamt") != pl.col("medfee_sumamt")).height == 0
    assert {"begndate", "enddate"} <= set(claims.columns)
    assert "death_date" in pl.read_parquet(county / "people.parquet").columns


def test_audit_run_over_files_finds_exactly_the_plantings(county: Path, tmp_path: Path) -> None:
    out = tmp_path / "findings.parquet"
    done = _yibao("audit", "run", "--claims", str(county), "--out", str(out), "--allow-unknown-items")
    assert done.returncode == 0, done.stderr
    assert "各规则审核结果" in done.stdout and "分解住院" in done.stdout and "费用明细" in done.stdout
    found = pl.read_parquet(out)
    planted = pl.read_parquet(county / "planted.parquet").with_columns(pl.col("rule_type").cast(pl.Utf8))
    assert found.height == planted.height
    assert missed(planted, found).height == 0 and unplanted(planted, found).height == 0


def test_unknown_items_are_refused_unless_allowed(county: Path, tmp_path: Path) -> None:
    out = tmp_path / "findings.parquet"
    done = _yibao("audit", "run", "--claims", str(county), "--out", str(out))
    assert done.returncode == 2
    planted = pl.read_parquet(county / "planted.parquet").filter(pl.col("rule_type") == "unknown_item")
    lines = pl.read_parquet(county / "fee_lines.parquet").with_row_index("row", offset=1)
    first = lines.filter(pl.col("med_list_codg").cast(pl.Utf8) == "XZ99ZZZ999A999")["row"][0]
    assert planted.height > 0
    assert (
        f"fee_lines.parquet 第 {first} 行" in done.stderr and "med_list_codg" in done.stderr and "XZ99ZZZ999A999" in done.stderr
    )
    assert "--allow-unknown-items" in done.stderr
    assert not out.exists()


def _csv_copy(county: Path, tmp_path: Path) -> tuple[Path, pl.DataFrame]:
    d = tmp_path / "csv"
    d.mkdir()
    for name in ("claims", "people"):
        shutil.copy(county / f"{name}.parquet", d / f"{name}.parquet")
    lines = pl.read_parquet(county / "fee_lines.parquet").head(200)
    lines = lines.filter(pl.col("med_list_codg").cast(pl.Utf8) != "XZ99ZZZ999A999")
    return d, lines.select(
        "claim_id", "feedetl_sn", pl.col("med_list_codg").cast(pl.Utf8), pl.col("fee_ocur_date").cast(pl.Utf8),
        (pl.col("cnt_milli") / 1000).cast(pl.Utf8).alias("cnt"), "pric", "det_item_fee_sumamt",
    )  # fmt: skip


def test_a_bad_fee_line_file_is_refused_naming_file_row_field_value(county: Path, tmp_path: Path) -> None:
    d, lines = _csv_copy(county, tmp_path)
    bad = lines.with_columns(
        pl.when(pl.int_range(pl.len()) == 2).then(pl.lit("2022-13-40")).otherwise(pl.col("fee_ocur_date")).alias("fee_ocur_date"),
        pl.when(pl.int_range(pl.len()) == 6).then(pl.lit("abc")).otherwise(pl.col("cnt")).alias("cnt"),
        pl.when(pl.int_range(pl.len()) == 9).then(pl.lit("NOPE001")).otherwise(pl.col("med_list_codg")).alias("med_list_codg"),
    )
    bad.write_csv(d / "fee_lines.csv")
    out = tmp_path / "f.parquet"
    done = _yibao("audit", "run", "--claims", str(d), "--out", str(out), "--lang", "en")
    assert done.returncode == 2
    err = done.stderr
    assert "fee_lines.csv row 3" in err and "fee_ocur_date" in err and "2022-13-40" in err
    assert "fee_lines.csv row 7" in err and "cnt" in err and "abc" in err
    assert "fee_lines.csv row 10" in err and "med_list_codg" in err and "NOPE001" in err
    assert not out.exists()


def test_a_good_csv_copy_is_audited(county: Path, tmp_path: Path) -> None:
    d, lines = _csv_copy(county, tmp_path)
    lines.write_csv(d / "fee_lines.csv")
    out = tmp_path / "f.parquet"
    done = _yibao("audit", "run", "--claims", str(d), "--out", str(out), "--lang", "en")
    assert done.returncode == 0, done.stderr
    assert "Findings by rule" in done.stdout
    assert out.exists()


def test_a_missing_table_and_a_repeated_claim_are_refused(county: Path, tmp_path: Path) -> None:
    d = tmp_path / "partial"
    d.mkdir()
    shutil.copy(county / "fee_lines.parquet", d / "fee_lines.parquet")
    claims = pl.read_parquet(county / "claims.parquet")
    pl.concat([claims, claims.head(1)]).write_parquet(d / "claims.parquet")
    done = _yibao("audit", "run", "--claims", str(d), "--lang", "en")
    assert done.returncode == 2
    assert "people" in done.stderr and "people.parquet or people.csv" in done.stderr
    shutil.copy(county / "people.parquet", d / "people.parquet")
    done = _yibao("audit", "run", "--claims", str(d), "--lang", "en", "--allow-unknown-items")
    assert done.returncode == 2
    assert f"claims.parquet row {claims.height + 1}" in done.stderr and claims["claim_id"][0] in done.stderr
