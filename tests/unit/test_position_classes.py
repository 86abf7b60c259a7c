"""The position splits a cap by the class of the claim's institution where the line's terms give another cap
there (issue 15, feature 6): the person sees what is left at their selected institution, at one linked with it
and elsewhere."""

from __future__ import annotations

from datetime import date

from yibao.policy import pack_from_mapping
from yibao.settlement.model import Claim, InstitutionChoice, Person, PolicyRangeSummary, YearToDate
from yibao.settlement.position import payer_positions, reachable_classes
from yibao.settlement.settle import settle


def A(value: object) -> dict[str, object]:
    return {"value": value, "assumed": "test"}


PACK = pack_from_mapping(
    {
        "pack": "classes",
        "valid_from": "2023-01-01",
        "valid_to": "2023-12-31",
        "policy": {
            "identity_priority": ["tekun"],
            "fee": {"class_b_selfpay_first": A(0)},
            "lines": {
                "outpatient": {
                    "label_zh": "普通门诊", "label_en": "general outpatient", "insutype": "390", "med_types": ["11"],
                    "ratio": A(50), "cap": A(200),
                    "person_terms": {
                        "at_designated": {"institution": "designated", "ratio": A(60), "cap": A(400)},
                        "at_linked": {"institution": "linked", "cap": A(300)},
                    },
                },
                "inpatient": {
                    "label_zh": "住院", "label_en": "inpatient", "insutype": "390", "med_types": ["21"],
                    "deductible_kind": "admission", "deductible": A(500), "ratio": A(70), "cap": A(150000),
                },
            },
        },
    },
    "classes.yaml",
)  # fmt: skip
DAY = date(2023, 6, 30)
CHOICES = (InstitutionChoice("H1", "designated", date(2023, 1, 1)), InstitutionChoice("H2", "linked", date(2023, 1, 1)))


def test_a_cap_per_class_the_person_may_claim_at() -> None:
    p = Person("P1", institutions=CHOICES)
    ytd = YearToDate(2023, basic_paid={"outpatient": 25_000})  # 250.00 yuan paid this year
    rows = [r for r in payer_positions(PACK.at(DAY), p, ytd, DAY).payers if r.lines == ("outpatient",)]
    # paid 250.00 against 400.00 at H1 (150.00 left), 300.00 at H2 (50.00 left), 200.00 elsewhere (nothing left)
    assert [(r.institutions, r.paid, r.cap, r.remaining) for r in rows] == [
        (("designated",), 25_000, 40_000, 15_000),
        (("linked",), 25_000, 30_000, 5_000),
        (("other",), 25_000, 20_000, 0),
    ]
    inpatient = [r for r in payer_positions(PACK.at(DAY), p, ytd, DAY).payers if r.lines == ("inpatient",)]
    assert [(r.institutions, r.cap) for r in inpatient] == [((), 15_000_000)]  # the same cap wherever: one row
    # what the next settlement pays agrees: 1,000.00 at H1 at 60% is 600.00, capped at the 150.00 left
    claim = Claim("C1", "P1", DAY, "11", 1, "in_county", summary=PolicyRangeSummary(100_000), fixmedins_code="H1")
    assert settle(PACK, p, ytd, claim).hifp_pay == 15_000
    assert settle(PACK, p, ytd, Claim("C2", "P1", DAY, "11", 1, "in_county", summary=PolicyRangeSummary(100_000),
                                      fixmedins_code="H2")).hifp_pay == 5_000  # fmt: skip


def test_without_a_selection_only_the_cap_elsewhere_is_shown() -> None:
    p = Person("P1", institutions=(InstitutionChoice("H1", "designated", date(2023, 1, 1), date(2023, 3, 31)),))
    assert reachable_classes(p, DAY) == ("other",)  # the selection ended in March
    rows = [r for r in payer_positions(PACK.at(DAY), p, YearToDate(2023), DAY).payers if r.lines == ("outpatient",)]
    assert [(r.institutions, r.cap) for r in rows] == [((), 20_000)]
