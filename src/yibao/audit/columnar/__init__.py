"""Each audit rule type over many claims at once (Polars): ``fn(rule, knowledge, frames) -> findings frame``.

One module per family, mirroring :mod:`yibao.audit.scalar`; :data:`COLUMNAR` maps a rule type to its
function. A function may return findings on any claim; the engine keeps those on the claims the rule
applies to.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from yibao.audit.columnar import episodes, limits, scope
from yibao.audit.knowledge import Knowledge
from yibao.audit.model import Frames
from yibao.audit.pack import RuleSpec

ColumnarRule = Callable[[RuleSpec, Knowledge, Frames], pl.DataFrame]

COLUMNAR: dict[str, ColumnarRule] = {**scope.RULES, **limits.RULES, **episodes.RULES}
