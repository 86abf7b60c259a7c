"""Charts as SVG text (matplotlib), for self-contained HTML reports.

Text stays text in the SVG (``svg.fonttype = none``), so the reader's browser draws the
Chinese labels with its own fonts; nothing depends on fonts installed where the report is
made.
"""

from __future__ import annotations

import io
import logging
import warnings
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

CJK_FONTS = [
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "Microsoft YaHei",
    "PingFang SC",
    "WenQuanYi Micro Hei",
    "SimHei",
    "DejaVu Sans",
]
COLORS = ["#3b6ea5", "#e07b39", "#5a9e6f", "#b8514e", "#8c6bb1", "#7f7f7f"]

logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)


def setup() -> None:
    plt.rcParams.update({
        "svg.fonttype": "none", "font.family": "sans-serif", "font.sans-serif": CJK_FONTS, "axes.unicode_minus": False,
        "axes.spines.top": False, "axes.spines.right": False, "figure.dpi": 100, "svg.hashsalt": "yibao",
    })  # fmt: skip


def svg_text(fig: Figure) -> str:
    buf = io.StringIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg") :]


def grouped_bars(categories: Sequence[str], series: dict[str, Sequence[float]], title: str, unit: str) -> str:
    """Bars per category, one colour per series (baseline / reform …)."""
    setup()
    fig, ax = plt.subplots(figsize=(7.5, 3.6))
    width = 0.8 / max(len(series), 1)
    for i, (name, values) in enumerate(series.items()):
        xs = [x + (i - (len(series) - 1) / 2) * width for x in range(len(categories))]
        ax.bar(xs, list(values), width=width, label=name, color=COLORS[i % len(COLORS)])
    ax.set_xticks(range(len(categories)), list(categories))
    ax.set_title(title)
    ax.set_ylabel(unit)
    ax.legend(frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=len(series))
    ax.grid(axis="y", alpha=0.3)
    return svg_text(fig)


def stacked_bars(categories: Sequence[str], parts: dict[str, Sequence[float]], title: str, unit: str) -> str:
    """One stacked bar per category, a segment per part (payers)."""
    setup()
    fig, ax = plt.subplots(figsize=(7.5, 3.6))
    bottom = [0.0] * len(categories)
    for i, (name, values) in enumerate(parts.items()):
        ax.bar(range(len(categories)), list(values), bottom=bottom, label=name, color=COLORS[i % len(COLORS)])
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    ax.set_xticks(range(len(categories)), list(categories))
    ax.set_title(title)
    ax.set_ylabel(unit)
    ax.legend(frameon=False, fontsize=8, ncol=3)
    ax.grid(axis="y", alpha=0.3)
    return svg_text(fig)


def lines(xs: Sequence[str], series: dict[str, Sequence[float]], title: str, unit: str) -> str:
    """Trend lines over periods."""
    setup()
    fig, ax = plt.subplots(figsize=(7.5, 3.4))
    for i, (name, values) in enumerate(series.items()):
        ax.plot(list(xs), list(values), marker="o", label=name, color=COLORS[i % len(COLORS)])
    ax.set_title(title)
    ax.set_ylabel(unit)
    ax.legend(frameon=False)
    ax.grid(alpha=0.3)
    return svg_text(fig)
