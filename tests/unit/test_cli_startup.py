"""Building the command line loads no heavy library, so every ``yibao`` run (``--help`` too) starts in a fraction
of a second: a command imports its services, the database, Polars and the rest when it runs."""

from __future__ import annotations

import subprocess
import sys

HEAVY = (
    "polars", "pyarrow", "numpy", "numba", "pyspark", "sqlalchemy", "alembic", "pydantic", "openpyxl", "jinja2",
    "weasyprint", "fastapi", "uvicorn", "yibao.app", "yibao.store", "yibao.policy", "yibao.settlement",
    "yibao.interfaces", "yibao.rules", "yibao.reports", "yibao.synth",
)  # fmt: skip


def test_building_the_command_line_loads_no_heavy_library() -> None:
    code = "import sys, typer; from yibao.entrypoints.cli.main import app; typer.main.get_command(app); print(*sys.modules)"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    heavy = sorted(m for m in loaded if any(m == h or m.startswith(f"{h}.") for h in HEAVY))
    assert heavy == []
