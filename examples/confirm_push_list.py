"""Stand in for the townships: fill in a push list's confirmation columns, as a township clerk would.

    .venv/bin/python examples/confirm_push_list.py 推送清单.xlsx 回执.xlsx

``yibao monitor --export`` and ``yibao warnings push --export`` write the push list: one sheet per
township, the header in row 3, one row per warning, and the columns a township fills in —
核实结果 (是/否), 核实人, 核实日期, 备注. This script writes a copy with every warning row
answered (``--answer``, 是 by default), by ``--by`` on ``--on``: the same input gives the same
answers, so the walk in the README is repeatable. ``yibao warnings import 回执.xlsx`` reads it back.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from openpyxl import load_workbook

HEADER_ROW = 3
FILLED = ("核实结果", "核实人", "核实日期", "备注")  # header prefixes of the columns a township fills in


def fill(source: Path, target: Path, answer: str, by: str, on: date, note: str) -> int:
    """Write ``target``: ``source`` with every warning row answered; returns how many rows."""
    wb = load_workbook(source)
    rows = 0
    for ws in wb.worksheets:
        heads = {str(c.value or "").strip(): c.column for c in ws[HEADER_ROW]}
        number = heads.get("预警编号")
        cols = [next((col for head, col in heads.items() if head.startswith(prefix)), None) for prefix in FILLED]
        if number is None or None in cols:
            raise SystemExit(f"{source} / {ws.title}: row {HEADER_ROW} is not a push list's header (预警编号, 核实结果 …)")
        for r in range(HEADER_ROW + 1, ws.max_row + 1):
            if ws.cell(row=r, column=number).value in (None, ""):
                continue
            for col, value in zip(cols, (answer, by, on, note), strict=True):
                assert col is not None
                ws.cell(row=r, column=col, value=value)
            rows += 1
    wb.save(target)
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("push_list", type=Path, help="the push list yibao wrote (.xlsx)")
    ap.add_argument("reply", type=Path, help="where to write the filled-in copy (.xlsx)")
    ap.add_argument("--answer", choices=("是", "否"), default="是", help="核实结果 on every row (default 是: at risk)")
    ap.add_argument("--by", default="章驮乡核实员", help="核实人")
    ap.add_argument("--on", type=date.fromisoformat, default=date(2022, 10, 10), help="核实日期 (YYYY-MM-DD)")
    ap.add_argument("--note", default="入户核实", help="备注")
    args = ap.parse_args()
    n = fill(args.push_list, args.reply, args.answer, args.by, args.on, args.note)
    print(f"{args.reply}: {n} 行已填写核实结果“{args.answer}”")
    return 0


if __name__ == "__main__":
    sys.exit(main())
