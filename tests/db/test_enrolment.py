"""Enrolment, classified subsidies, special statuses, duplicates, coverage and the gap list,
on SQLite and PostgreSQL (the ``db`` fixture), plus the CLI end to end.

The small population below is made by hand; every expected count and amount is worked out in
the comments from it and from the Anhui 2022 pack (premium 320 individual + 580 fiscal; 特困
100%, 低保 fixed 272, 返贫致贫 fixed 240, 监测 50%; identities on 2021-09-01 decide 2022).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from tests.cli import Ran
from tests.cli import yibao as run_yibao
from yibao import synth
from yibao.app import enrolment_workbook as excel
from yibao.app.bulk_load import load_synth
from yibao.app.coverage import coverage, find_duplicates, gap_list, subsidy_budget
from yibao.app.enrolment import categories_on, enrol, enrolments_of, record_special_status
from yibao.core.errors import InputError
from yibao.core.idcard import check_digit, mask
from yibao.policy import load_pack
from yibao.store.db import Database
from yibao.store.tables import ChronicFiling, CrossFiling, Enrolment, Identity, ImportBatch, Person

YEAR = 2022
ANHUI = load_pack("anhui-huaibei-2022")
NOW = datetime(2021, 12, 1, tzinfo=UTC)


def certno(i: int) -> str:
    body = f"53090219800101{i:03d}"
    return body + check_digit(body)


@dataclass(frozen=True)
class Who:
    key: str
    township: str
    village: str
    hh: str
    identities: tuple[tuple[str, date, date | None], ...] = ()
    insutype: str = "390"


# 东 < 西 and 上 < 下 in code-point order, so the gap list's order is plain to see.
POPULATION: tuple[Who, ...] = (
    Who("A", "东乡", "上村", "HH01", (("tekun", date(2015, 1, 1), None),)),
    Who("B", "东乡", "下村", "HH02", (("dibao", date(2018, 3, 1), None),)),
    Who("C", "东乡", "下村", "HH03", (("dibao", date(2018, 3, 1), None),)),
    Who("D", "西乡", "上村", "HH04", (("tuopin", date(2016, 6, 1), None),)),
    Who("E", "西乡", "上村", "HH05", (("jiance", date(2020, 5, 1), None),)),
    Who("F", "西乡", "下村", "HH06"),
    Who("G", "西乡", "下村", "HH07"),
    Who("H", "东乡", "上村", "HH08", (("fanpin", date(2021, 3, 1), None),)),
    Who("I", "西乡", "下村", "HH09", insutype="310"),
    Who("J", "西乡", "下村", "HH10", (("dibao_edge", date(2019, 1, 1), None),)),
    # K: ordinary on the cut-off day, 低保 from 2021-10-15: no subsidy for 2022, but 低保 on 2022-01-01
    Who("K", "西乡", "上村", "HH11", (("dibao", date(2021, 10, 15), None),)),
    # L: 监测 on the cut-off day, 低保 from 2021-11-01: subsidised as 监测
    Who("L", "东乡", "下村", "HH12", (("jiance", date(2020, 1, 1), date(2021, 10, 31)), ("dibao", date(2021, 11, 1), None))),
    # M: 脱贫 ended before the cut-off day: ordinary on both days
    Who("M", "东乡", "下村", "HH13", (("tuopin", date(2016, 1, 1), date(2021, 6, 30)),)),
)
CERT = {w.key: certno(i + 1) for i, w in enumerate(POPULATION)}


def add_population(db: Database) -> None:
    with db.unit_of_work() as s:
        for i, w in enumerate(POPULATION, start=1):
            p = Person(
                psn_no=f"P{i:04d}",
                certno=CERT[w.key],
                psn_name=f"测试{w.key}",
                gend="1" if i % 2 else "2",
                brdy=date(1980, 1, 1),
                hh_no=w.hh,
                county="临翔区",
                township=w.township,
                village=w.village,
                insutype=w.insutype,
                recorded_at=NOW,
                recorded_by="test",
            )
            s.add(p)
            s.flush()
            for category, start, end in w.identities:
                s.add(
                    Identity(
                        person_id=p.id,
                        category=category,
                        valid_from=start,
                        valid_to=end,
                        source_bureau="民政",
                        recorded_at=NOW,
                        recorded_by="test",
                    )
                )
        s.commit()


def pid(db: Database, key: str) -> int:
    with db.unit_of_work() as s:
        got = s.scalar(sa.select(Person.id).where(Person.certno == CERT[key]))
    assert got is not None
    return got


def add_row(db: Database, key: str, stas: str, insutype: str = "390") -> None:
    person_id = pid(db, key)
    with db.unit_of_work() as s:
        s.add(
            Enrolment(
                person_id=person_id,
                year=YEAR,
                insutype=insutype,
                psn_insu_stas=stas,
                premium=0,
                individual=0,
                assistance_subsidy=0,
                fiscal_subsidy=0,
                recorded_at=NOW,
                recorded_by="test",
            )
        )
        s.commit()


def rows_of(db: Database, key: str) -> list[Enrolment]:
    person_id = pid(db, key)
    with db.unit_of_work() as s:
        return list(s.scalars(sa.select(Enrolment).where(Enrolment.person_id == person_id).order_by(Enrolment.id)))


def count(db: Database, table: type) -> int:
    with db.unit_of_work() as s:
        return int(s.scalar(sa.select(sa.func.count()).select_from(table)) or 0)


def setup_year(db: Database) -> None:
    """The hand-made year: who is enrolled, who not, who exempt."""
    add_population(db)
    enrol(db, YEAR, ANHUI, persons=[CERT[k] for k in "AEFKL"], user="clerk")
    add_row(db, "I", "1", insutype="310")  # employee
    add_row(db, "G", "0")  # ordinary, not enrolled
    add_row(db, "H", "0")  # 返贫致贫, not enrolled
    record_special_status(db, CERT["C"], YEAR, "deceased", "死亡证明 2021-12-02 村委会", "clerk")
    record_special_status(db, CERT["J"], YEAR, "服刑", "监狱通知书 2021-11", "clerk")
    # B, D, M: no row at all


# --------------------------------------------------------------------------- premium split


def test_enrol_prices_each_person_by_the_identity_on_the_cutoff_day(db: Database) -> None:
    add_population(db)
    result = enrol(db, YEAR, ANHUI, persons=[CERT[k] for k in "AEFKL"], user="clerk")
    assert (result.created, result.priced, result.cutoff) == (5, 5, date(2021, 9, 1))
    # (premium, individual, assistance, fiscal, category), fen:
    # A 特困 100%: 320 -> assistance 320, person 0; fiscal 580
    # E 监测 50%: 320 x 50% = 160 each; K: ordinary on 2021-09-01 (低保 only from 2021-10-15): pays 320
    # L: 监测 on 2021-09-01 (低保 only from 2021-11-01): 160 / 160; F ordinary: 320
    expected = {
        "A": (90_000, 0, 32_000, 58_000, "tekun"),
        "E": (90_000, 16_000, 16_000, 58_000, "jiance"),
        "F": (90_000, 32_000, 0, 58_000, "ordinary"),
        "K": (90_000, 32_000, 0, 58_000, "ordinary"),
        "L": (90_000, 16_000, 16_000, 58_000, "jiance"),
    }
    for key, want in expected.items():
        (row,) = rows_of(db, key)
        got = (row.premium, row.individual, row.assistance_subsidy, row.fiscal_subsidy, row.subsidy_category)
        assert got == want, key
        assert (row.psn_insu_stas, row.insutype, row.year) == ("1", "390", YEAR)
        assert (row.policy_pack, row.cutoff_date, row.recorded_by) == ("anhui-huaibei-2022", date(2021, 9, 1), "clerk")
        assert row.individual + row.assistance_subsidy + row.fiscal_subsidy == row.premium
    # totals: individual 0 + 160 + 320 + 320 + 160 = 960; assistance 320 + 160 + 160 = 640; fiscal 5 x 580 = 2900
    assert (result.individual, result.assistance, result.fiscal) == (96_000, 64_000, 290_000)
    assert result.by_category == {"tekun": 1, "jiance": 2, "ordinary": 2}


def test_a_person_who_becomes_dibao_after_the_cutoff_is_subsidised_as_before(db: Database) -> None:
    add_population(db)
    enrol(db, YEAR, ANHUI, persons=[CERT["K"]], user="clerk")
    (row,) = rows_of(db, "K")
    # K is 低保 from 2021-10-15, after the cut-off day 2021-09-01: no subsidy, pays all 320
    assert (row.individual, row.assistance_subsidy, row.subsidy_category) == (32_000, 0, "ordinary")
    k = pid(db, "K")
    with db.unit_of_work() as s:
        assert categories_on(s, date(2022, 1, 1), ANHUI.at(date(2022, 1, 1)).identity_priority)[k] == "dibao"


def test_repricing_everyone_keeps_rows_and_updates_splits(db: Database) -> None:
    setup_year(db)
    before = count(db, Enrolment)
    result = enrol(db, YEAR, ANHUI, user="night-batch")
    # the resident rows enrolled: A, E, F, K, L (I is an employee, G/H not enrolled, C/J exempt)
    assert (result.priced, result.created, count(db, Enrolment)) == (5, 0, before)
    (g,) = rows_of(db, "G")
    assert (g.premium, g.psn_insu_stas) == (0, "0")


def test_enrolling_a_not_enrolled_row_reactivates_it(db: Database) -> None:
    setup_year(db)
    result = enrol(db, YEAR, ANHUI, persons=[CERT["H"]], user="clerk")
    assert (result.created, result.reactivated) == (0, 1)
    (h,) = rows_of(db, "H")
    # H 返贫致贫 since 2021-03-01 (before the cut-off): fixed 240, person 320 - 240 = 80
    assert (h.psn_insu_stas, h.individual, h.assistance_subsidy, h.fiscal_subsidy) == ("1", 8_000, 24_000, 58_000)


def test_enrol_refuses_unknown_people_and_writes_nothing(db: Database) -> None:
    add_population(db)
    stranger = certno(999)
    with pytest.raises(InputError) as info:
        enrol(db, YEAR, ANHUI, persons=[CERT["A"], stranger], user="clerk")
    assert info.value.field == "certno" and mask(stranger) in str(info.value.value)
    assert count(db, Enrolment) == 0


def test_enrol_refuses_a_bad_id_number_and_a_year_the_pack_does_not_cover(db: Database) -> None:
    add_population(db)
    with pytest.raises(InputError) as info:
        enrol(db, YEAR, ANHUI, persons=["53090219800101001X"], user="clerk")
    assert info.value.field == "certno" and "check digit" in info.value.expected
    with pytest.raises(InputError) as info:
        enrol(db, 2023, ANHUI, user="clerk")
    assert info.value.field == "year" and "2022-01-01" in info.value.expected
    assert count(db, Enrolment) == 0


def test_a_deceased_person_cannot_be_enrolled(db: Database) -> None:
    setup_year(db)
    with pytest.raises(InputError, match="deceased"):
        enrol(db, YEAR, ANHUI, persons=[CERT["C"]], user="clerk")


# --------------------------------------------------------------------------- special statuses


def test_special_statuses_are_recorded_with_evidence_and_count_as_exempt(db: Database) -> None:
    setup_year(db)
    (c,) = rows_of(db, "C")
    assert (c.psn_insu_stas, c.special_status, c.evidence, c.recorded_by) == (
        "4",
        "deceased",
        "死亡证明 2021-12-02 村委会",
        "clerk",
    )
    assert c.premium == 0
    (j,) = rows_of(db, "J")
    assert j.special_status == "prison"  # 服刑 accepted as the Chinese name
    cov = coverage(db, YEAR)
    assert cov.exempt_by_status == {"deceased": 1, "prison": 1}
    keys = {e.psn_name for e in gap_list(db, YEAR).entries}
    assert not keys & {"测试C", "测试J"}


def test_an_enrolled_person_keeps_the_enrolment_with_a_special_status(db: Database) -> None:
    setup_year(db)
    view = record_special_status(db, CERT["A"], YEAR, "deceased", "died 2022-05-03, hospital record", "clerk")
    assert (view.psn_insu_stas, view.special_status, view.premium) == ("1", "deceased", 90_000)
    assert [v.special_status for v in enrolments_of(db, CERT["A"])] == ["deceased"]


def test_special_status_refuses_bad_input(db: Database) -> None:
    add_population(db)
    with pytest.raises(InputError) as info:
        record_special_status(db, CERT["B"], YEAR, "emigrated", "x", "clerk")
    assert info.value.field == "status" and "other_province" in info.value.expected
    with pytest.raises(InputError) as info:
        record_special_status(db, CERT["B"], YEAR, "military", "  ", "clerk")
    assert info.value.field == "evidence"
    with pytest.raises(InputError) as info:
        record_special_status(db, certno(998), YEAR, "military", "入伍通知书", "clerk")
    assert info.value.field == "certno"
    assert count(db, Enrolment) == 0


# --------------------------------------------------------------------------- duplicates


def test_duplicates_twice_resident_resident_and_employee_and_other_province(db: Database) -> None:
    add_population(db)
    add_row(db, "A", "1")
    add_row(db, "A", "1")  # twice in 390
    add_row(db, "B", "1")
    add_row(db, "B", "1", insutype="310")  # 390 and 310
    add_row(db, "D", "1")
    add_row(db, "D", "0")  # a not-enrolled second row is no duplicate
    add_row(db, "E", "1")
    record_special_status(db, CERT["E"], YEAR, "other_province", "广东省医保信息平台查询 2022-02", "clerk")
    found = {(d.psn_name, d.kind) for d in find_duplicates(db, YEAR)}
    assert found == {("测试A", "resident_twice"), ("测试B", "resident_and_employee"), ("测试E", "here_and_other_province")}
    dup = next(d for d in find_duplicates(db, YEAR) if d.kind == "resident_twice")
    assert dup.certno_masked == mask(CERT["A"]) and len(dup.enrolment_ids) == 2
    assert find_duplicates(db, 2021) == []


# --------------------------------------------------------------------------- coverage, gaps, budget


def test_coverage_rates_overall_and_per_category(db: Database) -> None:
    setup_year(db)
    cov = coverage(db, YEAR, priority=ANHUI.at(date(2022, 1, 1)).identity_priority)
    assert cov.as_of == date(2022, 1, 1)
    rows = {r.category: (r.persons, r.enrolled, r.exempt, r.gap) for r in cov.by_category}
    # categories on 2022-01-01:
    # tekun A(enrolled); dibao B(gap) C(deceased) K(enrolled) L(enrolled); fanpin H(gap); jiance E(enrolled);
    # dibao_edge J(prison); tuopin D(gap); ordinary F(enrolled) G(gap) I(employee, enrolled) M(gap)
    assert rows == {
        "tekun": (1, 1, 0, 0),
        "dibao": (4, 2, 1, 1),
        "fanpin": (1, 0, 0, 1),
        "jiance": (1, 1, 0, 0),
        "dibao_edge": (1, 0, 1, 0),
        "tuopin": (1, 0, 0, 1),
        "ordinary": (4, 2, 0, 2),
    }
    assert [r.category for r in cov.by_category] == ["tekun", "dibao", "fanpin", "jiance", "dibao_edge", "tuopin", "ordinary"]
    o = cov.overall
    assert (o.persons, o.enrolled, o.exempt, o.gap) == (13, 6, 2, 5)
    # 6 / 13 = 46.1538% -> 4615 bp; (6 + 2) / 13 = 61.5385% -> 6154 bp
    assert (o.enrolled_rate_bp, o.covered_rate_bp) == (4615, 6154)
    li = cov.low_income
    # 9 low-income/脱贫 people: enrolled A K L E = 4; exempt C J = 2; gap B H D = 3; (4 + 2) / 9 = 66.67%
    assert (li.persons, li.enrolled, li.exempt, li.gap, li.covered_rate_bp) == (9, 4, 2, 3, 6667)


def test_gap_list_names_low_income_and_tuopin_people_neither_enrolled_nor_exempt(db: Database) -> None:
    setup_year(db)
    gaps = gap_list(db, YEAR, pack=ANHUI)
    # B (低保, no row), D (脱贫, no row), H (返贫致贫, row 0); G and M are ordinary; C and J exempt.
    # Sorted by township, village, household: 东乡上村 H, 东乡下村 B, 西乡上村 D.
    got = [(e.psn_name, e.township, e.village, e.hh_no, e.category, e.psn_insu_stas) for e in gaps.entries]
    assert got == [
        ("测试H", "东乡", "上村", "HH08", "fanpin", "0"),
        ("测试B", "东乡", "下村", "HH02", "dibao", None),
        ("测试D", "西乡", "上村", "HH04", "tuopin", None),
    ]
    assert [e.certno_masked for e in gaps.entries] == [mask(CERT[k]) for k in "HBD"]
    assert all("*" * 8 in e.certno_masked for e in gaps.entries)
    # what they would pay (identities on 2021-09-01): H 返贫致贫 240 -> 80; B 低保 272 -> 48; D 脱贫 none -> 320
    assert [(e.individual, e.assistance) for e in gaps.entries] == [(8_000, 24_000), (4_800, 27_200), (32_000, 0)]


def test_gap_list_uses_the_pack_that_priced_the_year_and_a_later_day(db: Database) -> None:
    setup_year(db)
    gaps = gap_list(db, YEAR)  # the pack comes from the year's enrolments
    assert gaps.pack_id == "anhui-huaibei-2022" and gaps.cutoff == date(2021, 9, 1)
    # on 2021-08-01: B 低保, D 脱贫, H 返贫致贫 (since 2021-03) as on 1 January; K was still ordinary (低保
    # from 2021-10-15) but is enrolled anyway; M's 脱贫 had ended on 2021-06-30
    early = gap_list(db, YEAR, as_of=date(2021, 8, 1))
    assert [e.psn_name for e in early.entries] == ["测试H", "测试B", "测试D"]
    record_special_status(db, CERT["B"], YEAR, "other_province", "浙江省参保证明", "clerk")
    assert [e.psn_name for e in gap_list(db, YEAR).entries] == ["测试H", "测试D"]


def test_subsidy_budget_by_category_and_payer(db: Database) -> None:
    setup_year(db)
    budget = subsidy_budget(db, YEAR, ANHUI)
    rows = {r.category: (r.persons, r.individual, r.assistance, r.fiscal) for r in budget.rows}
    # enrolled residents by identity on 2021-09-01: A 特困; E, L 监测; F, K ordinary
    assert rows == {
        "tekun": (1, 0, 32_000, 58_000),
        "jiance": (2, 32_000, 32_000, 116_000),  # 2 x 160, 2 x 160, 2 x 580
        "ordinary": (2, 64_000, 0, 116_000),  # 2 x 320, 2 x 580
    }
    t = budget.total
    assert (t.persons, t.individual, t.assistance, t.fiscal, t.total) == (5, 96_000, 64_000, 290_000, 450_000)


def test_subsidy_budget_for_everyone_who_should_enrol(db: Database) -> None:
    setup_year(db)
    budget = subsidy_budget(db, YEAR, ANHUI, basis="eligible")
    rows = {r.category: (r.persons, r.individual, r.assistance) for r in budget.rows}
    # residents but C, J (exempt) and I (employee): A B D E F G H K L M, by identity on 2021-09-01
    assert rows == {
        "tekun": (1, 0, 32_000),
        "dibao": (1, 4_800, 27_200),  # B: 320 - 272
        "fanpin": (1, 8_000, 24_000),  # H: 320 - 240
        "jiance": (2, 32_000, 32_000),  # E, L
        "tuopin": (1, 32_000, 0),  # D
        "ordinary": (4, 128_000, 0),  # F G K M
    }
    # assistance 320 + 272 + 240 + 320 = 1152 yuan; 10 x 900 = 9000 yuan in all
    assert (budget.total.assistance, budget.total.total) == (115_200, 900_000)


# --------------------------------------------------------------------------- workbooks


def test_gap_list_workbook_rows_and_headers(db: Database, tmp_path: Path) -> None:
    setup_year(db)
    out = tmp_path / "gaps.xlsx"
    excel.write_gap_workbook(out, gap_list(db, YEAR, pack=ANHUI))
    wb = load_workbook(out)
    ws = wb["应保未保清单"]
    header = [c.value for c in ws[1]]
    assert header == [
        "序号",
        "乡镇（街道）",
        "村（社区）",
        "户号",
        "姓名",
        "性别",
        "出生日期",
        "身份证号",
        "身份类别",
        "参保状态",
        "资助类别",
        "个人应缴（元）",
        "医疗救助资助（元）",
        "跟进情况",
        "备注",
    ]
    rows = [tuple(c.value for c in r[:13]) for r in ws.iter_rows(min_row=2)]
    assert [r[:5] for r in rows] == [
        (1, "东乡", "上村", "HH08", "测试H"),
        (2, "东乡", "下村", "HH02", "测试B"),
        (3, "西乡", "上村", "HH04", "测试D"),
    ]
    assert [r[7] for r in rows] == [mask(CERT[k]) for k in "HBD"]
    assert [r[8] for r in rows] == ["返贫致贫人口", "低保对象", "稳定脱贫人口"]
    assert [r[9] for r in rows] == ["未参保", "无参保登记", "无参保登记"]
    assert [(r[11], r[12]) for r in rows] == [(80, 240), (48, 272), (320, 0)]
    assert ws.cell(row=2, column=12).number_format == "#,##0.00"
    assert ws.freeze_panes == "A2"
    assert ws.column_dimensions["H"].width >= 20
    summary = wb["按乡镇汇总"]
    assert [tuple(c.value for c in r) for r in summary.iter_rows(min_row=2)] == [
        ("东乡", "小计", 2),
        ("东乡", "上村", 1),
        ("东乡", "下村", 1),
        ("西乡", "小计", 1),
        ("西乡", "上村", 1),
        ("合计", None, 3),
    ]


def test_coverage_workbook_has_the_three_sheets(db: Database, tmp_path: Path) -> None:
    setup_year(db)
    add_row(db, "F", "1", insutype="310")  # F now in both schemes
    out = tmp_path / "coverage.xlsx"
    excel.write_coverage_workbook(out, coverage(db, YEAR), subsidy_budget(db, YEAR, ANHUI), find_duplicates(db, YEAR))
    wb = load_workbook(out)
    assert wb.sheetnames == ["参保率", "资助预算", "重复参保"]
    rates = wb["参保率"]
    # F is now in both schemes but counted once: still 6 enrolled, 2 exempt, 5 in the gap (B D G H M)
    assert [c.value for c in rates[2]][:5] == ["全部人员", 13, 6, 2, 5]
    budget = wb["资助预算"]
    total = next(r for r in budget.iter_rows(values_only=True) if r[0] == "合计")
    assert total[1:] == (5, 960, 640, 2900, 4500)
    dups = [r for r in wb["重复参保"].iter_rows(min_row=2, values_only=True)]
    assert [(r[0], r[4]) for r in dups] == [("同时参加居民医保和职工医保", "测试F")]


# --------------------------------------------------------------------------- synthetic county


@pytest.fixture(scope="module")
def county() -> synth.SynthCounty:
    return synth.generate(2000, YEAR, 7)


@pytest.fixture(scope="module")
def county_dir(tmp_path_factory: pytest.TempPathFactory, county: synth.SynthCounty) -> Path:
    out = tmp_path_factory.mktemp("county")
    synth.write(county, out)
    return out


def test_load_synth_loads_a_county_and_coverage_runs_on_it(db: Database, county: synth.SynthCounty, county_dir: Path) -> None:
    result = load_synth(db, county_dir, user="loader")
    assert (result.persons, result.identities, result.enrolments) == (2000, county.identities.height, 2000)
    assert count(db, Person) == 2000
    assert count(db, Identity) == county.identities.height
    assert count(db, ChronicFiling) == county.chronic_filings.height
    assert count(db, CrossFiling) == county.cross_filings.height
    with db.unit_of_work() as s:
        batch = s.scalars(sa.select(ImportBatch)).one()
        assert (batch.kind, batch.rows_total, batch.recorded_by) == ("synth", county.identities.height, "loader")
        first = county.people.row(0, named=True)
        p = s.scalars(sa.select(Person).where(Person.psn_no == first["psn_no"])).one()
        assert (p.certno, p.brdy, p.township, p.village, p.hh_no) == (
            first["certno"],
            first["brdy"],
            first["township"],
            first["village"],
            first["hh_no"],
        )
        ident = county.identities.row(0, named=True)
        stored = s.execute(
            sa.select(Identity.category, Identity.valid_from, Identity.valid_to, Identity.import_id, Identity.source_row)
            .join(Person)
            .where(Person.psn_no == ident["psn_no"])
            .order_by(Identity.valid_from)
        ).first()
        assert stored is not None
        assert tuple(stored) == (str(ident["category"]), ident["valid_from"], ident["valid_to"], batch.id, 1)

    enrolled = county.enrolments.filter(pl.col("psn_insu_stas") == "1").height
    exempt = county.enrolments.filter((pl.col("psn_insu_stas") != "1") & pl.col("special_status").is_not_null()).height
    cov = coverage(db, YEAR)
    assert (cov.overall.persons, cov.overall.enrolled, cov.overall.exempt) == (2000, enrolled, exempt)
    # the low-income target group in coverage is the generator's mix on 1 January
    mix = dict(synth.identity_mix(county).select("category", "persons").iter_rows())
    assert cov.low_income.persons == sum(mix.get(c, 0) for c in ("tekun", "dibao", "fanpin", "jiance", "dibao_edge", "tuopin"))

    priced = enrol(db, YEAR, ANHUI, user="loader")
    residents_enrolled = county.enrolments.filter((pl.col("psn_insu_stas") == "1") & (pl.col("insutype") == "390")).height
    assert priced.priced == residents_enrolled
    assert priced.individual + priced.assistance + priced.fiscal == residents_enrolled * 90_000
    budget = subsidy_budget(db, YEAR, ANHUI)
    assert (budget.total.persons, budget.total.assistance) == (residents_enrolled, priced.assistance)
    assert find_duplicates(db, YEAR) == []


def test_load_synth_twice_is_refused_and_writes_nothing(db: Database, county_dir: Path) -> None:
    load_synth(db, county_dir, user="loader")
    with pytest.raises(InputError) as info:
        load_synth(db, county_dir, user="loader")
    assert "already" in info.value.expected
    assert count(db, Person) == 2000 and count(db, ImportBatch) == 1


def test_load_synth_refuses_a_folder_without_a_county(db: Database, tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        load_synth(db, tmp_path, user="loader")
    assert info.value.field == "manifest.json"
    assert count(db, Person) == 0


# --------------------------------------------------------------------------- CLI end to end (SQLite file)


def yibao(tmp_path: Path, *args: str) -> Ran:
    """In-process (tests/cli.py): the README test runs ``db load-synth``, ``enrol``, ``coverage`` and ``gaps`` in a subprocess."""
    env = {"YIBAO_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "YIBAO_USER": "cli-test", "YIBAO_LANG": None}
    return run_yibao(*args, env=env, cwd=tmp_path)


@pytest.mark.slow  # loads and enrols a 2,000-person county through the CLI
def test_cli_end_to_end(tmp_path: Path, county: synth.SynthCounty, county_dir: Path) -> None:
    r = yibao(tmp_path, "db", "load-synth", str(county_dir))
    assert r.returncode == 0, r.stderr
    assert "2,000" in r.stdout and "人员" in r.stdout

    r = yibao(tmp_path, "enrol", "--year", "2022", "--policy", "anhui-huaibei-2022")
    assert r.returncode == 0, r.stderr
    assert "特困人员" in r.stdout and "320.00" in r.stdout and "2021-09-01" in r.stdout

    r = yibao(tmp_path, "coverage", "--year", "2022", "--xlsx", str(tmp_path / "cov.xlsx"))
    assert r.returncode == 0, r.stderr
    assert "参保率" in r.stdout and "资助预算" in r.stdout and (tmp_path / "cov.xlsx").is_file()

    not_enrolled = county.enrolments.filter(pl.col("psn_insu_stas") == "0")["psn_no"][0]
    someone = county.people.filter(pl.col("psn_no") == not_enrolled)["certno"][0]
    r = yibao(tmp_path, "special-status", someone, "--year", "2022", "--status", "military", "--evidence", "入伍通知书 2022-03")
    assert r.returncode == 0, r.stderr
    assert "服兵役" in r.stdout and someone not in r.stdout and mask(someone) in r.stdout

    r = yibao(tmp_path, "gaps", "--year", "2022", "--xlsx", str(tmp_path / "gaps.xlsx"), "--lang", "en")
    assert r.returncode == 0, r.stderr
    assert "Wrote" in r.stdout
    wb = load_workbook(tmp_path / "gaps.xlsx")
    assert wb.worksheets[0]["A1"].value == "no." and wb.worksheets[0]["L1"].value == "person pays (yuan)"

    r = yibao(tmp_path, "coverage", "--year", "2022", "--lang", "en")
    assert r.returncode == 0 and "everyone" in r.stdout and "military service" in r.stdout


@pytest.mark.slow  # quick command: left out for time; the full suite runs it
def test_cli_bad_input_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    r = yibao(tmp_path, "gaps", "--year", "2022", "--xlsx", str(tmp_path / "gaps.txt"))
    assert r.returncode == 2 and "--xlsx" in r.stderr and ".xlsx" in r.stderr
    assert not (tmp_path / "gaps.txt").exists()

    r = yibao(tmp_path, "special-status", certno(1), "--year", "2022", "--status", "emigrated", "--evidence", "x")
    assert r.returncode == 2 and "status" in r.stderr and "emigrated" in r.stderr and "deceased" in r.stderr

    r = yibao(tmp_path, "enrol", "--year", "2023", "--policy", "anhui-huaibei-2022", "--lang", "en")
    assert r.returncode == 2 and "year" in r.stderr and "2023" in r.stderr

    r = yibao(tmp_path, "enrol", "--year", "2022", "--policy", "atlantis")
    assert r.returncode == 2 and "atlantis" in r.stderr

    r = yibao(tmp_path, "coverage", "--year", "2022", "--as-of", "2022-13-01")
    assert r.returncode == 2 and "--as-of" in r.stderr

    r = yibao(tmp_path, "db", "load-synth", str(tmp_path / "nowhere"))
    assert r.returncode == 2 and "manifest.json" in r.stderr
    db = Database.open(f"sqlite:///{tmp_path / 'cli.db'}")
    try:
        assert count(db, Person) == 0 and count(db, Enrolment) == 0
    finally:
        db.engine.dispose()
