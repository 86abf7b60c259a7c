"""An institution's monthly indicator against its peers' band (机构异常监测的图): the institution's line,
the peers' Q1..Q3 shaded dark, the fences shaded light, the peers' median dashed, flagged months marked.

Drawn with the house settings of :mod:`yibao.core.charts` (SVG text stays text); :class:`Chart` gives the
SVG at once and the PNG on request. Values become floats only here, for drawing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import polars as pl
from matplotlib.figure import Figure

from yibao.audit.indicators import BY_CODE
from yibao.audit.institutions import indicator_label
from yibao.core import charts
from yibao.core.i18n import t
from yibao.reports.charts import MONTHS_EN, Chart

DIVISOR = {"bp": 100, "fen": 100, "milli_day": 1000}
"""Drawn as percent, yuan, days."""
UNIT_TEXT = {"bp": ("%", "%"), "fen": ("元", "yuan"), "milli_day": ("天", "days")}


def month_labels(months: Sequence[str], lang: str) -> list[str]:
    """``6月`` / ``Jun`` within one year; ``2022-06`` when the months span years."""
    if len({m[:4] for m in months}) > 1:
        return list(months)
    return [f"{int(m[5:7])}月" if lang == "zh" else MONTHS_EN[int(m[5:7]) - 1] for m in months]


def _series(df: pl.DataFrame, months: Sequence[str], column: str, divisor: int) -> list[float]:
    by_month: Mapping[str, int | None] = dict(zip(df["month"].to_list(), df[column].to_list(), strict=True))
    out: list[float] = []
    for m in months:
        v = by_month.get(m)
        out.append(float("nan") if v is None else v / divisor)
    return out


def indicator_chart(
    name: str, indicator: str, months: Sequence[str], values: pl.DataFrame, bands: pl.DataFrame,
    flagged: Sequence[str], lang: str = "zh",
) -> Chart:  # fmt: skip
    """``values``: month, value (the institution's); ``bands``: month and the band columns (its peers');
    ``flagged``: the months flagged. One chart per institution and indicator."""
    unit = BY_CODE[indicator].unit
    div = DIVISOR[unit]
    charts.setup()
    fig = Figure(figsize=(8.0, 3.6))
    ax = fig.add_subplot()
    xs = list(range(len(months)))
    lower, upper = _series(bands, months, "lower", div), _series(bands, months, "upper", div)
    q1, q3 = _series(bands, months, "q1", div), _series(bands, months, "q3", div)
    ax.fill_between(xs, lower, upper, color=charts.COLORS[0], alpha=0.10, label=t(lang, "同级围栏", "peers' fences"))
    ax.fill_between(xs, q1, q3, color=charts.COLORS[0], alpha=0.25, label=t(lang, "同级四分位区间", "peers' Q1–Q3"))
    ax.plot(xs, _series(bands, months, "median", div), "--", color=charts.COLORS[0], label=t(lang, "同级中位数", "peers' median"))
    own = _series(values, months, "value", div)
    ax.plot(xs, own, marker="o", color=charts.COLORS[1], linewidth=2, label=t(lang, "本机构", "this institution"))
    marks = [i for i, m in enumerate(months) if m in set(flagged)]
    if marks:
        ax.scatter(marks, [own[i] for i in marks], s=90, facecolors="none", edgecolors=charts.COLORS[3], linewidths=2,
                   label=t(lang, "异常月份", "flagged month"), zorder=3)  # fmt: skip
    ax.set_xticks(xs, month_labels(months, lang))
    ax.set_title(f"{name}{t(lang, '：', ': ')}{indicator_label(indicator, lang)}")
    ax.set_ylabel(t(lang, *UNIT_TEXT[unit]))
    ax.grid(alpha=0.3)
    ax.legend(frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=5, fontsize=8)
    return Chart(f"{indicator}", fig)
