"""The limits family: 超剂量, 超频次, 超疗程, 重复收费, 组合项目拆分, 关联缺失, 药品与诊断不符.

Each test builds claims by hand and states the findings worked out by hand; :func:`audit_both`
runs the counter's form (each claim with its history) and the ledger's form (all claims at once),
checks they agree, and returns the findings.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yibao.audit.model import AuditClaim, Finding, PersonFacts

from .util import D, audit_both, claim, line, pack, person, rule


def found(code: str, rtype: str, claim_id: str, sns: tuple[str, ...], amount: int, evidence: tuple[str, ...],
          args: dict[str, Any], result: str = "violation") -> Finding:  # fmt: skip
    return Finding(code, rtype, result, claim_id, sns, amount, evidence, args)  # type: ignore[arg-type]


def test_超剂量_dose_limit() -> None:
    p = pack([rule("XL01", "dose_limit")], {"quantity_limits": [{"med_list_codg": "X01", "per_day": "2"}]})
    claims = [
        claim("C1", 1, [line("a1", "X01", D(2022, 3, 1), "1.5")]),  # 1.5 of 2: fine
        claim("C2", 2, [
            line("b1", "X01", D(2022, 3, 1), 1),  # 2.5: 0.5 of 1 over → 50 of 100
            line("b2", "X01", D(2022, 3, 1), 1),  # 3.5: whole
            line("b3", "X01", D(2022, 3, 2), 2),  # exactly 2 on the next day: fine (boundary)
            line("b4", "Y01", D(2022, 3, 1), 10),  # no limit
        ]),
        claim("C3", 3, [
            line("c1", "X01", D(2022, 3, 3), 3, total=101),  # 1 of 3 over: 101/3 = 33.67 → 34
            line("c2", "X01", D(2022, 3, 4), 4, total=101),  # 2 of 4 over: 50.5 → 51 (half up)
        ]),
        claim("C4", 4, [line("d1", "X01", D(2022, 3, 1), "1.5")], psn_no="P2"),  # another person's day
    ]  # fmt: skip
    got = audit_both(p, claims, [person("P1"), person("P2")])

    def f(cid: str, sn: str, amount: int, day: str, cnt: str, ev: tuple[str, ...]) -> Finding:
        return found(
            "XL01", "dose_limit", cid, (sn,), amount, (*ev, "item:X01"), {"item": "X01", "day": day, "cnt": cnt, "limit": "2"}
        )

    assert got == [
        f("C2", "b1", 50, "2022-03-01", "2.5", ("claim:C1",)),
        f("C2", "b2", 100, "2022-03-01", "3.5", ("claim:C1",)),
        f("C3", "c1", 34, "2022-03-03", "3", ()),
        f("C3", "c2", 51, "2022-03-04", "4", ()),
    ]


def test_超频次_frequency_limit() -> None:
    knowledge = {"frequency_limits": [
        {"med_list_codg": "X02", "window": "week", "max_times": 2},
        {"med_list_codg": "X02", "window": "month", "max_times": 3},
        {"med_list_codg": "Z02", "window": "week", "max_times": 1},
    ]}  # fmt: skip
    p = pack([rule("PC01", "frequency_limit")], knowledge)
    claims = [
        # ISO week 2022-03-07 (Mon) .. 03-13 (Sun)
        claim("C1", 1, [line("a1", "X02", D(2022, 3, 7)), line("a2", "X02", D(2022, 3, 8))]),  # 2 a week: the limit, fine
        claim("C2", 2, [
            line("b1", "X02", D(2022, 3, 13)),  # week 3 > 2 (whole); month 3: fine
            line("b2", "X02", D(2022, 3, 14)),  # next week 1; month 4 > 3 (whole)
        ]),
        claim("C3", 3, [
            line("c1", "X02", D(2022, 3, 15), 2),  # week 3 > 2: 100 of 200; month 6 > 3: 200 → the month (larger)
            line("c2", "X02", D(2022, 3, 16)),  # week 4 and month 7: both 100 → the week (narrower)
        ]),
        # ISO week 2020-W53 runs 2020-12-28 .. 2021-01-03
        claim("C4", 4, [line("d1", "Z02", D(2020, 12, 31))], psn_no="P2"),
        claim("C5", 5, [line("e1", "Z02", D(2021, 1, 3)), line("e2", "Z02", D(2021, 1, 4))], psn_no="P2"),
    ]  # fmt: skip
    got = audit_both(p, claims, [person("P1"), person("P2")])
    week = {"window": "week", "window_label": "自然周", "window_label_en": "a calendar week", "limit": "2"}
    month = {"window": "month", "window_label": "自然月", "window_label_en": "a calendar month", "limit": "3"}

    def f(cid: str, sn: str, amount: int, ev: tuple[str, ...], args: dict[str, Any], item: str = "X02") -> Finding:
        return found("PC01", "frequency_limit", cid, (sn,), amount, (*ev, f"item:{item}"), {"item": item, **args})

    assert got == [
        f("C2", "b1", 100, ("claim:C1",), {**week, "cnt": "3"}),
        f("C2", "b2", 100, ("claim:C1",), {**month, "cnt": "4"}),
        f("C3", "c1", 200, ("claim:C1", "claim:C2"), {**month, "cnt": "6"}),
        f("C3", "c2", 100, ("claim:C2",), {**week, "cnt": "4"}),
        f("C5", "e1", 100, ("claim:C4",), {**week, "limit": "1", "cnt": "2"}, item="Z02"),
    ]


def test_超疗程_course_limit() -> None:
    p = pack([rule("LC01", "course_limit")], {"course_limits": [{"med_list_codg": "X03", "max_days": 3}]})
    claims = [
        claim("C1", 1, [  # 3 days: the limit (boundary)
            line("a1", "X03", D(2022, 3, 1)), line("a2", "X03", D(2022, 3, 2)),
            line("a3", "X03", D(2022, 3, 3)), line("a4", "X03", D(2022, 3, 1)),
        ]),
        claim("C2", 2, [  # 5 days (10..14): the 13th and 14th are beyond the first 3
            line("b1", "X03", D(2022, 3, 10)), line("b2", "X03", D(2022, 3, 12), pric=120),
            line("b3", "X03", D(2022, 3, 13), pric=130), line("b4", "X03", D(2022, 3, 11)),
            line("b5", "X03", D(2022, 3, 14), pric=140), line("b6", "X03", D(2022, 3, 13), pric=131),
            line("b7", "Y03", D(2022, 3, 20)),
        ]),
    ]  # fmt: skip
    got = audit_both(p, claims, [person()])

    def f(sn: str, amount: int, day: str) -> Finding:
        return found(
            "LC01", "course_limit", "C2", (sn,), amount, ("item:X03",), {"item": "X03", "days": 5, "limit": 3, "day": day}
        )

    assert got == [f("b3", 130, "2022-03-13"), f("b5", 140, "2022-03-14"), f("b6", 131, "2022-03-13")]


def test_重复收费_duplicate_pair() -> None:
    knowledge = {"duplicate_pairs": [
        {"main_codg": "M1", "sub_codg": "S1"}, {"main_codg": "M2", "sub_codg": "S1"}, {"main_codg": "M1", "sub_codg": "S2"},
    ]}  # fmt: skip
    p = pack([rule("CF01", "duplicate_pair")], knowledge)
    claims = [
        claim("C1", 1, [
            line("a", "M1", D(2022, 3, 1)), line("b", "S1", D(2022, 3, 1), pric=30),  # S1 with M1 the same day
            line("c", "S2", D(2022, 3, 3)),  # M1 is on other days: fine
            line("d", "M2", D(2022, 3, 2)), line("e", "M1", D(2022, 3, 2)), line("f", "S1", D(2022, 3, 2), 2, pric=30),
        ]),
        claim("C2", 2, [line("g", "S1", D(2022, 3, 1))]),  # M1 was charged that day, but in another claim: fine
    ]  # fmt: skip
    got = audit_both(p, claims, [person()])
    assert got == [
        found("CF01", "duplicate_pair", "C1", ("b",), 30, ("item:M1", "item:S1"), {"item": "S1", "main": "M1"}),
        found("CF01", "duplicate_pair", "C1", ("f",), 60, ("item:M1", "item:M2", "item:S1"), {"item": "S1", "main": "M1,M2"}),
    ]


def test_组合项目拆分_bundle_split() -> None:
    knowledge = {
        "bundles": [
            {"bundle_codg": b, "part_codg": q}
            for b, q in (("B1", "P1"), ("B1", "P2"), ("B1", "P3"), ("B2", "Q1"), ("B2", "Q2"), ("B3", "Q1"), ("B3", "Q2"))
        ],
        "catalogue": [
            {"med_list_codg": "B1", "med_list_name": "组合甲", "kind": "item", "std_pric": "5.00"},
            {"med_list_codg": "B3", "med_list_name": "组合丙", "kind": "item", "std_pric": "1.00"},
        ],
    }
    p = pack([rule("FJ01", "bundle_split")], knowledge)
    claims = [
        claim("C1", 1, [
            line("a", "P1", D(2022, 3, 1), pric=200), line("b", "P1", D(2022, 3, 2), pric=999),  # alone on the 2nd: fine
            line("c", "P2", D(2022, 3, 1), pric=250), line("d", "P1", D(2022, 3, 1), pric=100),
            # the bundle itself charged on the 3rd: fine
            line("e", "P1", D(2022, 3, 3)), line("f", "P2", D(2022, 3, 3)), line("g", "B1", D(2022, 3, 3)),
        ]),
        # B2 (no standard: 700) and B3 (same parts, 700 − 100 = 600) name the same lines: the larger kept
        claim("C2", 2, [line("h", "Q1", D(2022, 3, 1), pric=300), line("i", "Q2", D(2022, 3, 1), pric=400)]),
        claim("C3", 3, [line("j", "P2", D(2022, 3, 5)), line("k", "P3", D(2022, 3, 5))]),  # 200 < standard 500: 0 at stake
    ]  # fmt: skip
    got = audit_both(p, claims, [person()])

    def f(cid: str, sns: tuple[str, ...], amount: int, bundle: str, day: str, parts_fen: int, std: int | None) -> Finding:
        args: dict[str, Any] = {"bundle": bundle, "parts": 2, "day": day, "parts_fen": parts_fen}
        args |= {"basis": "parts"} if std is None else {"basis": "std_pric", "std_fen": std}
        return found("FJ01", "bundle_split", cid, sns, amount, (f"date:{day}", f"item:{bundle}"), args)

    assert got == [
        f("C1", ("a", "c", "d"), 550 - 500, "B1", "2022-03-01", 550, 500),
        f("C2", ("h", "i"), 700, "B2", "2022-03-01", 700, None),
        f("C3", ("j", "k"), 0, "B1", "2022-03-05", 200, 500),
    ]
    # three distinct parts needed: none of the claims above has three
    strict = pack([rule("FJ01", "bundle_split", params={"min_parts": {"value": 3, "assumed": "test"}})], knowledge)
    assert audit_both(strict, claims, [person()]) == []


def test_关联缺失_missing_required() -> None:
    knowledge = {"requirements": [
        {"med_list_codg": "R1", "requires_codg": "K1"},
        {"med_list_codg": "R2", "requires_dise": "J45"}, {"med_list_codg": "R2", "requires_dise": "J44"},
        {"med_list_codg": "R3", "requires_codg": "K1", "requires_dise": "E11"},
    ]}  # fmt: skip
    p = pack([rule("GL01", "missing_required")], knowledge)
    day = D(2022, 3, 1)
    claims = [
        claim("C1", 1, [line("a1", "R1", day), line("a2", "R2", day)], dise_codg="J45.001"),  # R1 lacks K1; R2 fine
        claim("C2", 2, [line("b1", "R2", day), line("b2", "R1", day), line("b3", "K1", day)]),  # no diagnosis: R2 unevaluable
        claim("C3", 3, [line("c1", "R3", day), line("c2", "R2", day)], dise_codg="I10"),  # both wrong
        claim("C4", 4, [line("d1", "R3", day), line("d2", "K1", day)]),  # K1 there, no diagnosis: unevaluable
        claim("C5", 5, [line("e1", "R3", day)]),  # K1 missing: a violation whatever the diagnosis
        claim("C6", 6, [line("f1", "R2", day)], dise_codg="J44"),  # the prefix itself (boundary): fine
    ]
    got = audit_both(p, claims, [person()])

    def f(cid: str, sn: str, item: str, required: str, dise: str, result: str = "violation") -> Finding:
        args = {"item": item, "required": required, "dise_codg": dise}
        return found("GL01", "missing_required", cid, (sn,), 100, (f"item:{item}",), args, result)

    assert got == [
        f("C1", "a1", "R1", "K1", "J45.001"),
        f("C2", "b1", "R2", "J44*,J45*", "", "unevaluable"),
        f("C3", "c1", "R3", "K1,E11*", "I10"),
        f("C3", "c2", "R2", "J44*,J45*", "I10"),
        f("C4", "d1", "R3", "E11*", "", "unevaluable"),
        f("C5", "e1", "R3", "K1,E11*", ""),
    ]


def test_药品与诊断不符_diagnosis_mismatch() -> None:
    knowledge = {"indications": [{"med_list_codg": "G1", "dise_prefix": "E11"}, {"med_list_codg": "G1", "dise_prefix": "E10"}]}
    p = pack([rule("SY01", "diagnosis_mismatch", result="suspicious")], knowledge)
    day = D(2022, 3, 1)
    claims = [
        claim("C1", 1, [line("a", "G1", day), line("a2", "H9", day)], dise_codg="E11.900"),  # indicated
        claim("C2", 2, [line("b", "G1", day, 2)], dise_codg="I10"),  # not indicated
        claim("C3", 3, [line("c", "G1", day)]),  # no diagnosis: unevaluable
        claim("C4", 4, [line("d", "G1", day)], dise_codg="E10"),  # the prefix itself (boundary): indicated
        claim("C5", 5, [line("e", "G1", day)], dise_codg="E1"),  # shorter than every prefix: not indicated
    ]
    got = audit_both(p, claims, [person()])

    def f(cid: str, sn: str, amount: int, dise: str, result: str = "suspicious") -> Finding:
        args = {"item": "G1", "indications": "E10*,E11*", "dise_codg": dise}
        return found("SY01", "diagnosis_mismatch", cid, (sn,), amount, ("item:G1",), args, result)

    assert got == [f("C2", "b", 200, "I10"), f("C3", "c", 100, "", "unevaluable"), f("C5", "e", 100, "E1")]


# --- scalar == columnar over random claims, for the whole family ---------------------------------------------------

ITEMS = ("A", "B", "C", "D")
FAMILY = (
    "dose_limit",
    "frequency_limit",
    "course_limit",
    "duplicate_pair",
    "bundle_split",
    "missing_required",
    "diagnosis_mismatch",
)


def _rows(keys: tuple[str, ...], *values: tuple[Any, ...]) -> list[dict[str, Any]]:
    return [dict(zip(keys, v, strict=True)) for v in values]


LIMITS_PACK = pack(
    [rule(f"L{i}", t) for i, t in enumerate(FAMILY)],
    {
        "quantity_limits": _rows(("med_list_codg", "per_day"), ("A", "1.5"), ("B", "2")),
        "frequency_limits": _rows(
            ("med_list_codg", "window", "max_times"),
            ("A", "week", "3"), ("A", "month", "4.5"), ("C", "day", "1"), ("C", "quarter", "6"), ("B", "year", "7"),
        ),
        "course_limits": _rows(("med_list_codg", "max_days"), ("A", 2), ("D", 1)),
        "duplicate_pairs": _rows(("main_codg", "sub_codg"), ("A", "B"), ("C", "B"), ("D", "D")),
        "bundles": _rows(("bundle_codg", "part_codg"), ("D", "A"), ("D", "B"), ("D", "C"), ("C", "A"), ("C", "B")),
        "catalogue": _rows(("med_list_codg", "med_list_name", "kind", "std_pric"), ("D", "组合", "item", "3")),
        "requirements": [{"med_list_codg": "B", "requires_codg": "C"}, {"med_list_codg": "C", "requires_dise": "J4"}],
        "indications": _rows(("med_list_codg", "dise_prefix"), ("D", "E1"), ("D", "J45")),
    },
)  # fmt: skip


@st.composite
def claims_of(draw: st.DrawFn) -> list[AuditClaim]:
    out: list[AuditClaim] = []
    for seq in range(draw(st.integers(1, 7))):
        lines = [
            line(
                f"{seq}-{i}",
                draw(st.sampled_from(ITEMS)),
                D(2022, 3, 25) + timedelta(days=draw(st.integers(0, 12))),
                draw(st.sampled_from(("0", "0.5", "1", "1.5", "2", "3"))),
                draw(st.integers(1, 500)),
            )
            for i in range(draw(st.integers(0, 6)))
        ]
        out.append(
            claim(
                f"C{seq}",
                seq,
                lines,
                psn_no=draw(st.sampled_from(("P1", "P2"))),
                dise_codg=draw(st.sampled_from(("", "J45.1", "E11", "I10"))),
            )
        )
    return out


@pytest.mark.slow
@settings(max_examples=150, deadline=None)
@given(claims_of())
def test_limits_scalar_and_columnar_agree(claims: list[AuditClaim]) -> None:
    people: list[PersonFacts] = [person("P1"), person("P2")]
    found_ = audit_both(LIMITS_PACK, claims, people)  # asserts the two forms agree
    assert len({f.key() for f in found_}) == len(found_)  # a finding is known by its claim, rule and lines
    for f in found_:
        assert 0 <= f.amount <= sum(ln.det_item_fee_sumamt for c in claims if c.claim_id == f.claim_id for ln in c.lines)
