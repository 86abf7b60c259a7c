"""Each audit rule type for one claim: ``fn(rule, knowledge, claim, person, history) -> findings``.

One module per family; :data:`SCALAR` maps a rule type to its function.
"""

from __future__ import annotations

from collections.abc import Callable

from yibao.audit.knowledge import Knowledge
from yibao.audit.model import AuditClaim, Finding, History, PersonFacts
from yibao.audit.pack import RuleSpec
from yibao.audit.scalar import episodes, limits, scope

ScalarRule = Callable[[RuleSpec, Knowledge, AuditClaim, PersonFacts, History], list[Finding]]

SCALAR: dict[str, ScalarRule] = {**scope.RULES, **limits.RULES, **episodes.RULES}
