"""就医行为 rules, one test per type, each finding worked out by hand and checked in both forms
(:func:`tests.audit.util.audit_both`: each claim at the counter with its history = all claims at once).
"""

from __future__ import annotations

from yibao.audit.engine import audit_claim, audit_frames
from yibao.audit.model import AuditClaim, Finding, History, Stay, findings_from_frame, frames_of

from .util import D, audit_both, claim, line, pack, person, rule


def _p(value: int) -> dict[str, object]:
    return {"value": value, "assumed": "test"}


def _f(
    code: str,
    rtype: str,
    claim_id: str,
    amount: int,
    evidence: tuple[str, ...],
    args: dict[str, str | int],
    result: str = "violation",
) -> Finding:
    return Finding(code, rtype, result, claim_id, (), amount, evidence, args)  # type: ignore[arg-type]


def _admission(cid: str, seq: int, beg: D, end: D, dise: str, amount: int, psn_no: str = "P1", inst: str = "H1") -> AuditClaim:
    """An admission with one line of ``amount`` fen."""
    lines = [line(f"{cid}-1", "B01", beg, 1, amount)]
    return claim(cid, seq, lines, med_type="21", begndate=beg, enddate=end, dise_codg=dise, psn_no=psn_no, fixmedins_code=inst)


def test_分解住院_split_admission() -> None:
    """Anhui's pack pays more for one stay split into three: three back-to-back admissions for hypertension
    (I10.x) — the 2nd (0 days after the 1st's discharge) and the 3rd (5 days after the 2nd's) are flagged."""
    claims = [
        _admission("A1", 1, D(2022, 3, 1), D(2022, 3, 10), "I10.x01", 300000),
        _admission("A2", 2, D(2022, 3, 10), D(2022, 3, 20), "I10.x02", 250000),
        _admission("A3", 3, D(2022, 3, 25), D(2022, 4, 2), "I10.x05", 200000),
        # 16 days after A3's discharge: beyond 15 days
        _admission("A4", 4, D(2022, 4, 18), D(2022, 4, 20), "I10.x01", 1000),
        # 2 days after A4, another disease group (J18 pneumonia)
        _admission("A5", 5, D(2022, 4, 22), D(2022, 4, 25), "J18.900", 2000),
        # an outpatient visit between stays is not an admission
        claim("V1", 6, [line("V1-1", "A01", D(2022, 4, 26))]),
    ]
    found = audit_both(pack([rule("ZY001", "split_admission", result="suspicious")]), claims, [person()])
    assert found == [
        _f(
            "ZY001",
            "split_admission",
            "A2",
            250000,
            ("claim:A1",),
            {"gap": 0, "days": 15, "group": "I10", "prev": "A1"},
            "suspicious",
        ),
        _f(
            "ZY001",
            "split_admission",
            "A3",
            200000,
            ("claim:A2",),
            {"gap": 5, "days": 15, "group": "I10", "prev": "A2"},
            "suspicious",
        ),
    ]
    # 20 days catch A4 (16 days after A3); the latest earlier discharge is the one named
    wide = pack([rule("ZY001", "split_admission", params={"days": _p(20)})])
    assert [(f.claim_id, f.args["prev"], f.args["gap"]) for f in audit_both(wide, claims, [person()])] == [
        ("A2", "A1", 0),
        ("A3", "A2", 5),
        ("A4", "A3", 16),
    ]
    # a group of one character: I10 and J18 differ still; of none, every re-admission counts
    loose = pack([rule("ZY001", "split_admission", params={"prefix": _p(0)})])
    assert [f.claim_id for f in audit_both(loose, claims, [person()])] == ["A2", "A3", "A5"]


def test_分解住院_split_admission_without_a_diagnosis_is_unevaluable() -> None:
    claims = [
        _admission("A1", 1, D(2022, 3, 1), D(2022, 3, 10), "", 5000),
        _admission("A2", 2, D(2022, 3, 12), D(2022, 3, 20), "I10.x02", 7000),
        # another person's admission is never evidence
        _admission("B1", 3, D(2022, 3, 1), D(2022, 3, 2), "I10.x02", 100, psn_no="P2"),
    ]
    found = audit_both(pack([rule("ZY001", "split_admission")]), claims, [person(), person("P2")])
    assert found == [
        _f(
            "ZY001", "split_admission", "A2", 7000, ("claim:A1",),
            {"gap": 2, "days": 15, "group": "I10", "prev": "A1", "missing": "dise_codg"}, "unevaluable",
        )
    ]  # fmt: skip


def test_挂床住院_bed_hanging() -> None:
    """Inpatient at H1 from 03-01 to 03-10; settled before the discharge: a visit at H2 on 03-03, purchases at
    a pharmacy H3 on 03-03 and 03-05 (2 distinct days), a visit at H1 itself (same institution, not counted)
    and a visit at H2 on 03-12 (after discharge). A visit at H2 on 03-06 settled after the admission is not
    in its history."""
    claims = [
        claim("O1", 1, [line("O1-1", "A01", D(2022, 3, 3), pric=1500)], fixmedins_code="H2"),
        claim("O2", 2, [line("O2-1", "C01", D(2022, 3, 3))], fixmedins_code="H3", med_type="41"),
        claim("O3", 3, [line("O3-1", "C01", D(2022, 3, 5))], fixmedins_code="H3", med_type="41"),
        claim("O4", 4, [line("O4-1", "A01", D(2022, 3, 4))], fixmedins_code="H1"),
        claim("O5", 5, [line("O5-1", "A01", D(2022, 3, 12))], fixmedins_code="H2"),
        _admission("A1", 6, D(2022, 3, 1), D(2022, 3, 10), "K35.8", 800000),
        claim("O6", 7, [line("O6-1", "A01", D(2022, 3, 6))], fixmedins_code="H2"),
    ]
    found = audit_both(pack([rule("GC001", "bed_hanging", result="suspicious")]), claims, [person()])
    assert found == [
        _f(
            "GC001", "bed_hanging", "A1", 800000, ("claim:O1", "claim:O2", "claim:O3", "date:2022-03-03", "date:2022-03-05"),
            {"n": 2, "dates": "2022-03-03, 2022-03-05"}, "suspicious",
        )
    ]  # fmt: skip
    assert audit_both(pack([rule("GC001", "bed_hanging", params={"min_days": _p(3)})]), claims, [person()]) == []


def test_住院期间门诊结算_outpatient_during_stay() -> None:
    """Stay 1 at H1 03-01..03-10 settled first: visits on 03-05 and on the discharge day are within it, one
    on 03-11 is not. Stay 2 at H2 from 04-01 is settled last: a purchase on 04-03 was settled while the
    person was in hospital (an open stay at the counter)."""
    claims = [
        _admission("A1", 1, D(2022, 3, 1), D(2022, 3, 10), "K35.8", 500000),
        claim("O1", 2, [line("O1-1", "A01", D(2022, 3, 5), pric=2000)], fixmedins_code="H1"),
        claim("O2", 3, [line("O2-1", "A01", D(2022, 3, 10), pric=3000)], fixmedins_code="H2"),
        claim("O3", 4, [line("O3-1", "A01", D(2022, 3, 11))]),
        claim("O4", 5, [line("O4-1", "C01", D(2022, 4, 3), pric=700)], fixmedins_code="H3", med_type="41"),
        _admission("A2", 6, D(2022, 4, 1), D(2022, 4, 10), "K35.8", 400000, inst="H2"),
    ]
    found = audit_both(pack([rule("ZM001", "outpatient_during_stay")]), claims, [person()])
    assert found == [
        _f("ZM001", "outpatient_during_stay", "O1", 2000, ("claim:A1",), {"day": "2022-03-05", "stay": "H1 2022-03-01"}),
        _f("ZM001", "outpatient_during_stay", "O2", 3000, ("claim:A1",), {"day": "2022-03-10", "stay": "H1 2022-03-01"}),
        _f("ZM001", "outpatient_during_stay", "O4", 700, ("claim:A2",), {"day": "2022-04-03", "stay": "H2 2022-04-01"}),
    ]
    # at the counter: a stay registered (2401) and not discharged is known by its mdtrt_id only
    visit = claim("O9", 9, [line("O9-1", "A01", D(2022, 5, 2))])
    stays = (Stay("M77", "H3", D(2022, 5, 1)), Stay("M78", "H3", D(2022, 4, 20), D(2022, 4, 30)))
    got = audit_claim(pack([rule("ZM001", "outpatient_during_stay")]), visit, person(), History((), stays))
    assert got == [
        _f("ZM001", "outpatient_during_stay", "O9", 100, ("claim:M77",), {"day": "2022-05-02", "stay": "H3 2022-05-01"})
    ]


def test_死亡后就医_after_death() -> None:
    """Death recorded on 03-10: a visit on 03-12 and an admission from 03-05 with a line on 03-11 are care after
    death (the earliest such day named); a visit on 03-09 is not. Nobody else has a death recorded."""
    claims = [
        claim("V1", 1, [line("V1-1", "A01", D(2022, 3, 9))]),
        claim("V2", 2, [line("V2-1", "A01", D(2022, 3, 12), 2, 150)]),
        claim(
            "A1", 3,
            [line("A1-1", "B01", D(2022, 3, 5), 1, 900), line("A1-2", "B02", D(2022, 3, 11), 1, 100),
             line("A1-3", "B02", D(2022, 3, 12), 1, 50)],
            med_type="21", begndate=D(2022, 3, 5), enddate=D(2022, 3, 12),
        ),
        claim("W1", 4, [line("W1-1", "A01", D(2022, 3, 12))], psn_no="P2"),
    ]  # fmt: skip
    people = [person(death_date=D(2022, 3, 10)), person("P2")]
    found = audit_both(pack([rule("SW001", "after_death")]), claims, people)
    assert found == [
        _f("SW001", "after_death", "A1", 1050, ("date:2022-03-10",), {"day": "2022-03-11", "death": "2022-03-10"}),
        _f("SW001", "after_death", "V2", 300, ("date:2022-03-10",), {"day": "2022-03-12", "death": "2022-03-10"}),
    ]


def test_同日多次就诊_same_day_visits() -> None:
    """Visits on 03-01 at H1, H2, H3 (settled in that order) and a pharmacy purchase the same day (not a
    visit), a visit on 03-02: one visit a day allowed, the 2nd and 3rd are flagged."""
    claims = [
        claim("C1", 1, [line("C1-1", "A01", D(2022, 3, 1))], fixmedins_code="H1"),
        claim("C2", 2, [line("C2-1", "A01", D(2022, 3, 1), pric=120)], fixmedins_code="H2"),
        claim("C3", 3, [line("C3-1", "A01", D(2022, 3, 1), pric=130)], fixmedins_code="H3", med_type="14"),
        claim("C4", 4, [line("C4-1", "C01", D(2022, 3, 1))], fixmedins_code="H3", med_type="41"),
        claim("C5", 5, [line("C5-1", "A01", D(2022, 3, 2))], fixmedins_code="H1"),
        claim("D1", 6, [line("D1-1", "A01", D(2022, 3, 1))], psn_no="P2"),
    ]
    people = [person(), person("P2")]
    found = audit_both(pack([rule("TR001", "same_day_visits", result="suspicious")]), claims, people)
    assert found == [
        _f("TR001", "same_day_visits", "C2", 120, ("claim:C1",), {"n": 2, "others": "C1"}, "suspicious"),
        _f("TR001", "same_day_visits", "C3", 130, ("claim:C1", "claim:C2"), {"n": 3, "others": "C1, C2"}, "suspicious"),
    ]
    two = pack([rule("TR001", "same_day_visits", params={"max_visits": _p(2)})])
    assert [f.claim_id for f in audit_both(two, claims, people)] == ["C3"]


def test_异常高频_high_frequency() -> None:
    """March visits: P1 6, P2 1, P3 2, P4 3 (N = 4). The 75th percentile by nearest rank is the
    ceil(0.75 × 4) = 3rd smallest of 1, 2, 3, 6: 3 visits. With min_visits 4, P1's 5th and 6th visits are
    beyond max(3, 4) = 4; with min_visits 0, P1's 4th to 6th. April's single visit is not flagged. Only
    after settlement, only in the columnar form."""
    claims = []
    seq = 0
    for psn, n in (("P1", 6), ("P2", 1), ("P3", 2), ("P4", 3)):
        for i in range(n):
            seq += 1
            claims.append(
                claim(f"{psn}-{i + 1}", seq, [line(f"{psn}-{i + 1}-1", "A01", D(2022, 3, 1 + i), pric=100 + i)], psn_no=psn)
            )
    claims.append(claim("P1-apr", seq + 1, [line("P1-apr-1", "A01", D(2022, 4, 1))], psn_no="P1"))
    people = [person(p) for p in ("P1", "P2", "P3", "P4")]

    def run(pct: int, min_visits: int) -> list[Finding]:
        hf = rule("GP001", "high_frequency", result="suspicious", stages=["post"],
                  params={"percentile": _p(pct), "min_visits": _p(min_visits)})  # fmt: skip
        return findings_from_frame(audit_frames(pack([hf]), frames_of(claims, people), "post"))

    def hf(cid: str, amount: int, earlier: int, threshold: int) -> Finding:
        ev = tuple(f"claim:P1-{i}" for i in range(1, earlier + 1))
        args: dict[str, str | int] = {"month": "2022-03", "visits": 6, "percentile": 75, "threshold": threshold}
        return _f("GP001", "high_frequency", cid, amount, ev, args, "suspicious")

    assert run(75, 4) == [hf("P1-5", 104, 4, 3), hf("P1-6", 105, 5, 3)]
    assert run(75, 0) == [hf("P1-4", 103, 3, 3), hf("P1-5", 104, 4, 3), hf("P1-6", 105, 5, 3)]
    # 50th percentile: the 2nd smallest (2 visits): P4's 3rd visit too
    assert [(f.claim_id, f.args["threshold"]) for f in run(50, 0)] == [
        ("P1-3", 2),
        ("P1-4", 2),
        ("P1-5", 2),
        ("P1-6", 2),
        ("P4-3", 2),
    ]
    # 100th: the largest; nobody is above it
    assert run(100, 0) == []
    # not at the counter: the type has no scalar form and may not run before settlement
    assert (
        audit_claim(
            pack([rule("GP001", "high_frequency", stages=["post"])]), claims[5], people[0], History(tuple(claims[:5])), "post"
        )
        == []
    )
