"""What a report is about: its period, place, source and pack, and how to read its figures.

The first lines of the workbook, of the HTML report, of the web page and of ``yibao report``.
"""

from __future__ import annotations

from yibao.core.i18n import t as _t
from yibao.reports.catalogue import ReportSet
from yibao.reports.cells import place_label
from yibao.settlement.batch.io import not_covered_text


def about_lines(rs: ReportSet, lang: str) -> list[str]:
    """Period, place, source and pack, for the first lines of the workbook and the pages."""
    m = rs.meta
    source = _t(lang, "结算台账", "the ledger") if m.source == "ledger" else _t(lang, "批量测算结果", "a batch simulation")
    place = place_label(m.place, lang)
    lines = [
        _t(
            lang,
            f"报表期间：{m.start.isoformat()} 至 {m.end.isoformat()}",
            f"Period: {m.start.isoformat()} to {m.end.isoformat()}",
        ),
        _t(lang, f"地区/机构：{place}", f"Place / institution: {place}"),
        _t(lang, f"数据来源：{source}（{m.detail}）", f"Source: {source} ({m.detail})"),
        _t(lang, f"政策包：{m.pack_id or '未知'}", f"Policy pack: {m.pack_id or 'unknown'}"),
    ]
    if m.not_covered:
        lines.append(not_covered_text({s: (people, claims) for s, people, claims in m.not_covered}, m.pack_id or "", lang))
    if m.cutoff is not None:
        lines.append(
            _t(
                lang,
                f"资助类别按政策包缴费截止日 {m.cutoff.isoformat()} 所持身份；人员类别按 {m.year} 年 1 月 1 日所持身份。",
                f"Subsidy categories as held on the pack's cut-off day {m.cutoff.isoformat()}; categories on 1 January {m.year}.",
            )
        )
    if m.place.fixmedins_code:
        lines.append(
            _t(
                lang,
                "按机构统计时，参保、资助参保和筹资仍按地区（不按机构）。",
                "With an institution, enrolment, premium subsidies and income are still for the place, not the institution.",
            )
        )
    lines.append(_t(lang, "金额单位：元（数据以分记账，精确到分）。", "Amounts in yuan (kept in fen, exact)."))
    return lines
