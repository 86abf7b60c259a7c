"""门诊统筹人头定额 at settlement (issue 17, must-have 2; seed 004): the pack block, which claims draw on a
township's shared pot, the split of the basic payment into what is paid by head (``captn_pay``) and item by
item, all on hand-computed amounts."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yibao.core.errors import InputErrors
from yibao.core.identities import IdentityPeriod
from yibao.policy.pack import PolicyPack, load_pack, pack_from_mapping
from yibao.settlement.model import Claim, InstitutionChoice, Person, PolicyRangeSummary
from yibao.settlement.settle import reverse, settle, settle_sequence
from yibao.settlement.trace import render

YUAN = 100
TOWN = "演示镇"


def _a(value: Any) -> dict[str, Any]:
    return {"value": value, "assumed": "test"}


def _capitation(**over: Any) -> dict[str, Any]:
    block: dict[str, Any] = {
        "lines": ["outpatient"],
        "counted": "enrolled",
        "standard": {"per_head": _a(100)},
        "limit": _a(200),
        "over_limit": {"categories": ["pinkun"], "cap": _a(500)},
        "prepay_share": _a(80),
        "clinic_due_day": _a(20),
        "withhold": _a([{"score": 90, "release": 100}, {"score": 60, "release": 50}]),
    }
    return block | over


def _pack(capitation: dict[str, Any] | None) -> PolicyPack:
    """Outpatient at 50% with a 300-yuan yearly cap outside capitation; inpatient at 50%, uncapped."""
    lines = {
        "outpatient": {
            "label_zh": "门诊统筹", "label_en": "outpatient", "insutype": "390", "med_types": ["11"], "ratio": _a(50),
            "cap": _a(300),
        },
        "inpatient": {"label_zh": "住院", "label_en": "inpatient", "insutype": "390", "med_types": ["21"], "ratio": _a(50)},
    }  # fmt: skip
    policy: dict[str, Any] = {"identity_priority": ["tekun", "pinkun"], "fee": {"class_b_selfpay_first": _a(10)}, "lines": lines}
    if capitation is not None:
        policy["capitation"] = capitation
    return pack_from_mapping({"pack": "t", "valid_from": "2020-01-01", "valid_to": "2020-12-31", "policy": policy}, "t.yaml")


POOR = (IdentityPeriod("pinkun", date(2019, 1, 1)),)


def _visits(psn_no: str, n: int, yuan: int, township: str = TOWN, med_type: str = "11") -> list[Claim]:
    return [
        Claim(
            f"{psn_no}-{i}", psn_no, date(2020, 3, 1 + i), med_type, 1, summary=PolicyRangeSummary(yuan * YUAN), township=township
        )
        for i in range(n)
    ]


def _paid(pack: PolicyPack, person: Person, claims: list[Claim]) -> list[tuple[int, int, str]]:
    return [(s.hifp_pay, s.captn_pay, s.captn_town) for s in settle_sequence(pack, person, claims)]


def test_an_ordinary_resident_is_paid_by_head_up_to_the_limit_and_nothing_above() -> None:
    # 4 visits of 180 yuan at 50%: 90 each; the 200-yuan limit replaces the line's 300: 90, 90, 20, 0 — all by head
    person = Person("P1", township=TOWN)
    assert _paid(_pack(_capitation()), person, _visits("P1", 4, 180)) == [
        (9000, 9000, TOWN), (9000, 9000, TOWN), (2000, 2000, TOWN), (0, 0, TOWN),
    ]  # fmt: skip


def test_a_poor_resident_goes_on_item_by_item_above_the_limit_up_to_the_over_limit_cap() -> None:
    # 8 visits of 180 yuan at 50%: 90 each; by head until 200 (90, 90, 20), item by item above it (70 of the third,
    # then 90, 90), until the over-limit cap of 500 for the year: 90 × 5 = 450, the sixth 50, then 0
    person = Person("P2", identities=POOR, township=TOWN)
    paid = _paid(_pack(_capitation()), person, _visits("P2", 8, 180))
    assert [h for h, _, _ in paid] == [9000, 9000, 9000, 9000, 9000, 5000, 0, 0]
    assert [c for _, c, _ in paid] == [9000, 9000, 2000, 0, 0, 0, 0, 0]
    assert sum(h for h, _, _ in paid) == 500 * YUAN
    settled = list(settle_sequence(_pack(_capitation()), person, _visits("P2", 3, 180)))
    zh = [text for _, text in render(settled[2].trace)]
    said = "门诊统筹人头定额（演示镇，镇村共用）：年度限额 200.00元，此前已支付 180.00元；"
    assert said + "本次按人头付费 20.00元，超限额部分按项目据实结算 70.00元" in zh
    en = [text for _, text in render(settled[2].trace, "en")]
    assert any("paid by head 20.00, above the limit settled item by item 70.00" in t for t in en)


def test_over_limit_without_a_cap_pays_on_without_end() -> None:
    cap = _capitation(over_limit={"categories": ["pinkun"]})
    person = Person("P2", identities=POOR, township=TOWN)
    paid = _paid(_pack(cap), person, _visits("P2", 10, 180))
    assert [h for h, _, _ in paid] == [9000] * 10
    assert sum(c for _, c, _ in paid) == 200 * YUAN


def test_a_category_limit_replaces_the_limit() -> None:
    cap = _capitation(category_limits={"tekun": _a(250)})
    person = Person("P3", identities=(IdentityPeriod("tekun", date(2019, 1, 1)),), township=TOWN)
    assert [c for _, c, _ in _paid(_pack(cap), person, _visits("P3", 4, 180))] == [9000, 9000, 7000, 0]


def test_claims_not_under_capitation_settle_on_the_line_as_before() -> None:
    pack, plain = _pack(_capitation()), _pack(None)
    elsewhere = Person("P4", township="别的镇")  # lives in another township: not counted by 演示镇
    for person, claims in (
        (elsewhere, _visits("P4", 5, 180)),
        (Person("P5", township=TOWN), _visits("P5", 5, 180, township="")),  # a county hospital: no township
        (Person("P6", township=TOWN), _visits("P6", 2, 180, med_type="21")),  # inpatient: not a capitation line
    ):
        with_block = list(settle_sequence(pack, person, claims))
        without = list(settle_sequence(plain, person, claims))
        assert [s.hifp_pay for s in with_block] == [s.hifp_pay for s in without]
        assert all(s.captn_pay == 0 and s.captn_town == "" for s in with_block)
    assert [s.hifp_pay for s in settle_sequence(pack, elsewhere, _visits("P4", 5, 180))] == [9000, 9000, 9000, 3000, 0]


def test_counted_signed_goes_by_the_signed_township() -> None:
    cap = _capitation(counted="signed")
    lives_here_signed_elsewhere = Person("P7", township=TOWN, signed_township="别的镇")
    signed_here = Person("P8", township="别的镇", signed_township=TOWN)
    assert {c for _, c, _ in _paid(_pack(cap), lives_here_signed_elsewhere, _visits("P7", 1, 180))} == {0}
    assert _paid(_pack(cap), signed_here, _visits("P8", 1, 180)) == [(9000, 9000, TOWN)]


def test_reversal_gives_the_pot_back() -> None:
    pack, person = _pack(_capitation()), Person("P1", township=TOWN)
    first, second = settle_sequence(pack, person, _visits("P1", 2, 380))
    assert (first.hifp_pay, first.captn_pay, second.hifp_pay, second.captn_pay) == (19000, 19000, 1000, 1000)
    after = reverse(second, second.ytd_after)
    again = settle(pack, person, after, _visits("P1", 2, 380)[1])
    assert (again.hifp_pay, again.captn_pay) == (1000, 1000)


@settings(max_examples=40, deadline=None)
@given(
    amounts=st.lists(st.integers(0, 60_000), min_size=1, max_size=12),
    poor=st.booleans(),
    limit=st.integers(0, 800),
    extra=st.one_of(st.none(), st.integers(0, 800)),
)
def test_by_head_never_exceeds_the_limit_and_the_split_adds_up(
    amounts: list[int], poor: bool, limit: int, extra: int | None
) -> None:
    over: dict[str, Any] = {"categories": ["pinkun"]} | ({} if extra is None else {"cap": _a(limit + extra)})
    pack = _pack(_capitation(limit=_a(limit), over_limit=over))
    person = Person("P9", identities=POOR if poor else (), township=TOWN)
    claims = [
        Claim(f"C{i}", "P9", date(2020, 1, 1 + i), "11", 1, summary=PolicyRangeSummary(fen), township=TOWN)
        for i, fen in enumerate(amounts)
    ]
    settled = list(settle_sequence(pack, person, claims))
    head = sum(s.captn_pay for s in settled)
    paid = sum(s.hifp_pay for s in settled)
    assert head == min(paid, limit * YUAN)
    assert all(0 <= s.captn_pay <= s.hifp_pay for s in settled)
    if not poor:
        assert paid == head  # nothing item by item for a category not named
    elif extra is not None:
        assert paid <= (limit + extra) * YUAN


def test_the_zibo_standard_is_derived_from_funding_less_reserves_over_persons() -> None:
    pack = load_pack("shandong-zibo-2020")
    cap = pack.at(date(2020, 6, 1)).capitation
    assert cap is not None and cap.standard.derive is not None
    # (13,200,000 − 396,000 − 0 + 0 − 0) yuan / 120,000 persons = 106.70 yuan per person-year
    assert cap.standard.fen == 10_670
    assert (cap.limit, cap.cap_for("pinkun"), cap.cap_for("dibao"), cap.prepay_share) == (20_000, 100_000, 20_000, 8_000)
    assert [cap.release(s) for s in (95, 90, 85, 60, 59)] == [10_000, 10_000, 8_000, 5_000, 0]
    provenance = pack.provenance(("capitation", "clinic_due_day"), date(2020, 6, 1))
    assert provenance is not None and provenance.source is not None and "004_" in provenance.source


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"standard": {"per_head": _a(100), "derive": {"funding": _a(1), "persons": _a(1)}}}, "exactly one of per_head"),
        ({"standard": {"derive": {"funding": _a(100), "risk_reserve": _a(100), "persons": _a(10)}}}, "to share by head"),
        ({"lines": ["dental"]}, "capitation.lines names unknown benefit lines ['dental']"),
        ({"over_limit": {"categories": ["pinkun"], "cap": _a(100)}}, "over_limit.cap is below the limit"),
        ({"over_limit": {"categories": ["dibao"]}}, "which identity_priority does not rank"),
        ({"withhold": _a([{"score": 60, "release": 50}, {"score": 90, "release": 100}])}, "from the highest score down"),
        ({"weights": _a({"persons": 50, "visits": 40})}, "must add up to 100"),
        ({"weights": _a({"families": 100})}, "expected some of persons, visits, amounts"),
        ({"clinic_due_day": _a(31)}, "a day 1-28"),
    ],
)
def test_a_bad_capitation_block_is_refused_naming_it(change: dict[str, Any], says: str) -> None:
    with pytest.raises(InputErrors) as e:
        _pack(_capitation(**change))
    assert says in str(e.value)


def test_a_designated_choice_alone_does_not_count_the_person() -> None:
    """The pure core counts by the registry's township names, not by institution codes: a designated choice
    without a signed township is not counted (the service resolves the township, see app.registry)."""
    cap = _capitation(counted="signed")
    chose = Person("P10", institutions=(InstitutionChoice("V1", "designated", date(2020, 1, 1)),))
    assert _paid(_pack(cap), chose, _visits("P10", 1, 180)) == [(9000, 0, "")]


def test_the_plain_explanation_says_the_shared_limit_and_what_went_on_item_by_item() -> None:
    from yibao.settlement.plain import explain

    person = Person("P2", identities=POOR, township=TOWN)
    first, second = settle_sequence(_pack(_capitation()), person, _visits("P2", 2, 300))
    # 150 each at 50%: the first within the 200 limit; the second 50 within it, 100 item by item
    assert "在本镇卫生院和村卫生室看门诊，两处合并计算，一年最多报销 200.00 元（今年此前已报销 0.00 元）。" in explain(first)
    assert not any("按实际费用报销" in x for x in explain(first))
    assert "超过这个限额的部分，按您的身份继续按实际费用报销，这次 100.00 元。" in explain(second)
    assert "Above that limit your identity is paid on by the actual items: 100.00 yuan this time." in explain(second, "en")
