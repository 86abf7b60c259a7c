"""Pure settlement: fee lines -> policy range -> four payers -> patient."""

from yibao.settlement.model import Claim, FeeLine, Person, PolicyRangeSummary, Settlement, YearToDate
from yibao.settlement.settle import reverse, settle, settle_sequence

__all__ = ["Claim", "FeeLine", "Person", "PolicyRangeSummary", "Settlement", "YearToDate", "reverse", "settle", "settle_sequence"]
