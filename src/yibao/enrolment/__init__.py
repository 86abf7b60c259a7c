"""Enrolment (参保): premiums, classified subsidies (分类资助参保), special statuses, coverage.

:mod:`yibao.enrolment.premium` is pure (no database); :mod:`yibao.enrolment.service` stores
and queries enrolments; :mod:`yibao.enrolment.excel` writes the workbooks.
"""

from yibao.enrolment.premium import Split, premium_split

__all__ = ["Split", "premium_split"]
