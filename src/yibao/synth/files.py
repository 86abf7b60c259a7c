"""A county's files: one zstd Parquet file per frame and ``manifest.json`` (:func:`write`, :func:`read`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl

from yibao import __version__
from yibao.synth.county import FILES, Progress, SynthCounty
from yibao.synth.fee_lines import AuditCounty

ROW_GROUP_SIZE = 1 << 18


def manifest(county: SynthCounty) -> dict[str, Any]:
    return {
        "generator": "yibao.synth",
        "yibao_version": __version__,
        "persons": county.persons,
        "year": county.year,
        "seed": county.seed,
        "rows": {name: df.height for name, df in county.frames().items()},
    }


CODED = ("med_type", "place", "dise_codg", "fixmedins_code", "category", "source_bureau", "med_list_codg", "rule_type")
"""Small-vocabulary text columns written as Enum (dictionary-encoded in Parquet): readers get
integer codes for free, and the files stay plain Parquet strings for any other tool."""


def _coded(df: pl.DataFrame) -> pl.DataFrame:
    return df.with_columns(
        pl.col(c).cast(pl.Enum(sorted(df[c].cast(pl.Utf8).unique().drop_nulls().to_list()))) for c in CODED if c in df.columns
    )


def _write_frame(df: pl.DataFrame, out_dir: Path, name: str) -> None:
    path = out_dir / f"{name}.parquet"
    tmp = out_dir / f".{name}.parquet.tmp"
    _coded(df).rechunk().write_parquet(tmp, compression="zstd", statistics=True, row_group_size=ROW_GROUP_SIZE)
    tmp.replace(path)


def write(county: SynthCounty, out_dir: Path, *, progress: Progress | None = None, audit: AuditCounty | None = None) -> None:
    """Write one zstd Parquet file per frame and ``manifest.json`` (no timestamps: same seed, same bytes).

    With ``audit`` (:func:`yibao.synth.fee_lines.with_fee_lines`) the claims and people are its own
    (stays, days of death), and ``fee_lines.parquet`` and ``planted.parquet`` are written too."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    frames = county.frames()
    meta = manifest(county)
    if audit is not None:
        frames |= {"claims": audit.claims, "people": audit.people, "fee_lines": audit.fee_lines, "planted": audit.planted}
        meta["rows"] = {name: df.height for name, df in frames.items()}
        meta |= {"plant_rate": audit.plant_rate, "dropped_claims": audit.dropped, "planted_types": list(audit.planted_types)}
    for name, df in frames.items():
        if progress:
            progress(f"write {name}")
        _write_frame(df, out_dir, name)
    text = json.dumps(meta, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    (out_dir / "manifest.json").write_text(text, encoding="utf-8")


def read(dir: Path) -> SynthCounty:
    """Read a county written by :func:`write`."""
    dir = Path(dir)
    meta = json.loads((dir / "manifest.json").read_text(encoding="utf-8"))
    frames = {name: pl.read_parquet(dir / f"{name}.parquet") for name in FILES}
    return SynthCounty(persons=int(meta["persons"]), year=int(meta["year"]), seed=int(meta["seed"]), **frames)
