"""The ``yibao`` command line (Typer)."""
