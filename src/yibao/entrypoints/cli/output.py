"""Where the commands write: one console for results and one for refusals.

Refusals are never hard-wrapped: a message naming file, row, field and value stays on one line, for a
clerk to read or copy and for a log to search, whatever the terminal's width.
"""

from __future__ import annotations

import typer
from rich.console import Console

from yibao.core.errors import InputError, InputErrors
from yibao.core.i18n import t

console = Console()
err_console = Console(stderr=True, soft_wrap=True)

NOTHING_WRITTEN = ("输入有误，未写入任何文件：", "Bad input; nothing was written:")
NOTHING_STORED = ("输入有误，未写入任何内容：", "Bad input; nothing was written:")
NOTHING_CHANGED = ("输入有误，未作任何更改：", "Bad input; nothing was changed:")


def refuse(exc: InputError | InputErrors, lang: str, said: tuple[str, str] = NOTHING_WRITTEN) -> typer.Exit:
    """Print what was wrong (exit code 2: bad input, nothing done) and return the exit to raise."""
    err_console.print(f"[bold red]{t(lang, *said)}[/]")
    err_console.print(exc.render(lang), markup=False)
    return typer.Exit(code=2)
