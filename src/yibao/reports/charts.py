"""The report's charts (matplotlib), each as SVG text (for the HTML page) and PNG bytes (for files).

The house settings of :mod:`yibao.core.charts` apply: Chinese fonts in order of preference, SVG text
kept as text (``svg.fonttype none``), no dates in the files. The PNG is drawn with the fonts
installed here (fonts-noto-cjk). Amounts become floats only here, for drawing.

- ``trend``: spending per month by payer (basic, critical illness, assistance), lines.
- ``payers``: who paid each identity category's medical costs (basic, critical illness,
  assistance, the patient), stacked bars as shares of the total cost.
- ``ratios``: the policy-range reimbursement ratio after each tier, per identity category.
"""

from __future__ import annotations

import io
import textwrap
import warnings
from collections.abc import Callable, Sequence
from functools import cached_property
from pathlib import Path

import polars as pl
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from yibao.core import charts
from yibao.policy.categories import identity_label
from yibao.reports.catalogue import ReportSet
from yibao.reports.tables import ALL

CHARTS = ("trend", "payers", "ratios")
FEN_PER_WAN = 1_000_000
"""Fen in 10,000 yuan (万元)."""
MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
TEXT: dict[str, dict[str, str]] = {
    "zh": {
        "trend": "月度基金支出（按支付方）",
        "payers": "各身份类别医疗费用由谁支付（占医疗总费用）",
        "ratios": "政策范围内报销比例（依次叠加三重制度）",
        "basic": "基本医保",
        "critical": "大病保险",
        "assistance": "医疗救助（含倾斜救助）",
        "patient": "个人负担",
        "after_basic": "基本医保后",
        "after_ci": "叠加大病保险后",
        "after_assist": "叠加医疗救助后",
        "wan": "万元",
        "yuan": "元",
        "share": "占比（%）",
        "ratio": "报销比例（%）",
        "total": "合计",
        "empty": "本期无结算",
    },
    "en": {
        "trend": "Monthly spending by payer",
        "payers": "Who paid each category's medical costs (share of total cost)",
        "ratios": "Policy-range reimbursement ratio after each tier",
        "basic": "basic insurance",
        "critical": "critical illness",
        "assistance": "assistance (incl. tilted)",
        "patient": "patient",
        "after_basic": "after basic",
        "after_ci": "after critical illness",
        "after_assist": "after assistance",
        "wan": "10,000 yuan",
        "yuan": "yuan",
        "share": "share (%)",
        "ratio": "ratio (%)",
        "total": "total",
        "empty": "no settlements in the period",
    },
}


class Chart:
    """A drawn chart: its SVG at once, its PNG only when asked for (drawing it costs as much again)."""

    def __init__(self, name: str, fig: Figure) -> None:
        self.name = name
        self._fig = fig
        self.svg: str = charts.svg_text(fig)

    @cached_property
    def png(self) -> bytes:
        buf = io.BytesIO()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self._fig.savefig(buf, format="png", dpi=150, bbox_inches="tight", metadata={"Software": None})
        return buf.getvalue()

    def write(self, folder: Path) -> list[Path]:
        folder.mkdir(parents=True, exist_ok=True)
        svg, png = folder / f"{self.name}.svg", folder / f"{self.name}.png"
        svg.write_text(self.svg, encoding="utf-8")
        png.write_bytes(self.png)
        return [svg, png]


def _figure(height: float = 3.8) -> tuple[Figure, Axes]:
    charts.setup()
    fig = Figure(figsize=(8.0, height))
    return fig, fig.add_subplot()


def _render(name: str, fig: Figure) -> Chart:
    return Chart(name, fig)


def _month_label(month: str, lang: str) -> str:
    n = int(month[5:7])
    return f"{n}月" if lang == "zh" else MONTHS_EN[n - 1]


def _category(code: str, lang: str) -> str:
    """A category's name under a bar: the short Chinese name, or the English one without its gloss, wrapped."""
    if code == ALL:
        return TEXT[lang]["total"]
    name = identity_label(code, lang, short=True)
    return name if lang == "zh" else textwrap.fill(name.split(" (")[0], 12)


def _categories_axis(ax: Axes, codes: Sequence[str], lang: str, ncol: int) -> None:
    """Category names under the bars and the legend below them (lower when English names take several lines)."""
    names = [_category(c, lang) for c in codes]
    lines = max((n.count("\n") + 1 for n in names), default=1)
    ax.set_xticks(range(len(names)), names, fontsize=10 if lang == "zh" else 8)
    ax.legend(frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.08 - 0.045 * lines), ncol=ncol)


def _empty(ax: Axes, lang: str) -> None:
    ax.text(0.5, 0.5, TEXT[lang]["empty"], ha="center", va="center", transform=ax.transAxes, color="#666")
    ax.set_xticks([])
    ax.set_yticks([])


def trend(rs: ReportSet, lang: str = "zh") -> Chart:
    """Spending per month by payer: basic, critical illness, assistance (万元, or 元 when small)."""
    t = TEXT[lang]
    months = rs["monthly"].filter(pl.col("month") != ALL)
    series = {t["basic"]: months["hifp_pay"], t["critical"]: months["hifmi_pay"], t["assistance"]: months["assistance_pay"]}
    big = max((int(v) for s in series.values() for v in s.to_list()), default=0) >= FEN_PER_WAN
    div, unit = (FEN_PER_WAN, t["wan"]) if big else (100, t["yuan"])
    fig, ax = _figure(3.6)
    xs = [_month_label(m, lang) for m in months["month"]]
    for i, (name, values) in enumerate(series.items()):
        ax.plot(xs, [v / div for v in values], marker="o", label=name, color=charts.COLORS[i], linewidth=2)
    ax.set_title(t["trend"])
    ax.set_ylabel(unit)
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=3)
    return _render("trend", fig)


def _category_bars(
    rs: ReportSet, lang: str, name: str, keep: pl.Expr, bars: Callable[[Axes, pl.DataFrame, dict[str, str]], None],
    *, top: int, ylabel: str, ncol: int,
) -> Chart:  # fmt: skip
    """A bar chart over the identity categories: the ratios table's rows over all lines (and the total) where
    ``keep`` holds; ``bars`` draws the bars, this the empty chart, the axes, the title and the legend."""
    t = TEXT[lang]
    rows = rs["ratios"].filter((pl.col("line") == ALL) & keep)
    fig, ax = _figure()
    if rows.height == 0:
        _empty(ax, lang)
        return _render(name, fig)
    bars(ax, rows, t)
    ax.set_ylim(0, top)
    ax.set_ylabel(t[ylabel])
    ax.set_title(t[name])
    ax.grid(axis="y", alpha=0.3)
    _categories_axis(ax, rows["identity"].to_list(), lang, ncol=ncol)
    return _render(name, fig)


def payers(rs: ReportSet, lang: str = "zh") -> Chart:
    """Each category's medical cost split by payer, as shares (%) of the total cost."""
    keep = pl.col("medfee_sumamt") > 0
    return _category_bars(rs, lang, "payers", keep, _payer_shares, top=100, ylabel="share", ncol=4)


def _payer_shares(ax: Axes, rows: pl.DataFrame, t: dict[str, str]) -> None:
    cost = rows["medfee_sumamt"].cast(pl.Float64)
    parts = {
        t["basic"]: rows["basic_pay"],
        t["critical"]: rows["ci_pay"] - rows["basic_pay"],
        t["assistance"]: rows["assist_pay"] - rows["ci_pay"],
        t["patient"]: rows["medfee_sumamt"] - rows["assist_pay"],
    }
    bottom = [0.0] * rows.height
    for i, (name, part) in enumerate(parts.items()):
        share = (part.cast(pl.Float64) / cost * 100).to_list()
        color = charts.COLORS[i] if i < 3 else "#c9c9c9"
        ax.bar(range(rows.height), share, bottom=bottom, label=name, color=color, width=0.65)
        bottom = [b + s for b, s in zip(bottom, share, strict=True)]


def ratios(rs: ReportSet, lang: str = "zh") -> Chart:
    """The reimbursement ratio after basic, after critical illness and after assistance, per category."""
    keep = pl.col("basic_bp").is_not_null()
    return _category_bars(rs, lang, "ratios", keep, _ratio_bars, top=105, ylabel="ratio", ncol=3)


def _ratio_bars(ax: Axes, rows: pl.DataFrame, t: dict[str, str]) -> None:
    series = {t["after_basic"]: rows["basic_bp"], t["after_ci"]: rows["ci_bp"], t["after_assist"]: rows["assist_bp"]}
    width = 0.8 / len(series)
    for i, (name, values) in enumerate(series.items()):
        xs = [x + (i - 1) * width for x in range(rows.height)]
        bars = ax.bar(xs, [v / 100 for v in values], width=width, label=name, color=charts.COLORS[i])
        if i == len(series) - 1:
            ax.bar_label(bars, labels=[f"{v / 100:.1f}" for v in values], fontsize=7, padding=1)


DRAW: dict[str, Callable[[ReportSet, str], Chart]] = {"trend": trend, "payers": payers, "ratios": ratios}


def draw(rs: ReportSet, lang: str = "zh", names: Sequence[str] = CHARTS) -> dict[str, Chart]:
    """The named charts (all by default)."""
    return {name: DRAW[name](rs, lang) for name in names}
