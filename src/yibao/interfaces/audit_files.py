"""A batch of claims on files, audited after settlement (事后): read, check, audit, write the findings.

The directory is the one ``yibao synth --fee-lines`` writes and ``yibao batch`` reads: ``claims``,
``fee_lines`` and ``people`` as ``.parquet`` or ``.csv``.

- ``claims``: claim_id, psn_no, setl_date, med_type, hosp_lv, fixmedins_code, dise_codg (may be
  empty); ``begndate`` / ``enddate`` (the stay; a visit's day when absent: ``setl_date``);
  ``insutype`` (else the person's).
- ``fee_lines``: claim_id, med_list_codg, fee_ocur_date, pric, det_item_fee_sumamt and the count as
  ``cnt_milli`` (thousandths) or ``cnt`` (units, at most 3 decimals); ``feedetl_sn`` (else the
  line's number in its claim).
- ``people``: psn_no, gend, brdy, ``death_date`` (optional).

A claim's ``seq`` (what was settled before it) is its place in ``(setl_date, claim_id)`` order.
Bad rows are refused before anything is audited, each naming the file, row (the data row, from
1), field, value and what was expected: a fee line of an item the pack's catalogue lacks (unless
``allow_unknown``: then 目录外项目 finds it), a missing or unreadable date or count, a line of a
claim the claims file lacks.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from yibao.audit.engine import audit_frames
from yibao.audit.model import CLAIM_SCHEMA, FINDING_SCHEMA, LINE_SCHEMA, MILLI, PERSON_SCHEMA, Frames
from yibao.audit.pack import AuditPack
from yibao.core.errors import InputError, InputErrors

MAX_ERRORS = 20
"""Bad rows reported at once (the rest are counted)."""


def frames_from_tables(claims: pl.DataFrame, lines: pl.DataFrame, people: pl.DataFrame) -> Frames:
    """The audit's frames from checked tables (see the module for the columns)."""
    cl = claims
    if "begndate" not in cl.columns:
        cl = cl.with_columns(pl.col("setl_date").alias("begndate"))
    if "enddate" not in cl.columns:
        cl = cl.with_columns(pl.col("setl_date").alias("enddate"))
    if "insutype" not in cl.columns:
        cl = cl.join(people.select("psn_no", "insutype"), on="psn_no", how="left")
    cl = (
        cl.with_columns(pl.col("dise_codg").cast(pl.Utf8).fill_null(""), pl.col("med_type").cast(pl.Utf8))
        .sort(["setl_date", "claim_id"])
        .with_row_index("seq")
        .select([pl.col(c).cast(t) for c, t in CLAIM_SCHEMA.items()])
    )
    ln = lines
    if "line_no" not in ln.columns:
        ln = ln.with_columns(pl.int_range(pl.len()).over("claim_id").alias("line_no"))
    if "feedetl_sn" not in ln.columns:
        ln = ln.with_columns((pl.col("line_no") + 1).cast(pl.Utf8).alias("feedetl_sn"))
    ln = ln.select([pl.col(c).cast(t) for c, t in LINE_SCHEMA.items()])
    pp = people if "death_date" in people.columns else people.with_columns(pl.lit(None, dtype=pl.Date).alias("death_date"))
    return Frames(cl, ln, pp.select([pl.col(c).cast(t) for c, t in PERSON_SCHEMA.items()]))


Progress = Callable[[str, int, int], None]
"""Called with (step, done, of)."""


def audit_tables(pack: AuditPack, frames: Frames, progress: Progress | None = None) -> pl.DataFrame:
    """The findings of ``pack``'s post-settlement rules on ``frames``, one rule family at a time."""
    families = sorted({r.family for r in pack.enabled("post")})
    parts: list[pl.DataFrame] = []
    for i, family in enumerate(families):
        if progress:
            progress(family, i, len(families))
        sub = AuditPack(
            pack.name,
            pack.title_zh,
            pack.title_en,
            pack.valid_from,
            pack.valid_to,
            tuple(r for r in pack.rules if r.family == family),
            pack.workflow_days,
            pack.knowledge,
            pack.file,
        )
        parts.append(audit_frames(sub, frames, "post"))
    if progress:
        progress("", len(families), len(families))
    if not parts:
        return pl.DataFrame(schema=FINDING_SCHEMA)
    return pl.concat(parts).sort(["claim_id", "rule_code", "feedetl_sns"])


TABLES = ("claims", "fee_lines", "people")
REQUIRED = {
    "claims": ("claim_id", "psn_no", "setl_date", "med_type", "hosp_lv", "fixmedins_code"),
    "fee_lines": ("claim_id", "med_list_codg", "fee_ocur_date", "pric", "det_item_fee_sumamt"),
    "people": ("psn_no", "gend", "brdy"),
}
DATES = {"claims": ("setl_date", "begndate", "enddate"), "fee_lines": ("fee_ocur_date",), "people": ("brdy", "death_date")}
WHOLE = {"claims": ("hosp_lv",), "fee_lines": ("pric", "det_item_fee_sumamt", "cnt_milli"), "people": ()}
_COUNT = r"^-?[0-9]+(\.[0-9]{1,3})?$"


def find_table(directory: Path, name: str) -> Path | None:
    for ext in (".parquet", ".csv"):
        path = directory / f"{name}{ext}"
        if path.is_file():
            return path
    return None


def _read(path: Path) -> pl.DataFrame:
    if path.suffix == ".parquet":
        return pl.read_parquet(path)
    return pl.read_csv(path, infer_schema=False)


Make = Callable[[str, str, object], InputError]
"""The error for a bad value: given where (file and row), the field and the value."""


class _Errors:
    """Bad rows collected across the files (at most :data:`MAX_ERRORS` kept, the rest counted)."""

    def __init__(self) -> None:
        self.found: list[InputError] = []
        self.more = 0

    def add(self, file: str, bad: pl.DataFrame, field: str, make: Make) -> None:
        """Every row of ``bad`` (with ``_row``) wrong in ``field``."""
        for row, value in bad.select("_row", field).iter_rows():
            if len(self.found) < MAX_ERRORS:
                self.found.append(make(f"{file} row {row}", field, value))
            else:
                self.more += 1

    def raise_any(self) -> None:
        if self.more:
            self.found.append(
                InputError(
                    "…",
                    "rows",
                    self.more,
                    f"at most {MAX_ERRORS} bad rows are listed; fix these first",
                    expected_zh=f"最多列出 {MAX_ERRORS} 行错误，请先改正以上各行",
                )
            )
        if self.found:
            raise self.found[0] if len(self.found) == 1 else InputErrors(self.found)


def _typed(df: pl.DataFrame, name: str, file: str, errors: _Errors) -> pl.DataFrame:
    """Dates and whole numbers parsed (CSV text or Parquet types); unreadable values reported."""
    out = df
    for col in DATES[name]:
        if col not in out.columns:
            continue
        raw = pl.col(col)
        optional = col in ("death_date", "begndate", "enddate")
        if out.schema[col] == pl.Date:  # Parquet: typed already, only a missing required day to report
            parsed, bad = raw, (pl.lit(False) if optional else raw.is_null())
        else:
            text = raw.cast(pl.Utf8).str.strip_chars()
            parsed = text.str.to_date("%Y-%m-%d", strict=False)
            bad = parsed.is_null() & ((text.fill_null("") != "") if optional else pl.lit(True))
        errors.add(file, out.filter(bad), col, lambda at, f, v: InputError(at, f, v, "a date YYYY-MM-DD"))
        out = out.with_columns(parsed.alias(col))
    for col in WHOLE[name]:
        if col not in out.columns:
            continue
        parsed = pl.col(col).cast(pl.Int64, strict=False)
        if col == "hosp_lv":
            errors.add(
                file,
                out.filter(parsed.is_null()),
                col,
                lambda at, f, v: InputError(at, f, v, "1, 2 or 3", expected_zh="1、2 或 3（医院等级）"),
            )
        else:
            errors.add(
                file,
                out.filter(parsed.is_null()),
                col,
                lambda at, f, v: InputError(at, f, v, "a whole number (fen)", expected_zh="整数金额（分）"),
            )
        out = out.with_columns(parsed.alias(col))
    return out


def _count(lines: pl.DataFrame, file: str, errors: _Errors) -> pl.DataFrame:
    """``cnt_milli`` from ``cnt_milli`` (thousandths) or ``cnt`` (units, at most 3 decimals), exactly."""
    if "cnt_milli" in lines.columns:
        return lines
    if "cnt" not in lines.columns:
        errors.found.append(
            InputError(
                file,
                "cnt",
                None,
                "a count column (cnt, or cnt_milli in thousandths)",
                expected_zh="数量列 `cnt`（或以千分之一计的 `cnt_milli`）",
            )
        )
        return lines.with_columns(pl.lit(0, dtype=pl.Int64).alias("cnt_milli"))
    text = pl.col("cnt").cast(pl.Utf8).str.strip_chars()
    ok = text.str.contains(_COUNT).fill_null(False)
    errors.add(
        file,
        lines.filter(~ok),
        "cnt",
        lambda at, f, v: InputError(
            at, f, v, "a count such as 1 or 0.5 (at most 3 decimals)", expected_zh="数量，如 1 或 0.5（最多 3 位小数）"
        ),
    )
    whole = text.str.extract(r"^-?([0-9]+)", 1).cast(pl.Int64, strict=False)
    frac = text.str.extract(r"\.([0-9]{1,3})$", 1).fill_null("").str.pad_end(3, "0").cast(pl.Int64, strict=False)
    sign = pl.when(text.str.starts_with("-")).then(-1).otherwise(1)
    milli = pl.when(ok).then(sign * (whole * MILLI + frac)).otherwise(0)
    return lines.with_columns(milli.alias("cnt_milli"))


def _values_not_in(df: pl.DataFrame, col: str, allowed: pl.Series) -> pl.Series:
    """The distinct values of ``df[col]`` (not null) missing from ``allowed``.

    Cheap on the usual inputs: a dictionary-coded column is checked by its dictionary, and lines
    grouped by claim by the first line of each run."""
    column = df[col]
    values: pl.Series
    if isinstance(column.dtype, pl.Enum):
        values = column.dtype.categories
    else:
        text = column.cast(pl.Utf8)
        values = text.filter(text.ne_missing(text.shift(1))).unique()
    return values.filter(values.is_not_null() & ~values.is_in(allowed.implode()))


def read_audit_dir(directory: Path, pack: AuditPack, allow_unknown: bool = False) -> Frames:
    """The frames of ``directory``, every bad row refused at once (:class:`InputErrors`)."""
    errors = _Errors()
    tables: dict[str, pl.DataFrame] = {}
    files: dict[str, str] = {}
    for name in TABLES:
        path = find_table(directory, name)
        if path is None:
            errors.found.append(
                InputError(
                    str(directory),
                    name,
                    None,
                    f"a {name} table ({name}.parquet or {name}.csv)",
                    expected_zh=f"{name} 表（{name}.parquet 或 {name}.csv）",
                )
            )
            continue
        files[name] = path.name
        df = _read(path)
        lacking = [c for c in REQUIRED[name] if c not in df.columns]
        if lacking:
            errors.found.append(InputError(path.name, lacking[0], None, f"a column {lacking[0]}", expected_zh=f"列 {lacking[0]}"))
            continue
        tables[name] = _typed(df.with_row_index("_row", offset=1), name, path.name, errors)
    if len(tables) < len(TABLES):
        errors.raise_any()
    claims, lines, people = tables["claims"], tables["fee_lines"], tables["people"]
    lines = _count(lines, files["fee_lines"], errors)
    for col in ("claim_id", "med_list_codg"):
        errors.add(
            files["fee_lines"],
            lines.filter(pl.col(col).is_null() | (pl.col(col).cast(pl.Utf8).str.len_bytes() == 0)),
            col,
            lambda at, f, v: InputError(at, f, v, "a value", expected_zh="一个值"),
        )
    strays = _values_not_in(lines, "claim_id", claims["claim_id"].cast(pl.Utf8))
    errors.add(
        files["fee_lines"],
        lines.filter(pl.col("claim_id").cast(pl.Utf8).is_in(strays)) if strays.len() else lines.head(0),
        "claim_id",
        lambda at, f, v: InputError(at, f, v, f"a claim of {files['claims']}", expected_zh=f"{files['claims']} 中的单据号"),
    )
    catalogue = pack.knowledge.catalogue
    if catalogue and not allow_unknown:
        strange = _values_not_in(lines, "med_list_codg", pl.Series(list(catalogue), dtype=pl.Utf8))
        unknown = lines.filter(pl.col("med_list_codg").cast(pl.Utf8).is_in(strange.to_list())) if strange.len() else lines.head(0)
        errors.add(
            files["fee_lines"],
            unknown,
            "med_list_codg",
            lambda at, f, v: InputError(
                at,
                f,
                v,
                f"an item of the audit pack's catalogue ({pack.name}); add --allow-unknown-items to flag it instead",
                expected_zh=f"审核规则库（{pack.name}）医保目录中的项目；如需作为目录外项目审核，加 --allow-unknown-items",
            ),
        )
    dup = claims.filter(pl.col("claim_id").is_duplicated())
    dup = dup.filter(pl.int_range(pl.len()).over("claim_id") > 0) if dup.height else dup
    errors.add(
        files["claims"],
        dup,
        "claim_id",
        lambda at, f, v: InputError(at, f, v, "a claim id not used before in the file", expected_zh="文件中未出现过的单据号"),
    )
    if "begndate" in claims.columns and "enddate" in claims.columns:
        errors.add(
            files["claims"],
            claims.filter(pl.col("enddate") < pl.col("begndate")),
            "enddate",
            lambda at, f, v: InputError(at, f, v, "a day on or after begndate", expected_zh="不早于开始日期的日期"),
        )
    errors.raise_any()
    return frames_from_tables(claims.drop("_row"), lines.drop("_row"), people.drop("_row"))


@dataclass(frozen=True)
class FilesRun:
    claims: int
    lines: int
    findings: pl.DataFrame
    out: Path | None
    seconds: float


def run_audit_files(
    directory: Path, pack: AuditPack, out: Path | None, allow_unknown: bool = False, progress: Progress | None = None
) -> FilesRun:
    """Read and check ``directory``, audit it, write the findings to ``out`` (Parquet, atomically).

    Nothing is written on bad input."""

    if progress:
        progress("read", 0, 1)
    frames = read_audit_dir(directory, pack, allow_unknown)
    started = time.perf_counter()
    findings = audit_tables(pack, frames, progress)
    seconds = time.perf_counter() - started
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".tmp")
        findings.write_parquet(tmp)
        tmp.replace(out)
    return FilesRun(frames.claims.height, frames.lines.height, findings, out, seconds)


__all__ = ["MAX_ERRORS", "FilesRun", "audit_tables", "frames_from_tables", "read_audit_dir", "run_audit_files"]
