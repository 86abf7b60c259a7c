"""The batch engine on Spark (``yibao batch --engine spark``) in local mode: fen-identical to the native engine.

One Spark session (``local[2]``, two shuffle partitions, no UI) for the module. Each synthetic county is settled
by both engines; every claim row and every year-to-date row must be equal (both sorted, the native file's
enumerations read as text, as Spark writes them), the claims of people the pack does not cover counted alike.
Small Arrow batches and chunks make a partition's persons run across batches and chunks.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from tests.cli import yibao
from yibao import synth
from yibao.core.errors import InputErrors
from yibao.policy import load_pack
from yibao.settlement.batch.io import run_batch
from yibao.settlement.batch.result import read_result
from yibao.synth.township import generate_township

pytestmark = pytest.mark.slow  # a Spark JVM: the full suite runs these, the quick command leaves them out

pytest.importorskip("pyspark", reason="the spark extra (pip install -e '.[spark]'; the dev extra has it)")

from pyspark.sql import SparkSession  # noqa: E402

from yibao.distributed.batch import LOCAL_DEFAULTS, local_cores, run_batch_spark, session, settings, settle_spark  # noqa: E402

OVERLAY = Path(__file__).resolve().parents[2] / "examples" / "reform-ci-deductible.yaml"
COUNTIES = {  # pack -> the county it settles
    "anhui-huaibei-2022": lambda: synth.generate(800, 2022, 11),
    "yunnan-lincang-2023": lambda: synth.generate(400, 2023, 5),  # residents only: its employees are not covered
    "shandong-zibo-2020": lambda: generate_township(300, 4),  # outpatient capitation
}


@pytest.fixture(scope="module")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkSession]:
    warehouse = tmp_path_factory.mktemp("warehouse")
    s = session(
        "local[2]",
        2,
        {
            "spark.ui.enabled": "false",
            "spark.sql.warehouse.dir": str(warehouse),
            "spark.sql.execution.arrow.maxRecordsPerBatch": "700",
            "spark.driver.memory": "1g",
        },
    )
    s.sparkContext.setLogLevel("ERROR")
    yield s
    s.stop()


@pytest.fixture(scope="module")
def counties(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = {}
    for pack, make in COUNTIES.items():
        d = tmp_path_factory.mktemp(pack)
        synth.write(make(), d)
        out[pack] = d
    return out


def _text(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(pl.col(pl.Enum).cast(pl.Utf8), pl.col(pl.Categorical).cast(pl.Utf8))


def _same(native: Path, spark_out: str) -> int:
    """Every claim and year-to-date row of the two runs equal, fen for fen; the number of claims."""
    a, b = _text(pl.read_parquet(native)).sort("claim_id"), pl.read_parquet(Path(spark_out) / "*.parquet").sort("claim_id")
    assert a.columns == b.columns and a.height == b.height > 0
    assert a.equals(b)
    assert read_result(Path(spark_out)).sort("claim_id").equals(_text(read_result(native)).sort("claim_id"))
    ytd_native = native.with_name(native.stem + ".ytd.parquet")
    ya = pl.read_parquet(ytd_native).sort("psn_no", "year")
    yb = pl.read_parquet(Path(spark_out).with_name(Path(spark_out).stem + ".ytd.parquet") / "*.parquet").sort("psn_no", "year")
    assert ya.schema == yb.schema and ya.height == yb.height > 0
    assert ya.equals(yb)
    return a.height


@pytest.mark.parametrize("pack_id", sorted(COUNTIES))
def test_spark_settles_every_claim_and_year_to_date_as_the_native_engine(
    spark: SparkSession, counties: dict[str, Path], tmp_path: Path, pack_id: str
) -> None:
    pack, data = load_pack(pack_id), counties[pack_id]
    native = run_batch(pack, data, tmp_path / "native.parquet", chunk=700)
    ran = run_batch_spark(pack, str(data), str(tmp_path / "spark.parquet"), partitions=3, chunk=1000)
    assert _same(native.out, ran.out) == ran.claims == native.claims
    assert ran.persons_years == native.persons_years
    assert ran.not_covered == native.not_covered
    assert bool(ran.not_covered) == (pack_id == "yunnan-lincang-2023")
    claims = read_result(native.out)
    assert ran.totals == {c: int(claims[c].sum()) for c in ran.totals}


def test_tables_of_a_metastore_give_the_same_result(spark: SparkSession, counties: dict[str, Path], tmp_path: Path) -> None:
    """``table:DB.PREFIX`` reads ``DB.PREFIX_claims``, ``DB.PREFIX_people`` … (here Spark's own catalog)."""
    pack_id = "anhui-huaibei-2022"
    data = counties[pack_id]
    spark.sql("CREATE DATABASE IF NOT EXISTS yb")
    for f in data.glob("*.parquet"):  # the county's files as the catalog's tables (no copy: no Spark job each)
        spark.catalog.createTable(f"yb.linxiang_{f.stem}", path=str(f), source="parquet")
    native = run_batch(load_pack(pack_id), data, tmp_path / "native.parquet")
    ran = run_batch_spark(load_pack(pack_id), "table:yb.linxiang", str(tmp_path / "spark.parquet"), partitions=2)
    assert _same(native.out, ran.out) == native.claims


def test_bad_input_is_refused_as_the_native_engine_refuses_it_and_nothing_is_written(
    spark: SparkSession, counties: dict[str, Path], tmp_path: Path
) -> None:
    data = tmp_path / "bad"
    data.mkdir()
    for f in counties["anhui-huaibei-2022"].glob("*.parquet"):
        (data / f.name).write_bytes(f.read_bytes())
    claims = pl.read_parquet(data / "claims.parquet")
    row = claims.height - 3
    bad = pl.when(pl.int_range(pl.len()) == row).then(9).otherwise(pl.col("hosp_lv"))
    claims = claims.with_columns(bad.cast(claims["hosp_lv"].dtype).alias("hosp_lv"))
    claims.write_parquet(data / "claims.parquet")
    with pytest.raises(InputErrors) as native:
        run_batch(load_pack("anhui-huaibei-2022"), data, tmp_path / "n.parquet")
    with pytest.raises(InputErrors) as on_spark:
        run_batch_spark(load_pack("anhui-huaibei-2022"), str(data), str(tmp_path / "s.parquet"), partitions=2)
    assert [(e.field, e.value) for e in native.value.errors] == [("hosp_lv", 9)] and claims["claim_id"][
        row
    ] in native.value.errors[0].where
    assert [e.render("zh") for e in on_spark.value.errors] == [e.render("zh") for e in native.value.errors]
    assert not list(tmp_path.glob("s*"))  # neither dataset, nor a temporary one
    with pytest.raises(InputErrors) as missing:
        settle_spark(spark, load_pack("anhui-huaibei-2022"), str(tmp_path / "nowhere"))
    assert missing.value.errors[0].field == "claims"


def test_compare_on_spark_writes_what_compare_writes_natively(
    spark: SparkSession, counties: dict[str, Path], tmp_path: Path
) -> None:
    data = counties["yunnan-lincang-2023"]
    common = ("compare", str(data), "-p", "yunnan-lincang-2023", "--overlay", str(OVERLAY))
    native = yibao(*common, "-o", str(tmp_path / "native"))
    on_spark = yibao(*common, "-o", str(tmp_path / "spark"), "--engine", "spark", "--master", "local[2]", "--partitions", "3")
    assert native.returncode == on_spark.returncode == 0, on_spark.stderr
    assert "不在本政策包范围内，未结算" in on_spark.stdout
    files = sorted(p.name for p in (tmp_path / "native").iterdir())
    assert files == sorted(p.name for p in (tmp_path / "spark").iterdir()) and len(files) >= 4
    for name in files:
        assert (tmp_path / "spark" / name).read_bytes() == (tmp_path / "native" / name).read_bytes(), name


def test_cli_batch_on_spark_prints_the_native_totals(spark: SparkSession, counties: dict[str, Path], tmp_path: Path) -> None:
    data = counties["anhui-huaibei-2022"]
    common = ("batch", str(data), "-p", "anhui-huaibei-2022")
    native = yibao(*common, "-o", str(tmp_path / "n.parquet"))
    ran = yibao(
        *common, "-o", str(tmp_path / "s.parquet"), "--engine", "spark", "--partitions", "2", "--conf", "spark.ui.enabled=false"
    )
    assert native.returncode == ran.returncode == 0, ran.stderr
    table = [line for line in ran.stdout.splitlines() if "│" in line]  # the amounts (the title has the times)
    assert len(table) >= 6 and table == [line for line in native.stdout.splitlines() if "│" in line]
    assert f"已写入 {tmp_path / 's.parquet'} 与 {tmp_path / 's.ytd.parquet'}" in ran.stdout
    bad = yibao(*common, "-o", str(tmp_path / "x.parquet"), "--engine", "spark", "--conf", "no-equals-sign")
    assert bad.returncode == 2 and "no-equals-sign" in bad.stderr and not (tmp_path / "x.parquet").exists()


def test_local_mode_takes_a_partition_per_core_and_the_quick_compiler_unless_told(spark: SparkSession) -> None:
    masters = ("local", "local[3]", "local[*]", "local[2,4]", "local-cluster[2,1,1024]", "yarn", "spark://h:7077", None)
    assert [local_cores(m) for m in masters] == [1, 3, os.cpu_count(), 2, None, None, None, None]
    assert settings("local[3]", None, None) == {"spark.sql.shuffle.partitions": "3", **LOCAL_DEFAULTS}
    told = {"spark.sql.shuffle.partitions": "8", "spark.driver.extraJavaOptions": "-Xss4m"}
    assert settings("local[3]", None, told) == told and settings("local[3]", 5, {})["spark.sql.shuffle.partitions"] == "5"
    assert settings("yarn", None, {"a": "b"}) == {"a": "b"} and settings(None, 4, None) == {"spark.sql.shuffle.partitions": "4"}
    assert spark.conf.get("spark.driver.extraJavaOptions") == LOCAL_DEFAULTS["spark.driver.extraJavaOptions"]  # the JVM got it
