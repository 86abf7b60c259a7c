"""超剂量, 超频次, 超疗程, 重复收费, 分解收费, 关联缺失, 药品与诊断不符 for one claim (scalar form).

The columnar form (:mod:`yibao.audit.columnar.limits`) gives the same findings; each function's
docstring defines the rule exactly, for both forms.

**Counting across claims** (超剂量, 超频次). A person's lines are counted in order — claim ``seq``,
then the line's position in its claim — into running totals per group (item and day; item and
frequency window). The claim's history is the same person's claims with a smaller ``seq``. A line
that takes its group's total above the limit is flagged with the share of it above the limit:
``amount = round_half_up(line total × (total after − limit) / line count)`` (never more than the
line); once the total is at or above the limit, every later line of the group is flagged whole
(so is a line of count 0 or less that leaves the total above the limit). Findings land on the claim
being audited only; the earlier claims that counted in the group are its evidence
(``claim:<claim_id>``), with ``item:<code>``. Counts (``cnt`` and ``limit`` in the message) are
written in units: 1500 thousandths as ``"1.5"``. A person's claims are assumed to have distinct
``seq`` (the ledger's order).

The other types look at one claim: its lines, its diagnosis (``dise_codg``) and the knowledge
tables. Every finding's ``result`` is the rule's, except ``unevaluable`` where a diagnosis is needed
and the claim has none; its amount is the fen at stake (whole lines unless said otherwise).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import cast

from yibao.audit.knowledge import WINDOWS, Knowledge, window_key
from yibao.audit.model import AuditClaim, AuditLine, Finding, History, PersonFacts, Result
from yibao.audit.pack import RuleSpec
from yibao.audit.scalar.scope import Args, cnt_text, line_finding
from yibao.core.money import half_up
from yibao.core.vocab import AUDIT_WINDOWS


def over_amount(line: AuditLine, before: int, after: int, limit: int) -> int:
    """The fen of ``line`` above ``limit``: the share of its count over the limit, or the whole line
    when the total was already at or above the limit (or the line's count is 0 or less)."""
    if before >= limit or line.cnt_milli <= 0:
        return line.det_item_fee_sumamt
    return half_up(line.det_item_fee_sumamt * (after - limit), line.cnt_milli)


def earlier_claims(claim: AuditClaim, history: History) -> list[AuditClaim]:
    """The person's claims counted before ``claim``: the history's claims of the same person with a
    smaller ``seq``, in ``seq`` order."""
    return sorted((c for c in history.claims if c.psn_no == claim.psn_no and c.seq < claim.seq), key=lambda c: c.seq)


@dataclass(frozen=True)
class Over:
    """One line of the audited claim over its group's limit."""

    index: int
    """The line's position in the claim."""
    key: tuple[Hashable, ...]
    limit: int
    after: int
    """The group's running total including the line, thousandths."""
    amount: int
    evidence: tuple[str, ...]
    """``claim:<id>`` of each earlier claim with a line in the group."""


Groups = Callable[[AuditLine], Iterable[tuple[tuple[Hashable, ...], int]]]
"""A line's groups and each group's limit (thousandths)."""


def over_limits(claim: AuditClaim, history: History, groups: Groups) -> list[Over]:
    """Running totals per group over the person's earlier claims and then ``claim``'s lines in order;
    every line of ``claim`` whose group total goes (or is) above the limit, once per group."""
    wanted = {key for ln in claim.lines for key, _ in groups(ln)}
    totals: dict[tuple[Hashable, ...], int] = defaultdict(int)
    seen: dict[tuple[Hashable, ...], set[str]] = defaultdict(set)
    for earlier in earlier_claims(claim, history):
        for ln in earlier.lines:
            for key, _ in groups(ln):
                if key in wanted:
                    totals[key] += ln.cnt_milli
                    seen[key].add(f"claim:{earlier.claim_id}")
    out: list[Over] = []
    for i, ln in enumerate(claim.lines):
        for key, limit in groups(ln):
            before = totals[key]
            after = totals[key] = before + ln.cnt_milli
            if after > limit:
                out.append(Over(i, key, limit, after, over_amount(ln, before, after, limit), tuple(sorted(seen[key]))))
    return out


def dose_limit(rule: RuleSpec, kb: Knowledge, claim: AuditClaim, person: PersonFacts, history: History) -> list[Finding]:
    """超剂量: an item's count per person per natural day (``fee_ocur_date``), across the person's claims,
    above ``quantity_limits.per_day``. Args: ``day`` (ISO date), ``cnt`` (the day's total through the
    line, units), ``limit`` (units)."""

    def groups(ln: AuditLine) -> list[tuple[tuple[Hashable, ...], int]]:
        limit = kb.per_day.get(ln.med_list_codg)
        return [] if limit is None else [((ln.med_list_codg, ln.fee_ocur_date), limit)]

    return [
        line_finding(
            rule,
            claim,
            claim.lines[o.index],
            o.amount,
            {"day": claim.lines[o.index].fee_ocur_date.isoformat(), "cnt": cnt_text(o.after), "limit": cnt_text(o.limit)},
            o.evidence,
        )
        for o in over_limits(claim, history, groups)
    ]


def frequency_limit(rule: RuleSpec, kb: Knowledge, claim: AuditClaim, person: PersonFacts, history: History) -> list[Finding]:
    """超频次: an item's count per person per natural window (``frequency_limits``: day, ISO week, month,
    quarter, year of ``fee_ocur_date``), summed over the person's claims, above ``max_times``.

    An item with several limits (windows) is counted in each; a line over more than one is reported
    once, for the limit with the largest amount, then the narrowest window, then the smallest
    ``max_times``. The rule's own ``window`` (a national rule-base attribute) only describes it: the
    windows are the table's. Args: ``window`` (code), ``window_label`` / ``window_label_en``, ``cnt``
    (the window's total through the line, units), ``limit`` (units)."""

    def groups(ln: AuditLine) -> list[tuple[tuple[Hashable, ...], int]]:
        return [
            ((ln.med_list_codg, window, limit, window_key(ln.fee_ocur_date, window)), limit)
            for window, limit in sorted(set(kb.frequency.get(ln.med_list_codg, ())))
        ]

    best: dict[int, Over] = {}
    for o in over_limits(claim, history, groups):
        rank = (-o.amount, WINDOWS.index(str(o.key[1])), o.limit)
        cur = best.get(o.index)
        if cur is None or rank < (-cur.amount, WINDOWS.index(str(cur.key[1])), cur.limit):
            best[o.index] = o
    out: list[Finding] = []
    for i, o in sorted(best.items()):
        window = str(o.key[1])
        args: Args = {
            "window": window, "window_label": AUDIT_WINDOWS[window][0], "window_label_en": AUDIT_WINDOWS[window][1],
            "cnt": cnt_text(o.after), "limit": cnt_text(o.limit),
        }  # fmt: skip
        out.append(line_finding(rule, claim, claim.lines[i], o.amount, args, o.evidence))
    return out


def course_limit(rule: RuleSpec, kb: Knowledge, claim: AuditClaim, person: PersonFacts, history: History) -> list[Finding]:
    """超疗程: an item charged on more distinct days (``fee_ocur_date``) within one claim than
    ``course_limits.max_days``. The lines on the days after the first ``max_days`` (in date order) are
    flagged whole. Args: ``days`` (the item's distinct days in the claim), ``limit``, ``day`` (the line's)."""
    days: dict[str, set[date]] = defaultdict(set)
    for ln in claim.lines:
        if ln.med_list_codg in kb.course_days:
            days[ln.med_list_codg].add(ln.fee_ocur_date)
    ordered = {code: sorted(ds) for code, ds in days.items()}
    out: list[Finding] = []
    for ln in claim.lines:
        limit = kb.course_days.get(ln.med_list_codg)
        if limit is None:
            continue
        item_days = ordered[ln.med_list_codg]
        if item_days.index(ln.fee_ocur_date) >= limit:
            args: Args = {"days": len(item_days), "limit": limit, "day": ln.fee_ocur_date.isoformat()}
            out.append(line_finding(rule, claim, ln, ln.det_item_fee_sumamt, args))
    return out


def duplicate_pair(rule: RuleSpec, kb: Knowledge, claim: AuditClaim, person: PersonFacts, history: History) -> list[Finding]:
    """重复收费: a line of a sub item (``duplicate_pairs.sub_codg``) on a day when the same claim also
    charges one of its main items (``main_codg``). One finding per sub line, whole; ``main`` is the
    main items present that day (sorted, comma-separated), each also evidence ``item:<main>``. A pair
    naming the same item twice is ignored."""
    mains_of: dict[str, set[str]] = defaultdict(set)
    for main, subs in kb.duplicate_subs.items():
        for sub in subs:
            if sub != main:
                mains_of[sub].add(main)
    present = {(ln.fee_ocur_date, ln.med_list_codg) for ln in claim.lines}
    out: list[Finding] = []
    for ln in claim.lines:
        mains = sorted(m for m in mains_of.get(ln.med_list_codg, ()) if (ln.fee_ocur_date, m) in present)
        if mains:
            ev = tuple(f"item:{m}" for m in mains)
            out.append(line_finding(rule, claim, ln, ln.det_item_fee_sumamt, {"main": ",".join(mains)}, ev))
    return out


def bundle_split(rule: RuleSpec, kb: Knowledge, claim: AuditClaim, person: PersonFacts, history: History) -> list[Finding]:
    """组合项目拆分 (分解收费): on one day of one claim, lines of at least ``min_parts`` distinct parts of a
    bundle (``bundles``) and no line of the bundle item itself.

    One finding per claim, bundle and day naming every part line that day (in line order). Amount:
    the parts' total minus the bundle's payment standard (``catalogue.std_pric``) when the catalogue
    gives one (not below 0), else the parts' total; ``basis`` says which (``std_pric`` / ``parts``).
    Args: ``bundle``, ``parts`` (distinct parts), ``day``, ``parts_fen``, ``basis`` and, with
    ``std_pric``, ``std_fen``. Evidence: ``item:<bundle>``, ``date:<day>``. When bundles overlap so
    that two of them name the very same lines, one finding is kept: the larger amount, then the
    smaller bundle code (a finding is known by its claim, rule and lines)."""
    min_parts = int(rule.param("min_parts"))
    present = {(ln.fee_ocur_date, ln.med_list_codg) for ln in claim.lines}
    out: dict[tuple[str, ...], Finding] = {}
    for bundle, parts in sorted(kb.bundles.items()):
        by_day: dict[date, list[AuditLine]] = defaultdict(list)
        for ln in claim.lines:
            if ln.med_list_codg in parts and (ln.fee_ocur_date, bundle) not in present:
                by_day[ln.fee_ocur_date].append(ln)
        for day, lines in by_day.items():
            n = len({ln.med_list_codg for ln in lines})
            if n < min_parts:
                continue
            total = sum(ln.det_item_fee_sumamt for ln in lines)
            std = (kb.catalogue.get(bundle) or {}).get("std_pric")
            args: Args = {"bundle": bundle, "parts": n, "day": day.isoformat(), "parts_fen": total, "basis": "parts"}
            amount = total
            if std is not None:
                args |= {"basis": "std_pric", "std_fen": int(std)}
                amount = max(total - int(std), 0)
            sns = tuple(ln.feedetl_sn for ln in lines)
            kept = out.get(sns)
            if kept is None or amount > kept.amount:  # bundles in code order: a tie keeps the smaller code
                ev = (f"date:{day}", f"item:{bundle}")
                out[sns] = Finding(rule.code, rule.type, cast(Result, rule.result), claim.claim_id, sns, amount, ev, args)
    return list(out.values())


def prefixes(codes: Iterable[str]) -> list[str]:
    """Diagnosis code prefixes as shown: ``J45`` → ``J45*``, distinct, sorted."""
    return sorted({f"{p}*" for p in codes})


def missing_required(rule: RuleSpec, kb: Knowledge, claim: AuditClaim, person: PersonFacts, history: History) -> list[Finding]:
    """关联缺失: a line of an item whose required items (``requirements.requires_codg``: every one is
    required) are not all charged in the same claim, or whose required diagnosis
    (``requires_dise``: any one prefix suffices) does not start ``claim.dise_codg``.

    One finding per such line, whole, with the rule's result. When no required item is missing and a
    diagnosis is required but the claim has none, the result is ``unevaluable``. Args: ``required``
    (the missing items, sorted, then — when the diagnosis is required and not matched or unknown — the
    prefixes as ``J45*``; comma-separated), ``dise_codg``."""
    present = {ln.med_list_codg for ln in claim.lines}
    dise = claim.dise_codg
    out: list[Finding] = []
    for ln in claim.lines:
        items = kb.requires_items.get(ln.med_list_codg, frozenset())
        dises = kb.requires_dise.get(ln.med_list_codg, ())
        missing = sorted(items - present)
        dise_ok = not dises or (bool(dise) and any(dise.startswith(p) for p in dises))
        if not missing and dise_ok:
            continue
        result = cast(Result, rule.result) if missing or dise else "unevaluable"
        required = missing + ([] if dise_ok else prefixes(dises))
        f = line_finding(rule, claim, ln, ln.det_item_fee_sumamt, {"required": ",".join(required), "dise_codg": dise})
        out.append(Finding(f.rule_code, f.rule_type, result, f.claim_id, f.feedetl_sns, f.amount, f.evidence, f.args))
    return out


def diagnosis_mismatch(rule: RuleSpec, kb: Knowledge, claim: AuditClaim, person: PersonFacts, history: History) -> list[Finding]:
    """药品与诊断不符: a line of a drug with indications (``indications``) none of whose prefixes starts
    ``claim.dise_codg``; ``unevaluable`` when the claim has no diagnosis. One finding per line, whole.
    Args: ``indications`` (prefixes as ``J45*``, sorted, comma-separated), ``dise_codg``."""
    dise = claim.dise_codg
    out: list[Finding] = []
    for ln in claim.lines:
        inds = kb.indications.get(ln.med_list_codg)
        if not inds or (dise and any(dise.startswith(p) for p in inds)):
            continue
        f = line_finding(rule, claim, ln, ln.det_item_fee_sumamt, {"indications": ",".join(prefixes(inds)), "dise_codg": dise})
        result = cast(Result, rule.result) if dise else "unevaluable"
        out.append(Finding(f.rule_code, f.rule_type, result, f.claim_id, f.feedetl_sns, f.amount, f.evidence, f.args))
    return out


RULES = {
    "dose_limit": dose_limit,
    "frequency_limit": frequency_limit,
    "course_limit": course_limit,
    "duplicate_pair": duplicate_pair,
    "bundle_split": bundle_split,
    "missing_required": missing_required,
    "diagnosis_mismatch": diagnosis_mismatch,
}
