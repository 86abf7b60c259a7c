"""``yibao …`` run in the test's own process (Typer's CliRunner), answering as a finished subprocess would.

The README test (tests/integration/test_readme_commands.py) runs every command the README shows for real,
in a subprocess of a fresh interpreter, among them ``yibao import identities``, ``enrol``, ``synth``,
``batch``, ``compare``, ``monitor``, ``warnings``, ``report`` and ``audit run``; the tests of those commands'
behaviour call them here and are spared starting an interpreter and importing yibao for each call (about
2.5 CPU seconds each). A command that raises anything other than its exit fails the test with that error.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from typer.testing import CliRunner


@dataclass(frozen=True)
class Ran:
    """What the command left: its exit code and what it printed to stdout and to stderr."""

    returncode: int
    stdout: str
    stderr: str


def yibao(*args: str, env: Mapping[str, str | None] | None = None, cwd: Path | None = None) -> Ran:
    """``yibao *args`` with ``env`` added to the environment (a name given None is taken out of it; ``COLUMNS``
    200 unless given), in ``cwd``."""
    from yibao.entrypoints.cli.main import app

    environ: dict[str, str | None] = {"COLUMNS": "200", **(env or {})}
    with contextlib.chdir(cwd or os.getcwd()):
        result = CliRunner(env=environ).invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Ran(result.exit_code, result.stdout, result.stderr)
