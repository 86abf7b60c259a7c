"""Warning rules as pack data, the monitoring run over a claims frame, and the follow-up steps (pure)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from yibao import policy as policy_pkg
from yibao.core.errors import InputError, InputErrors
from yibao.policy.pack import load_pack, pack_from_mapping, shipped_packs
from yibao.policy.schema import Monitoring
from yibao.rules import claims as C
from yibao.rules.monitoring import evaluate, parse_period, previous_period
from yibao.rules.warning_workflow import NEXT, STATUSES, check_step

_LINCANG = load_pack("yunnan-lincang-2023").at(date(2023, 6, 1)).monitoring
assert _LINCANG is not None
LINCANG: Monitoring = _LINCANG


def claim(psn: str, day: str, *, inscp: int, fund: int, self_pay: int | None = None, line: str = "inpatient",
          identity: str = "tuopin", sid: str | None = None) -> dict[str, Any]:  # fmt: skip
    d = date.fromisoformat(day)
    return {
        "setl_id": sid or f"S-{psn}-{day}", "psn_no": psn, "setl_date": d, "med_type": "21", "line": line,
        "identity": identity, "fixmedins_code": "H1", "medfee_sumamt": inscp + 1000, "fulamt_ownpay_amt": 1000,
        "overlmt_selfpay": 0, "preselfpay_amt": 0, "inscp_scp_amt": inscp, "hifp_pay": fund, "hifmi_pay": 0, "maf_pay": 0,
        "oth_pay": 0, "fund_pay_sumamt": fund, "psn_part_amt": self_pay if self_pay is not None else inscp + 1000 - fund,
        "psn_name": psn, "certno": None, "hh_no": "H" + psn, "county": "临翔区", "township": "章驮乡", "village": "南寨村",
    }  # fmt: skip


def frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    df = pl.DataFrame(rows, schema={k: v for k, v in C.SCHEMA.items() if k not in ("year", "month")})
    return df.with_columns(pl.col("setl_date").dt.year().cast(pl.Int32).alias("year"), pl.lit("").alias("month")).select(
        list(C.SCHEMA)
    )


def test_periods_are_months_or_quarters_and_bad_ones_name_the_field() -> None:
    may = parse_period("2023-05")
    assert (may.start, may.end, may.kind) == (date(2023, 5, 1), date(2023, 5, 31), "month")
    q2 = parse_period("2023-Q2")
    assert (q2.start, q2.end, q2.kind) == (date(2023, 4, 1), date(2023, 6, 30), "quarter")
    assert parse_period("2024-02").end == date(2024, 2, 29)
    assert previous_period(date(2023, 1, 15)).code == "2022-12"
    assert previous_period(date(2023, 5, 1), "quarter").code == "2023-Q1"
    for bad in ("2023-13", "2023-5", "23-05", "2023-Q5", "", "2023/05"):
        with pytest.raises(InputError) as e:
            parse_period(bad)
        assert e.value.field == "period" and e.value.value == bad


def test_lincang_cumulative_inpatient_policy_range_self_pay_over_7000() -> None:
    # P1 (脱贫): two admissions, policy-range self-pay 4000 + 3500 = 7500 > 7000 after the second (in May)
    # P2 (脱贫): exactly 7000 is not "超过" 7000
    # P3 (ordinary): policy-range self-pay 9000 but not watched by the warning rule (a candidate instead, below)
    # P4 (脱贫): a chronic-outpatient claim does not count for the inpatient-only rule
    rows = [
        claim("P1", "2023-02-10", inscp=10_000_00, fund=6_000_00),
        claim("P1", "2023-05-03", inscp=10_000_00, fund=6_500_00),
        claim("P2", "2023-03-01", inscp=20_000_00, fund=13_000_00),
        claim("P3", "2023-04-01", inscp=20_000_00, fund=11_000_00, identity="ordinary"),
        claim("P4", "2023-04-01", inscp=20_000_00, fund=0, line="chronic"),
    ]
    april = evaluate(frame(rows), LINCANG, parse_period("2023-04"))
    assert april.filter(pl.col("kind") == "warning").height == 0  # P1 was at 4000 in April
    may = evaluate(frame(rows), LINCANG, parse_period("2023-05"))
    assert may.filter(pl.col("kind") == "warning")["psn_no"].to_list() == ["P1"]  # not P2 (exactly 7000), not P4
    w = may.filter(pl.col("kind") == "warning").row(0, named=True)
    assert (w["psn_no"], w["measure_amt"], w["threshold_amt"], w["excess_amt"]) == ("P1", 7_500_00, 7_000_00, 500_00)
    assert w["crossing_setl_id"] == "S-P1-2023-05-03" and w["setl_ids"] == ["S-P1-2023-02-10", "S-P1-2023-05-03"]
    assert (w["key"], w["year"], w["hh_no"], w["village"]) == ("2023", 2023, "HP1", "南寨村")
    # the candidate rule: ordinary residents, all self-pay (psn_part_amt) on inpatient and chronic lines above 7500
    # P3 pays 20000 + 10 (fully self-paid, see claim()) − 11000 = 9010 yuan > 7500
    cand = may.filter(pl.col("kind") == "candidate")
    assert cand["psn_no"].to_list() == ["P3"] and cand["measure_amt"].to_list() == [9_010_00]


def test_the_watched_identity_is_the_latest_counted_settlements() -> None:
    rows = [
        claim("P1", "2023-01-10", inscp=10_000_00, fund=2_000_00, identity="ordinary"),
        claim("P1", "2023-03-10", inscp=1_000_00, fund=0, identity="jiance"),
    ]
    out = evaluate(frame(rows), LINCANG, parse_period("2023-03"))
    assert out.filter(pl.col("kind") == "warning")["identity"].to_list() == ["jiance"]


def _mapping_with(rule: dict[str, Any], per_capita: object = None) -> dict[str, Any]:
    pack_file = Path(policy_pkg.__file__).parent / "packs" / "yunnan-lincang-2023.yaml"
    raw: dict[str, Any] = yaml.safe_load(pack_file.read_text("utf-8"))
    mon: dict[str, Any] = {"rules": {"r": rule}}
    if per_capita is not None:
        mon["per_capita_income"] = per_capita
    return raw | {"policy": raw["policy"] | {"monitoring": mon}}


RULE = {"label_zh": "测试", "label_en": "test", "categories": ["tuopin"], "lines": ["inpatient"], "measure": "self_pay"}


def test_claim_scope_rule_with_an_income_share_line() -> None:
    # per-claim rule: one settlement's self-pay above 20% of 15000 = 3000 yuan, only settlements in the period count
    pack = pack_from_mapping(
        _mapping_with(RULE | {"scope": "claim", "threshold_income_share": {"value": 20, "assumed": "t"}},
                      {"value": 15000, "assumed": "t"}), "t.yaml"
    )  # fmt: skip
    mon = pack.at(date(2023, 6, 1)).monitoring
    assert mon is not None and mon.threshold("r") == 3_000_00
    rows = [
        claim("P1", "2023-04-30", inscp=0, fund=0, self_pay=5_000_00),  # April: not in May's run
        claim("P1", "2023-05-02", inscp=0, fund=0, self_pay=3_000_01),
        claim("P1", "2023-05-20", inscp=0, fund=0, self_pay=3_000_00),  # exactly the line: no
    ]
    out = evaluate(frame(rows), mon, parse_period("2023-05"))
    assert out["key"].to_list() == ["S-P1-2023-05-02"] and out["excess_amt"].to_list() == [1]


@pytest.mark.parametrize(
    ("change", "field_part"),
    [
        ({"threshold": {"value": 7000, "assumed": "t"}, "threshold_income_share": {"value": 50, "assumed": "t"}}, "exactly one"),
        ({}, "exactly one"),
        ({"threshold": {"value": 7000, "assumed": "t"}, "lines": ["no_such_line"]}, "unknown benefit lines"),
        ({"threshold": {"value": 7000, "assumed": "t"}, "push_to": ["police"]}, "unknown bureaus"),
        ({"threshold": {"value": 7000, "assumed": "t"}, "categories": ["martian"]}, "martian"),
        ({"threshold_income_share": {"value": 50, "assumed": "t"}}, "per_capita_income"),
        ({"threshold": {"value": 7000, "assumed": "t"}, "measure": "income"}, "measure"),
        ({"threshold": 7000}, "source"),
    ],
)
def test_bad_rules_are_refused_naming_what_is_wrong(change: dict[str, Any], field_part: str) -> None:
    with pytest.raises((InputError, InputErrors)) as e:
        pack_from_mapping(_mapping_with(RULE | change), "t.yaml")
    assert field_part in str(e.value)


def test_workflow_steps() -> None:
    assert set(NEXT) == set(STATUSES)
    check_step("w", "new", "pushed", bureaus=("civil_affairs",))
    with pytest.raises(InputError) as e:
        check_step("w", "new", "pushed")
    assert e.value.field == "bureau"
    with pytest.raises(InputError) as e:
        check_step("w", "new", "assisted", amount=100, setl_id="S1")
    assert e.value.field == "to" and "已推送" in e.value.expected
    with pytest.raises(InputError) as e:
        check_step("w", "at_risk", "assisted", amount=0, setl_id="S1")
    assert e.value.field == "amount"
    with pytest.raises(InputError) as e:
        check_step("w", "at_risk", "assisted", amount=100)
    assert e.value.field == "setl_id"
    with pytest.raises(InputError) as e:
        check_step("w", "new", "closed")
    assert e.value.field == "note"
    check_step("w", "new", "closed", note="已核实为重复记录")
    with pytest.raises(InputError):
        check_step("w", "closed", "pushed", bureaus=("civil_affairs",))


amounts = st.integers(min_value=0, max_value=3_000_000)


SPECS = st.lists(st.tuples(st.sampled_from(["A", "B", "C"]), st.integers(1, 12), amounts, amounts), min_size=1, max_size=25)


@pytest.mark.slow  # with the 60 examples of the quick one below, the full suite draws 200
@settings(max_examples=140, deadline=None)
@given(SPECS)
def test_a_year_warning_is_exactly_the_cumulative_measure_over_the_line_many(spec: list[tuple[str, int, int, int]]) -> None:
    test_a_year_warning_is_exactly_the_cumulative_measure_over_the_line.hypothesis.inner_test(spec)  # type: ignore[attr-defined]


@settings(max_examples=60, deadline=None)
@given(SPECS)
def test_a_year_warning_is_exactly_the_cumulative_measure_over_the_line(spec: list[tuple[str, int, int, int]]) -> None:
    """Whatever the claims: a person is warned in month m iff their Jan..m policy-range self-pay exceeds the line,
    the warning's amount is that sum, and the crossing settlement is the first at which the running sum passed it."""
    rows = [claim(p, f"2023-{m:02d}-15", inscp=a + f, fund=f, sid=f"S{i:03d}") for i, (p, m, a, f) in enumerate(spec)]
    df = frame(rows)
    for month in (3, 12):
        got = evaluate(df, LINCANG, parse_period(f"2023-{month:02d}")).filter(pl.col("kind") == "warning")
        for person in ("A", "B", "C"):
            mine = sorted((r["setl_date"], r["setl_id"], r["inscp_scp_amt"] - r["fund_pay_sumamt"])
                          for r in rows if r["psn_no"] == person and r["setl_date"].month <= month)  # fmt: skip
            total = sum(m for _, _, m in mine)
            row = got.filter(pl.col("psn_no") == person)
            assert row.height == (1 if total > 7_000_00 else 0)
            if row.height:
                running, crossing = 0, None
                for _, sid, m in mine:
                    running += m
                    if crossing is None and running > 7_000_00:
                        crossing = sid
                assert row["measure_amt"][0] == total and row["crossing_setl_id"][0] == crossing


def test_shipped_monitoring_blocks_resolve() -> None:
    warned = set()
    for name in shipped_packs():
        pack = load_pack(name)
        mon = pack.at(pack.valid_from).monitoring
        if mon is not None:
            assert isinstance(mon, Monitoring) and any(r.kind == "warning" for r in mon.rules.values()), name
            warned.add(name)
    # the seeds that ask for a warning rule: 000 Lincang, 001 Hainan, 002 Jiangjin, 003 Huaibei
    assert {"yunnan-lincang-2023", "hainan-2023", "chongqing-jiangjin-2023", "anhui-huaibei-2022"} <= warned


def test_a_warning_carries_its_households_own_payments() -> None:
    # P1 and P2 share household H; P1 crosses the 7000 line, P2 only pays a little (all lines count for the household)
    rows = [
        claim("P1", "2023-02-10", inscp=10_000_00, fund=2_000_00) | {"hh_no": "H"},
        claim("P2", "2023-02-11", inscp=100_00, fund=50_00, line="outpatient") | {"hh_no": "H"},
        claim("P2", "2023-07-01", inscp=100_00, fund=0, line="outpatient") | {"hh_no": "H"},  # after the period
    ]
    w = evaluate(frame(rows), LINCANG, parse_period("2023-02")).filter(pl.col("kind") == "warning").row(0, named=True)
    # P1 pays 10,000 + 10 − 2,000 = 8,010; P2 pays 100 + 10 − 50 = 60 by February: 8,070 yuan from two members
    assert (w["psn_no"], w["hh_self_pay"], w["hh_persons"]) == ("P1", 8_070_00, 2)


# ---- the policy-range measure: exact, never negative (in-catalogue later tiers pay past the policy range) ----------


def _settled_rows(pack: Any, people: list[Any], claims: list[Any]) -> list[dict[str, Any]]:
    from yibao.settlement.settle import settle_sequence

    out = []
    for p in people:
        try:
            settled = list(settle_sequence(pack, p, [c for c in claims if c.psn_no == p.psn_no]))
        except InputError:
            continue
        for s in settled:
            row = claim(s.psn_no, s.setl_date.isoformat(), inscp=s.inscp_scp_amt, fund=s.fund_pay_sumamt,
                        self_pay=s.psn_part_amt, line=s.line, identity=s.identity, sid=s.claim_id)  # fmt: skip
            row |= {"medfee_sumamt": s.medfee_sumamt, "preselfpay_amt": s.preselfpay_amt, "hifp_pay": s.hifp_pay,
                    "hifmi_pay": s.hifmi_pay, "maf_pay": s.maf_pay, "oth_pay": s.oth_pay}  # fmt: skip
            out.append(row)
    return out


def test_an_in_catalogue_tier_paying_past_the_policy_range_leaves_a_measure_of_zero() -> None:
    # policy range 1,000.00, 乙类 self-pay-first 200.00: basic 600.00, an in-catalogue assistance tier 500.00
    # (of the 400.00 policy range left and 100.00 of the self-pay-first part): the funds 1,100.00 pass the policy
    # range; what is left of it to the person is 0, not -100.00
    row = claim("P1", "2023-05-03", inscp=1_000_00, fund=1_100_00, self_pay=100_00)
    rule = Monitoring.model_validate({"rules": {"r": {"label_zh": "测", "label_en": "t", "categories": ["tuopin"],
        "lines": ["inpatient"], "measure": "policy_range_self_pay", "scope": "claim", "threshold": 0}}})  # fmt: skip
    out = evaluate(frame([row]), rule, parse_period("2023-05"), over_only=False)
    assert out["measure_amt"].to_list() == [0]


@pytest.mark.slow  # with the 25 examples of the quick one below, the full suite draws 60
@settings(max_examples=35, deadline=None)
@given(data=st.data())
def test_the_policy_range_measure_is_what_the_funds_left_of_the_policy_range_many(data: st.DataObject) -> None:
    test_the_policy_range_measure_is_what_the_funds_left_of_the_policy_range.hypothesis.inner_test(data)  # type: ignore[attr-defined]


@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_the_policy_range_measure_is_what_the_funds_left_of_the_policy_range(data: st.DataObject) -> None:
    """Over random packs (later tiers on either base) and claim histories: each settlement's measure is the policy
    range less basic insurance less the later tiers' payments counted against it first — never negative, never more
    than the policy range nor than what the person pays; a person's yearly measure is the sum of theirs."""
    from tests.packgen import YEAR, population, random_pack

    pack, (people, claims) = data.draw(random_pack()), data.draw(population())
    rows = [r for r in _settled_rows(pack, people, claims) if r["setl_date"].year == YEAR]
    if not rows:
        return
    lines = sorted({r["line"] for r in rows})
    rules = {
        scope: {
            "label_zh": "测",
            "label_en": "t",
            "categories": ["tekun"],
            "lines": lines,
            "period": "quarter",
            "measure": "policy_range_self_pay",
            "scope": scope,
            "threshold": 0,
        }
        for scope in ("claim", "year")
    }
    monitoring = Monitoring.model_validate({"rules": rules})  # fmt: skip
    by_claim: dict[str, int] = {}
    for q in range(1, 5):  # a claim-scope rule measures the settlements of the period
        out = evaluate(frame(rows), monitoring, parse_period(f"{YEAR}-Q{q}"), over_only=False)
        by_claim |= {r["key"]: r["measure_amt"] for r in out.filter(pl.col("rule") == "claim").iter_rows(named=True)}
    for r in rows:
        scp, basic = r["inscp_scp_amt"], r["hifp_pay"]
        later = r["hifmi_pay"] + r["maf_pay"] + r["oth_pay"]
        assert 0 <= basic <= scp
        expected = scp - basic - min(later, scp - basic)  # later tiers' payments count against the policy range first
        assert by_claim[r["setl_id"]] == expected
        assert 0 <= expected <= min(scp, r["psn_part_amt"])
    for r in out.filter(pl.col("rule") == "year").iter_rows(named=True):
        assert r["measure_amt"] == sum(by_claim[s] for s in r["setl_ids"])
