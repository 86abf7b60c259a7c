"""A what-if comparison as CSV files and a self-contained HTML report with charts."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import polars as pl

from yibao.core import charts
from yibao.core.money import fen_to_yuan_str, fmt_percent, fmt_yuan
from yibao.core.vocab import FIELDS, field_label, label
from yibao.policy.categories import identity_label
from yibao.whatif.scenario import Comparison

COLUMNS: dict[str, tuple[str, str]] = {
    "payer": ("支付方", "payer"),
    "baseline": ("现行政策", "baseline"),
    "reform": ("调整方案", "reform"),
    "change": ("变化", "change"),
    "identity": FIELDS["identity"],
    "persons": ("人数", "persons"),
    "funds": ("基金支付（现行）", "funds (baseline)"),
    "funds_reform": ("基金支付（方案）", "funds (reform)"),
    "self_pay": ("个人负担（现行）", "self-pay (baseline)"),
    "self_pay_reform": ("个人负担（方案）", "self-pay (reform)"),
    "mean_self_pay": ("人均个人负担（现行）", "mean self-pay (baseline)"),
    "mean_self_pay_reform": ("人均个人负担（方案）", "mean self-pay (reform)"),
    "over_threshold": ("超监测线人数（现行）", "over threshold (baseline)"),
    "over_threshold_reform": ("超监测线人数（方案）", "over threshold (reform)"),
    "measure": ("指标", "measure"),
    "psn_no": FIELDS["psn_no"],
    "psn_name": FIELDS["psn_name"],
    "village": ("村", "village"),
    "township": ("乡镇", "township"),
    "hh_no": ("户号", "household"),
    "loss": ("增加的个人负担", "extra self-pay"),
    "income_fen": ("年收入", "yearly income"),
    "inpatient_scp_self_pay": ("住院政策范围内自付（现行）", "inpatient in-range self-pay (baseline)"),
    "inpatient_scp_self_pay_reform": ("住院政策范围内自付（方案）", "inpatient in-range self-pay (reform)"),
}
MEASURES: dict[str, tuple[str, str]] = {
    "persons_with_claims": ("有结算的人数", "persons with claims"),
    "mean_self_pay": ("人均年度个人负担（元）", "mean yearly self-pay (yuan)"),
    "p95_self_pay": ("年度个人负担95分位（元）", "95th percentile yearly self-pay (yuan)"),
    "over_threshold_monitored": ("监测对象超监测线人数", "monitored people over the threshold"),
    "over_threshold_all": ("全部超监测线人数", "everyone over the threshold"),
    "catastrophic_share_bp": ("灾难性医疗支出占比", "share with catastrophic spending"),
}
AMOUNT_COLUMNS = {
    "baseline", "reform", "change", "funds", "funds_reform", "self_pay", "self_pay_reform", "mean_self_pay",
    "mean_self_pay_reform", "loss", "income_fen", "inpatient_scp_self_pay", "inpatient_scp_self_pay_reform",
}  # fmt: skip
TEXT = {
    "zh": {"title": "政策调整测算对比", "baseline": "现行政策", "reform": "调整方案", "data": "数据", "claims": "笔结算",
           "payers": "按支付方的基金支出（元）", "payers_chart": "按支付方的基金支出（万元）",
           "identity": "按身份类别", "summary": "个人负担与监测",
           "losers": "个人负担增加最多的人", "over": "方案下超过监测线的监测对象", "unit": "万元", "yuan": "元",
           "mean_chart": "人均年度个人负担（元）"},
    "en": {"title": "Policy what-if comparison", "baseline": "Baseline", "reform": "Reform", "data": "Data", "claims": "claims",
           "payers": "Spending by payer (yuan)", "payers_chart": "Spending by payer (10,000 yuan)",
           "identity": "By identity category", "summary": "Self-pay and monitoring",
           "losers": "People who lose most", "over": "Monitored people over the threshold under the reform",
           "unit": "10,000 yuan", "yuan": "yuan", "mean_chart": "Mean yearly self-pay (yuan)"},
}  # fmt: skip


def col(name: str, lang: str) -> str:
    return label(COLUMNS, name, lang)


@dataclass
class Cell:
    text: str
    cls: str = ""


def cell(col: str, value: Any, row: dict[str, Any], lang: str) -> Cell:
    if col == "payer":
        return Cell(field_label(str(value), lang))
    if col == "identity":
        return Cell(identity_label(str(value), lang))
    if col == "measure":
        return Cell(label(MEASURES, value, lang))
    if row.get("measure") == "catastrophic_share_bp" and col in ("baseline", "reform", "change"):
        return Cell(fmt_percent(int(value)), "n")
    if row.get("measure") in ("persons_with_claims", "over_threshold_monitored", "over_threshold_all"):
        return Cell(f"{int(value):,}", "n")
    if col in AMOUNT_COLUMNS and value is not None:
        cls = "n" + (
            " up" if col in ("change", "loss") and value > 0 else " down" if col in ("change", "loss") and value < 0 else ""
        )
        return Cell(fmt_yuan(int(value)), cls)
    if isinstance(value, int):
        return Cell(f"{value:,}", "n")
    return Cell("" if value is None else str(value))


def section(title: str, df: pl.DataFrame, lang: str, chart: str = "") -> dict[str, Any]:
    rows = [[cell(c, r[c], r, lang) for c in df.columns] for r in df.iter_rows(named=True)]
    return {"title": title, "headers": [col(c, lang) for c in df.columns], "rows": rows, "chart": chart}


def write_csvs(cmp: Comparison, out_dir: Path, lang: str) -> list[Path]:
    """One CSV per table: headers in ``lang``, amounts in yuan."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name in ("by_payer", "by_identity", "summary", "losers", "over_threshold"):
        df: pl.DataFrame = getattr(cmp, name)
        path = out_dir / f"compare_{name}.csv"
        with path.open("w", encoding="utf-8-sig", newline="") as fh:
            w = csv.writer(fh)
            w.writerow([col(c, lang) for c in df.columns])
            for r in df.iter_rows(named=True):
                w.writerow([
                    fen_to_yuan_str(int(r[c])) if c in AMOUNT_COLUMNS and r[c] is not None and r.get("measure") not in
                    ("persons_with_claims", "over_threshold_monitored", "over_threshold_all", "catastrophic_share_bp")
                    else cell(c, r[c], r, lang).text if c in ("identity", "payer", "measure") else r[c]
                    for c in df.columns
                ])  # fmt: skip
        written.append(path)
    return written


def render_html(cmp: Comparison, lang: str, meta: dict[str, Any]) -> str:
    t = TEXT[lang]
    payers = cmp.by_payer.filter(pl.col("payer").is_in(["hifp_pay", "hifmi_pay", "maf_pay", "oth_pay"]))
    names = [field_label(p, lang) for p in payers["payer"]]
    payer_chart = charts.grouped_bars(
        names,
        {t["baseline"]: [v / 1_000_000 for v in payers["baseline"]], t["reform"]: [v / 1_000_000 for v in payers["reform"]]},
        t["payers_chart"], t["unit"],
    )  # fmt: skip
    ident = cmp.by_identity
    id_names = [identity_label(i, lang, short=True) for i in ident["identity"]]
    id_chart = charts.grouped_bars(
        id_names,
        {t["baseline"]: [v / 100 for v in ident["mean_self_pay"]], t["reform"]: [v / 100 for v in ident["mean_self_pay_reform"]]},
        t["mean_chart"], t["yuan"],
    )  # fmt: skip
    sections = [
        section(t["payers"], cmp.by_payer, lang, payer_chart),
        section(t["identity"], cmp.by_identity, lang, id_chart),
        section(t["summary"], cmp.summary, lang),
        section(t["losers"], cmp.losers, lang),
        section(t["over"], cmp.over_threshold.head(50), lang),
    ]
    env = jinja2.Environment(loader=jinja2.PackageLoader("yibao", "templates"), autoescape=True)
    return env.get_template("compare.html.j2").render(t=t, lang=lang, sections=sections, **meta)
