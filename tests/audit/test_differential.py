"""Before settlement = after settlement: the scalar form (one claim at the counter, with what was known
then) and the columnar form (all claims at once) give the same findings, for every rule type that
has both, over random people, claims, knowledge and packs (:mod:`tests.audit.gen`).

The counter's knowledge of a claim is its history: the person's claims settled before it (smaller
``seq``) and the admissions registered but not yet settled (open stays), built by
:func:`tests.audit.util.history_of`.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings

from yibao.audit.columnar import COLUMNAR
from yibao.audit.engine import audit_claim, audit_frames
from yibao.audit.model import Finding, findings_from_frame, frames_of
from yibao.audit.scalar import SCALAR
from yibao.audit.types import RULE_TYPES

from . import gen
from .util import history_of

COLUMNAR_ONLY = frozenset({"high_frequency"})
"""Compares a person with everyone: runs after settlement only, so it has no scalar form."""


def _row(f: Finding) -> tuple[object, ...]:
    return (f.claim_id, f.rule_code, f.feedetl_sns, f.result, f.amount, f.evidence, json.dumps(dict(f.args), sort_keys=True))


def _scalar(case: gen.Case) -> list[Finding]:
    by_psn = {p.psn_no: p for p in case.people}
    return [f for c in case.claims for f in audit_claim(case.pack, c, by_psn[c.psn_no], history_of(c, case.claims), "during")]


def _same_findings(case: gen.Case) -> None:
    scalar = sorted(map(_row, _scalar(case)))
    columnar = sorted(map(_row, findings_from_frame(audit_frames(case.pack, frames_of(case.claims, case.people), "during"))))
    if scalar != columnar:
        types = {r.code: r.type for r in case.pack.rules}
        only_s, only_c = Counter(scalar) - Counter(columnar), Counter(columnar) - Counter(scalar)
        differ = sorted({types[str(r[1])] for r in [*only_s, *only_c]})
        raise AssertionError(f"rule types differ: {differ}\nscalar only: {sorted(only_s)}\ncolumnar only: {sorted(only_c)}")


_HEALTH = [HealthCheck.too_slow, HealthCheck.data_too_large]


@settings(max_examples=15, deadline=None, suppress_health_check=_HEALTH)
@given(gen.cases())
def test_scalar_and_columnar_find_the_same(case: gen.Case) -> None:
    _same_findings(case)


@pytest.mark.slow  # with the 15 random examples above, the full suite draws 150
@settings(max_examples=135, deadline=None, suppress_health_check=_HEALTH)
@given(gen.cases())
def test_scalar_and_columnar_find_the_same_many(case: gen.Case) -> None:
    _same_findings(case)


def test_the_generated_pack_covers_every_rule_type_with_both_forms() -> None:
    both = set(gen.both_forms())
    assert both == {t for t in SCALAR.keys() & COLUMNAR.keys() if "during" in RULE_TYPES[t].stages}
    assert {"split_admission", "bed_hanging", "outpatient_during_stay", "after_death", "same_day_visits"} <= both


def test_every_rule_type_has_both_forms() -> None:
    """Each rule type in :data:`RULE_TYPES` is implemented for one claim and for many (异常高频: many only)."""
    missing_scalar = sorted(t for t in RULE_TYPES if t not in SCALAR and t not in COLUMNAR_ONLY)
    missing_columnar = sorted(t for t in RULE_TYPES if t not in COLUMNAR)
    assert (missing_scalar, missing_columnar) == ([], [])
    assert not COLUMNAR_ONLY & SCALAR.keys()
