"""What a benchmark prints about the machine it ran on (shared by the bench scripts)."""

from __future__ import annotations

from pathlib import Path


def loadavg() -> str:
    """The 1-, 5- and 15-minute load averages, or ``?`` where ``/proc`` has none."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"
