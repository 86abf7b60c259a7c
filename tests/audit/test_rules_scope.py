"""One test per rule type of the scope family (超支付范围, 超支付标准), each named after it.

Every test builds a tiny pack, runs both forms (:func:`tests.audit.util.audit_both`: the scalar
form claim by claim and the columnar form over all claims, asserted equal) and compares with
findings worked out by hand (amounts in fen; the arithmetic in the comment next to each).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.audit.util import audit_both, claim, line, pack, person, rule
from yibao.audit.columnar.scope import cnt_text as columnar_cnt_text
from yibao.audit.engine import audit_frames
from yibao.audit.model import AuditClaim, AuditLine, Finding, PersonFacts, findings_from_frame, frames_of
from yibao.audit.scalar.scope import cnt_text
from yibao.audit.types import RULE_TYPES
from yibao.policy import pack_from_mapping as policy_from_mapping
from yibao.settlement import Claim, FeeLine, Person, settle

D = date(2022, 3, 10)


def found(code: str, rtype: str, claim_id: str, sn: str, item: str, amount: int, **args: str | int) -> Finding:
    """The finding a violation rule ``code`` makes on line ``sn`` of ``claim_id``, written out by hand."""
    return Finding(code, rtype, "violation", claim_id, (sn,), amount, (f"item:{item}",), {"item": item, **args})


def run(
    rtype: str,
    knowledge: Mapping[str, Any],
    claims: Sequence[AuditClaim],
    people: Sequence[PersonFacts] = (person(),),
    price_ceilings: Mapping[str, int] | None = None,
) -> list[Finding]:
    """The findings of one rule ``R1`` of ``rtype`` (both forms, asserted equal)."""
    return audit_both(pack([rule("R1", rtype)], knowledge, price_ceilings), claims, people)


def limits(**cols: Any) -> dict[str, list[dict[str, Any]]]:
    """An ``item_limits`` table: ``cols`` maps each item code to its restriction columns."""
    return {"item_limits": [{"med_list_codg": code, **row} for code, row in cols.items()]}


def catalogue(*rows: tuple[str, str | None]) -> dict[str, list[dict[str, Any]]]:
    """A catalogue of (code, payment standard in yuan or None)."""
    return {"catalogue": [{"med_list_codg": c, "med_list_name": c, "kind": "drug", "std_pric": s} for c, s in rows]}


def test_超限定性别_gender_limit():
    kb = limits(G1={"gend": "2"})
    man, woman = person("P1", gend="1"), person("P2", gend="2")
    claims = [
        claim("C1", 1, [line("1", "G1", D, pric=2500), line("2", "X1", D)], psn_no="P1"),
        claim("C2", 2, [line("3", "G1", D, pric=2500)], psn_no="P2"),
    ]
    # a man charged the women-only G1: the whole line, 1 x 25.00
    expected = [found("R1", "gender_limit", "C1", "1", "G1", 2500, gend_label="女", gend_label_en="female", gend="1")]
    assert run("gender_limit", kb, claims, [man, woman]) == expected


def test_超限定年龄_age_limit():
    kb = limits(A1={"age_min": 18, "age_max": 60}, A2={"age_max": 6}, A3={"age_min": 65})
    young = person("P1", brdy=date(2004, 3, 10))  # 17 on 2022-03-09, 18 on 2022-03-10
    old = person("P2", brdy=date(1961, 3, 10))  # 60 on 2022-03-09, 61 on 2022-03-10
    day_before = date(2022, 3, 9)
    claims = [
        claim(
            "C1",
            1,
            [line("1", "A1", day_before, pric=300), line("2", "A1", D, pric=400), line("3", "A2", D, pric=500)],
            psn_no="P1",
        ),
        claim(
            "C2", 2, [line("4", "A1", day_before, pric=600), line("5", "A1", D, cnt=2, pric=700), line("6", "A3", D)], psn_no="P2"
        ),
    ]
    expected = [
        found("R1", "age_limit", "C1", "1", "A1", 300, age_min=18, age_max=60, age=17),  # the day before turning 18
        found("R1", "age_limit", "C1", "3", "A2", 500, age_min="", age_max=6, age=18),  # no lower bound: shown empty
        found("R1", "age_limit", "C2", "5", "A1", 1400, age_min=18, age_max=60, age=61),  # 61 on his birthday; 2 x 7.00
        found("R1", "age_limit", "C2", "6", "A3", 100, age_min=65, age_max="", age=61),
    ]
    # line 2 (18 on the day) and line 4 (60 the day before his 61st birthday) are within the bounds
    assert run("age_limit", kb, claims, [young, old]) == expected


def test_超就医方式_med_type_limit():
    kb = limits(M1={"med_types": "21"}, M2={"med_types": "21,14"})
    claims = [
        claim("C1", 1, [line("1", "M1", D, pric=800), line("2", "M2", D, pric=900), line("3", "X1", D)], med_type="11"),
        claim("C2", 2, [line("4", "M1", D), line("5", "M2", D)], med_type="21"),
        claim("C3", 3, [line("6", "M1", D, pric=300), line("7", "M2", D)], med_type="14"),
    ]
    expected = [
        found("R1", "med_type_limit", "C1", "1", "M1", 800, allowed="21", med_type="11"),
        found("R1", "med_type_limit", "C1", "2", "M2", 900, allowed="14,21", med_type="11"),  # codes sorted
        found("R1", "med_type_limit", "C3", "6", "M1", 300, allowed="21", med_type="14"),
    ]
    assert run("med_type_limit", kb, claims) == expected


def test_超机构等级_hosp_lv_limit():
    kb = limits(H2={"min_hosp_lv": 2})
    claims = [
        claim("C1", 1, [line("1", "H2", D, cnt="1.5", pric=1000), line("2", "X1", D)], hosp_lv=1),
        claim("C2", 2, [line("3", "H2", D)], hosp_lv=2),  # exactly the minimum level
        claim("C3", 3, [line("4", "H2", D)], hosp_lv=3),
    ]
    # 1.5 x 10.00 = 15.00
    assert run("hosp_lv_limit", kb, claims) == [found("R1", "hosp_lv_limit", "C1", "1", "H2", 1500, min_hosp_lv=2, hosp_lv=1)]


def test_超险种_insutype_limit():
    kb = limits(I1={"insutypes": "310"})
    claims = [
        claim("C1", 1, [line("1", "I1", D, pric=4200)], insutype="390"),
        claim("C2", 2, [line("2", "I1", D)], insutype="310"),
    ]
    assert run("insutype_limit", kb, claims) == [
        found("R1", "insutype_limit", "C1", "1", "I1", 4200, allowed="310", insutype="390")
    ]


def test_目录外项目_unknown_item():
    claims = [claim("C1", 1, [line("1", "K1", D), line("2", "Z9", D, pric=1234), line("3", "K2", D)])]
    assert run("unknown_item", catalogue(("K1", None), ("K2", "3.00")), claims) == [
        found("R1", "unknown_item", "C1", "2", "Z9", 1234)
    ]
    # a pack without a catalogue cannot tell: nothing is found
    assert run("unknown_item", {}, claims) == []


def test_超标准收费_price_standard():
    kb = catalogue(("S1", "10.00"), ("S2", None))
    lines = [
        line("1", "S1", D, cnt="1.5", pric=1234),  # (12.34 - 10.00) x 1.5 = 3.51
        line("2", "S1", D, cnt="2.5", pric=1001),  # 0.01 x 2.5 = 0.025 → 0.03 (half up)
        line("3", "S1", D, cnt="0.4", pric=1001),  # 0.01 x 0.4 = 0.004 → 0.00
        line("4", "S1", D, cnt=1, pric=2000, total=500),  # 10.00 over, but the line is only 5.00
        line("5", "S1", D, cnt=3, pric=1000),  # at the standard: nothing
        line("6", "S2", D, pric=99_999),  # no standard: nothing
    ]
    expected = [
        found("R1", "price_standard", "C1", "1", "S1", 351, pric_fen=1234, std_fen=1000),
        found("R1", "price_standard", "C1", "2", "S1", 3, pric_fen=1001, std_fen=1000),
        found("R1", "price_standard", "C1", "3", "S1", 0, pric_fen=1001, std_fen=1000),
        found("R1", "price_standard", "C1", "4", "S1", 500, pric_fen=2000, std_fen=1000),
    ]
    assert run("price_standard", kb, [claim("C1", 1, lines)]) == expected


def test_超限价_price_ceiling():
    lines = [
        line("1", "P1", D, cnt=3, pric=1000),  # (10.00 - 8.00) x 3 = 6.00
        line("2", "P1", D, cnt="0.25", pric=1002),  # (10.02 - 8.00) x 0.25 = 0.505 → 0.51 (half up)
        line("3", "P1", D, cnt=2, pric=800),  # at the ceiling: nothing
        line("4", "P2", D, pric=5000),  # no ceiling: nothing
    ]
    expected = [
        found("R1", "price_ceiling", "C1", "1", "P1", 600, pric_fen=1000, ceiling_fen=800),
        found("R1", "price_ceiling", "C1", "2", "P1", 51, pric_fen=1002, ceiling_fen=800),
    ]
    assert run("price_ceiling", {}, [claim("C1", 1, lines)], price_ceilings={"P1": 800}) == expected
    # without the policy's ceilings there is nothing to compare with
    assert run("price_ceiling", {}, [claim("C1", 1, lines)]) == []


def test_超数量_quantity_limit():
    kb = {"quantity_limits": [{"med_list_codg": "Q1", "per_line": "2"}, {"med_list_codg": "Q2", "per_day": "1"}]}
    lines = [
        line("1", "Q1", D, cnt=3, pric=300),  # 9.00 x (3 - 2) / 3 = 3.00
        line("2", "Q1", D, cnt="2.5", pric=333),  # total 8.32; 8.32 x 0.5 / 2.5 = 1.664 → 1.66
        line("3", "Q1", D, cnt=3, pric=0, total=1001),  # 10.01 x 1 / 3 = 3.3367 → 3.34 (half up)
        line("4", "Q1", D, cnt=2, pric=300),  # at the limit: nothing
        line("5", "Q2", D, cnt=5),  # no per-line limit: nothing
    ]
    expected = [
        found("R1", "quantity_limit", "C1", "1", "Q1", 300, cnt="3", limit="2"),
        found("R1", "quantity_limit", "C1", "2", "Q1", 166, cnt="2.5", limit="2"),
        found("R1", "quantity_limit", "C1", "3", "Q1", 334, cnt="3", limit="2"),
    ]
    assert run("quantity_limit", kb, [claim("C1", 1, lines)]) == expected


# --- properties ------------------------------------------------------------------------------------

SCOPE_TYPES = (
    "gender_limit", "age_limit", "med_type_limit", "hosp_lv_limit", "insutype_limit",
    "unknown_item", "price_standard", "price_ceiling", "quantity_limit",
)  # fmt: skip
CODES = ("A", "B", "C", "D")
SCOPE_KB = {
    **limits(
        A={"gend": "2", "age_min": 10, "med_types": "21"},
        B={"age_max": 40, "min_hosp_lv": 2, "insutypes": "310,390"},
        C={"gend": "1", "age_min": 5, "age_max": 30, "insutypes": "310"},
    ),
    **catalogue(("A", "1.00"), ("B", None), ("C", "0.50")),
    "quantity_limits": [{"med_list_codg": "A", "per_line": "1.5"}, {"med_list_codg": "D", "per_line": "0"}],
}
SCOPE_PACK = pack([rule(f"S{i}", t) for i, t in enumerate(SCOPE_TYPES)], SCOPE_KB, {"B": 120, "D": 0})

lines_st = st.lists(
    st.builds(
        lambda code, day, milli, pric, extra: AuditLine(
            "", code, date.fromordinal(day), milli, pric, milli * pric // 1000 + extra
        ),
        st.sampled_from(CODES),
        st.integers(date(2022, 1, 1).toordinal(), date(2022, 12, 31).toordinal()),
        st.integers(0, 5000),
        st.integers(0, 300),
        st.integers(0, 50),
    ),
    max_size=6,
)


@st.composite
def scope_claims(draw: st.DrawFn) -> tuple[list[AuditClaim], list[PersonFacts]]:
    people = [
        person(
            f"P{i}",
            gend=draw(st.sampled_from(["1", "2"])),
            brdy=draw(st.dates(date(1975, 1, 1), date(2020, 12, 31))),
        )
        for i in range(2)
    ]
    claims = []
    for n in range(draw(st.integers(1, 4))):
        lines = [replace(ln, feedetl_sn=f"{n}-{i}") for i, ln in enumerate(draw(lines_st))]
        claims.append(
            claim(
                f"C{n}", n, lines, psn_no=draw(st.sampled_from(["P0", "P1"])),
                med_type=draw(st.sampled_from(["11", "21", "41"])), hosp_lv=draw(st.integers(1, 3)),
                insutype=draw(st.sampled_from(["310", "390"])),
            )
        )  # fmt: skip
    return claims, people


@settings(max_examples=60, deadline=None)
@given(scope_claims())
def test_scope_rules_scalar_equals_columnar(case: tuple[list[AuditClaim], list[PersonFacts]]) -> None:
    """On random claims every scope rule finds the same in both forms (``audit_both`` asserts it), and
    each finding's args fill its rule type's message in both languages."""
    claims, people = case
    for f in audit_both(SCOPE_PACK, claims, people):
        zh, en = RULE_TYPES[f.rule_type].message
        item = str(f.args["item"])
        assert item in zh.format(**f.args) and item in en.format(**f.args)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(-(10**9), 10**9), min_size=1, max_size=20))
def test_counts_are_written_alike_in_both_forms(millis: list[int]) -> None:
    """A count in thousandths is written the same by both forms, and reads back as the same number."""
    written = pl.DataFrame({"c": millis}, schema={"c": pl.Int64}).select(columnar_cnt_text(pl.col("c")).alias("t"))["t"]
    assert written.to_list() == [cnt_text(m) for m in millis]
    assert [Decimal(t) * 1000 for t in written] == millis


# --- the settlement core agrees on 超限价 -----------------------------------------------------------


def _policy_with_ceiling(code: str, yuan: str) -> Any:
    A = {"value": 0, "assumed": "test"}
    benefit = {
        "label_zh": "测试",
        "label_en": "test",
        "insutype": "390",
        "med_types": ["11"],
        "ratio": {"value": 50, "assumed": "test"},
    }
    policy = {
        "identity_priority": [],
        "fee": {"class_b_selfpay_first": A, "price_ceilings": {code: {"value": yuan, "assumed": "test"}}},
        "lines": {"outpatient": benefit},
    }
    return policy_from_mapping(
        {"pack": "t", "valid_from": "2022-01-01", "valid_to": "2022-12-31", "policy": policy}, "t.yaml"
    ).at(D)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 20_000), st.integers(0, 3000), st.integers(0, 100)), min_size=1, max_size=5),
    st.integers(0, 2000),
)
def test_price_ceiling_amount_is_the_settlements_over_limit_self_pay(rows: list[tuple[int, int, int]], ceiling: int) -> None:
    """The amount of each 超限价 finding is exactly the over-limit self-pay the settlement core makes of that line."""
    lines = [
        line(str(i), "P1", D, cnt=str(Decimal(milli) / 1000), pric=pric, total=milli * pric // 1000 + extra)
        for i, (milli, pric, extra) in enumerate(rows)
    ]
    findings = run("price_ceiling", {}, [claim("C1", 1, lines)], price_ceilings={"P1": ceiling})
    yuan = str(Decimal(ceiling) / 100)
    fee_lines = tuple(
        FeeLine(ln.feedetl_sn, "P1", ln.det_item_fee_sumamt, "01", Decimal(ln.cnt_milli) / 1000, ln.pric) for ln in lines
    )
    s = settle(_policy_with_ceiling("P1", yuan), Person("P1"), None, Claim("C1", "P1", D, "11", 1, fee_lines=fee_lines))
    above = {ln.feedetl_sn for ln in lines if ln.pric > ceiling}
    # a finding on exactly the lines priced above the ceiling, each for what settlement self-pays over the limit
    assert {f.feedetl_sns[0]: f.amount for f in findings} == {
        r.feedetl_sn: r.overlmt_selfpay for r in s.fee_results if r.feedetl_sn in above
    }
    assert all(r.overlmt_selfpay == 0 for r in s.fee_results if r.feedetl_sn not in above)


def test_the_same_lines_under_two_packs_are_audited_with_each_packs_knowledge():
    """The columnar form joins the lines with the knowledge once per audit: another pack over the
    same frames (or other frames under the same pack) is not served what was joined for the first."""
    claims = [claim("C1", 1, [line("1", "H1", D)], hosp_lv=2)]
    frames = frames_of(claims, [person()])
    level2, level3 = (pack([rule("R1", "hosp_lv_limit")], limits(H1={"min_hosp_lv": lv})) for lv in (2, 3))
    for _ in range(2):
        assert findings_from_frame(audit_frames(level2, frames)) == []
        assert findings_from_frame(audit_frames(level3, frames)) == [
            found("R1", "hosp_lv_limit", "C1", "1", "H1", 100, min_hosp_lv=3, hosp_lv=2)
        ]
    other = frames_of([claim("C1", 1, [line("1", "H1", D)], hosp_lv=3)], [person()])
    assert findings_from_frame(audit_frames(level3, other)) == []
