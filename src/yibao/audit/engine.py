"""Run an audit pack: for one claim at the counter (scalar), or over many claims at once (columnar).

Both forms run the same rules with the same parameters and knowledge, and give the same findings
for the same claims (``tests/audit/test_differential.py``). A rule only looks at the claims it
applies to (:meth:`RuleSpec.applies_to`: on, at this stage, scenario, insurance type, level); other
claims may still be its evidence (the previous admission of a 分解住院).
"""

from __future__ import annotations

import polars as pl

from yibao.audit.columnar import COLUMNAR
from yibao.audit.columnar.indexed import positions
from yibao.audit.model import FINDING_SCHEMA, AuditClaim, Finding, Frames, History, PersonFacts
from yibao.audit.pack import AuditPack, RuleSpec
from yibao.audit.scalar import SCALAR


def audit_claim(
    pack: AuditPack, claim: AuditClaim, person: PersonFacts, history: History, stage: str = "during"
) -> list[Finding]:
    """Every finding of ``pack``'s rules on ``claim`` (sorted by rule code, then lines)."""
    out: list[Finding] = []
    for rule in pack.rules:
        fn = SCALAR.get(rule.type)
        if fn is not None and rule.applies_to(claim, stage):
            out.extend(fn(rule, pack.knowledge, claim, person, history))
    return sorted(out, key=Finding.key)


def _applies(i: int, rule: RuleSpec) -> pl.Expr:
    """Whether a finding (of the ``i``-th rule run) is on a claim (its ``scenario``, ``insutype``, ``hosp_lv``
    taken on) that ``rule`` looks at."""
    cond = pl.col("scenario").is_in(list(rule.scenarios))
    if rule.insutypes is not None:
        cond = cond & pl.col("insutype").is_in(list(rule.insutypes))
    if rule.hosp_lvs is not None:
        cond = cond & pl.col("hosp_lv").is_in(list(rule.hosp_lvs))
    return (pl.col("rule") == i) & cond


def _keep_targets(found: pl.DataFrame, rules: list[RuleSpec], claims: pl.DataFrame) -> pl.DataFrame:
    """The findings (with ``rule``, the index of their rule in ``rules``) on claims their rule applies to:
    each finding's claim found once (:func:`positions`), its attributes taken by position."""
    scenario = (
        pl.when(pl.col("med_type") == "21").then(pl.lit("inpatient"))
        .when(pl.col("med_type") == "41").then(pl.lit("pharmacy"))
        .otherwise(pl.lit("outpatient"))
    )  # fmt: skip
    at = positions(found.get_column("claim_id"), claims.get_column("claim_id"))
    attrs = claims.select(scenario.alias("scenario"), "insutype", "hosp_lv")
    found = found.with_columns([attrs.get_column(c).gather(at) for c in attrs.columns])
    cond = pl.any_horizontal([_applies(i, r) for i, r in enumerate(rules)])
    return found.filter(cond.fill_null(False)).select(list(FINDING_SCHEMA))


def audit_frames(pack: AuditPack, frames: Frames, stage: str = "post") -> pl.DataFrame:
    """Every finding of ``pack``'s rules on the claims of ``frames`` (:data:`FINDING_SCHEMA`), sorted like
    :func:`audit_claim`. Each claim's history is the claims of ``frames`` with a smaller ``seq``."""
    parts: list[pl.DataFrame] = []
    ran: list[RuleSpec] = []
    for rule in pack.rules:
        fn = COLUMNAR.get(rule.type)
        if fn is None or not rule.enabled or stage not in rule.stages:
            continue
        found = fn(rule, pack.knowledge, frames)
        if found.height:
            cast = found.select(list(FINDING_SCHEMA)).cast(FINDING_SCHEMA)  # type: ignore[arg-type]
            parts.append(cast.with_columns(rule=pl.lit(len(ran), dtype=pl.Int32)))
        ran.append(rule)
    if not parts:
        return pl.DataFrame(schema=FINDING_SCHEMA)
    df = _keep_targets(pl.concat(parts), ran, frames.claims)
    return df.sort(["claim_id", "rule_code", "feedetl_sns"])
