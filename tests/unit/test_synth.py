"""The synthetic county: reproducible to the byte, valid ID numbers, amounts that add up, the
Lincang identity mix and admission cost, and claims the one-claim settlement accepts."""

from __future__ import annotations

import hashlib
import os
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest
import yaml

from yibao import synth
from yibao.policy import load_pack
from yibao.policy.overlay import apply_overlay, overlay_from_mapping
from yibao.settlement import Claim, settle_sequence
from yibao.synth import claims as synth_claims

YEAR = 2022


@pytest.fixture(scope="module")
def county() -> synth.SynthCounty:
    return synth.generate(50_000, YEAR, 1)


def _num(value: object) -> float:
    """A Series aggregate (sum, mean, max ...) as a float."""
    assert isinstance(value, int | float), value
    return float(value)


def _hashes(directory: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.iterdir())}


# --- reproducibility ---------------------------------------------------------------------------


def test_same_seed_gives_byte_identical_files_and_another_seed_differs(tmp_path: Path) -> None:
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        synth.write(synth.generate(5_000, YEAR, seed), tmp_path / name)
    a, b, c = (_hashes(tmp_path / n) for n in "abc")
    assert set(a) == {f"{n}.parquet" for n in synth.FILES} | {"manifest.json"}
    assert a == b
    for name in ("people.parquet", "identities.parquet", "claims.parquet", "manifest.json"):
        assert a[name] != c[name], name


def test_claim_chunks_do_not_depend_on_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(synth_claims, "CHUNK_PERSONS", 1_000)  # five chunks
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    one = synth.generate(5_000, YEAR, 5).claims
    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    four = synth.generate(5_000, YEAR, 5).claims
    assert one.equals(four)
    assert one.equals(one.sort("psn_no", "setl_date", "claim_id"))
    assert one["psn_no"].n_unique() > 4_000


def test_read_gives_back_what_was_written(tmp_path: Path) -> None:
    county = synth.generate(3_000, YEAR, 3)
    synth.write(county, tmp_path)
    back = synth.read(tmp_path)
    assert (back.persons, back.year, back.seed) == (3_000, YEAR, 3)
    for name, df in county.frames().items():
        assert back.frames()[name].equals(df), name
    manifest = yaml.safe_load((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["rows"]["claims"] == county.claims.height
    assert "time" not in str(manifest).lower()


# --- people ------------------------------------------------------------------------------------

GB_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def gb11643_ok(certno: str) -> bool:
    """Independent check of a resident ID number (GB 11643)."""
    if len(certno) != 18 or not certno[:17].isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(certno[:17], GB_WEIGHTS, strict=True))
    return "10X98765432"[total % 11] == certno[17]


def test_gb11643_check_itself() -> None:
    assert gb11643_ok("11010519491231002X")  # the standard's example
    assert not gb11643_ok("110105194912310021")


def test_id_numbers_are_valid_unique_and_agree_with_birth_date_and_sex(county: synth.SynthCounty) -> None:
    people = county.people
    assert people["certno"].n_unique() == people.height
    for certno, gend, brdy in people.select("certno", "gend", "brdy").iter_rows():
        assert gb11643_ok(certno), certno
        assert certno[:2] == "53" and certno[:6].isdigit()  # a Yunnan county
        assert certno[6:14] == brdy.strftime("%Y%m%d"), (certno, brdy)
        assert gend == ("1" if int(certno[16]) % 2 == 1 else "2"), (certno, gend)


def test_people_columns_and_types(county: synth.SynthCounty) -> None:
    assert county.people.schema == pl.Schema(
        {
            "psn_no": pl.String,
            "certno": pl.String,
            "psn_name": pl.String,
            "gend": pl.String,
            "brdy": pl.Date,
            "hh_no": pl.String,
            "county": pl.String,
            "township": pl.String,
            "village": pl.String,
            "insutype": pl.String,
            "emp_status": pl.String,
            "emp_tier": pl.String,
            "income_fen": pl.Int64,
        }
    )
    people = county.people
    assert people["psn_no"][0] == "P0000001" and people["psn_no"].is_unique().all()
    assert people["psn_name"].str.len_chars().is_between(2, 3).all()
    assert (people["brdy"] < date(YEAR, 1, 1)).all()
    assert 9 <= people["township"].n_unique() <= 10 and 80 <= people["village"].n_unique() <= 100
    households = people.group_by("hh_no").agg(pl.len().alias("n"), pl.col("village").n_unique().alias("villages"))
    assert households["n"].is_between(1, 6).all() and (households["villages"] == 1).all()
    assert 2.5 <= people.height / households.height <= 4.0


def test_employees_have_status_and_tier_and_residents_none(county: synth.SynthCounty) -> None:
    people = county.people
    emp = people.filter(pl.col("insutype") == "310")
    res = people.filter(pl.col("insutype") == "390")
    assert 0.06 <= emp.height / people.height <= 0.10
    assert emp["emp_status"].is_in(["in_service", "retired"]).all()
    assert emp["emp_tier"].is_in(["unit", "individual_1", "individual_2"]).all()
    assert res["emp_status"].is_null().all() and res["emp_tier"].is_null().all()


def test_income_is_lower_for_low_income_identities(county: synth.SynthCounty) -> None:
    first = county.identities.sort("valid_from").unique("psn_no", keep="first")
    joined = county.people.filter(pl.col("insutype") == "390").join(first, on="psn_no", how="left")
    median = dict(joined.group_by("category").agg(pl.col("income_fen").median()).iter_rows())
    assert median["dibao"] < median["tuopin"] < median[None]
    assert 12_000_00 <= median[None] <= 16_000_00  # ordinary rural residents, fen


# --- identities --------------------------------------------------------------------------------


def test_identity_mix_matches_lincang(county: synth.SynthCounty) -> None:
    mix = synth.lincang_mix(county)
    target = sum(synth.LINCANG_MONITORED.values())
    assert mix["monitored"] == pytest.approx(target / synth.LINCANG_POPULATION, abs=0.015)
    for group, n in synth.LINCANG_MONITORED.items():
        assert mix[group] == pytest.approx(n / target, abs=0.03), group
    assert mix["tekun_of_dibao"] == pytest.approx(0.12, abs=0.03)


def test_about_four_percent_change_identity_during_the_year(county: synth.SynthCounty) -> None:
    ident = county.identities
    changed = ident.filter((pl.col("valid_from") >= date(YEAR, 1, 1)) | pl.col("valid_to").is_not_null())
    assert 0.03 <= changed["psn_no"].n_unique() / county.persons <= 0.05
    # e.g. 监测 -> 低保: the old period ends the day before the new one starts
    ended = ident.filter(pl.col("valid_to").is_not_null()).select("psn_no", "category", "valid_to")
    started = ident.filter(pl.col("valid_from") >= date(YEAR, 1, 1)).select("psn_no", "category", "valid_from")
    moves = ended.join(started, on="psn_no", suffix="_new")
    assert moves.height > 0
    assert (moves["valid_from"] - moves["valid_to"] == timedelta(days=1)).all()
    pairs = set(moves.select("category", "category_new").iter_rows())
    assert ("jiance", "dibao") in pairs


def test_identity_periods_do_not_overlap_for_one_category(county: synth.SynthCounty) -> None:
    ident = county.identities
    assert (ident["valid_to"].is_null() | (ident["valid_to"] >= ident["valid_from"])).all()
    ordered = ident.sort("psn_no", "category", "valid_from").with_columns(
        pl.col("valid_to").shift().over("psn_no", "category").alias("prev_to"),
        pl.col("valid_from").shift().over("psn_no", "category").alias("prev_from"),
    )
    later = ordered.filter(pl.col("prev_from").is_not_null())
    assert later.filter(pl.col("prev_to").is_null() | (pl.col("prev_to") >= pl.col("valid_from"))).height == 0
    bureaus = dict(ident.select("category", "source_bureau").unique().iter_rows())
    assert {bureaus[c] for c in ("tekun", "dibao", "dibao_edge") if c in bureaus} == {"民政"}
    assert {bureaus[c] for c in ("tuopin", "jiance", "fanpin")} == {"乡村振兴"}


def test_enrolment_mostly_normal_with_special_statuses(county: synth.SynthCounty) -> None:
    enr = county.enrolments
    assert enr.height == county.persons
    assert 0.95 <= _num((enr["psn_insu_stas"] == "1").mean()) <= 0.99
    special = enr.filter(pl.col("psn_insu_stas") == "4")
    assert special.height > 0 and special["special_status"].is_in(["deceased", "military", "prison", "other_province"]).all()
    assert enr.filter(pl.col("psn_insu_stas") != "4")["special_status"].is_null().all()
    # 应保尽保: no monitored person is simply not enrolled
    monitored = county.identities.filter(pl.col("valid_from") < date(YEAR, 1, 1)).select("psn_no").unique()
    assert enr.join(monitored, on="psn_no").filter(pl.col("psn_insu_stas") == "0").height == 0


# --- claims ------------------------------------------------------------------------------------


def test_claims_sorted_unique_and_typed(county: synth.SynthCounty) -> None:
    claims = county.claims
    assert claims.columns == list(synth.CLAIM_COLUMNS)
    for col in ("medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt", "full_pay_scp_amt"):
        assert claims.schema[col] == pl.Int64, col
    assert claims.schema["setl_date"] == pl.Date and claims.schema["hosp_lv"] == pl.Int8
    assert claims["claim_id"].is_unique().all()
    assert claims.equals(claims.sort("psn_no", "setl_date", "claim_id"))
    assert claims["setl_date"].dt.year().unique().to_list() == [YEAR]
    assert claims["hosp_lv"].is_in([1, 2, 3]).all()
    inst = county.institutions
    assert 25 <= inst.height <= 35
    levels = claims.join(inst.select("fixmedins_code", pl.col("hosp_lv").alias("inst_lv")), on="fixmedins_code")
    assert levels.height == claims.height and (levels["hosp_lv"] == levels["inst_lv"]).all()


def test_amounts_add_up_exactly(county: synth.SynthCounty) -> None:
    c = county.claims
    parts = c["fulamt_ownpay_amt"] + c["overlmt_selfpay"] + c["preselfpay_amt"] + c["inscp_scp_amt"]
    assert (parts == c["medfee_sumamt"]).all()
    for col in ("fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt", "full_pay_scp_amt"):
        assert (c[col] >= 0).all(), col
    assert (c["medfee_sumamt"] > 0).all()
    assert (c["full_pay_scp_amt"] <= c["inscp_scp_amt"]).all()
    full = c.filter(pl.col("full_pay_scp_amt") > 0)
    assert full.height > 0
    assert (full["med_type"] == "11").all() and full["dise_codg"].is_in(["I10", "E11"]).all()
    inpatient = c.filter(pl.col("med_type") == "21")
    share = _num(inpatient["inscp_scp_amt"].sum()) / _num(inpatient["medfee_sumamt"].sum())
    assert 0.80 <= share <= 0.92


def test_volumes_and_places(county: synth.SynthCounty) -> None:
    c = county.claims
    assert 4.0 <= c.height / county.persons <= 6.0
    enrolled = _num((county.enrolments["psn_insu_stas"] == "1").sum())
    admissions = _num((c["med_type"] == "21").sum())
    assert 0.15 <= admissions / enrolled <= 0.21
    per_person = c.filter(pl.col("med_type") == "21").group_by("psn_no").len()["len"]
    assert _num(per_person.max()) >= 3 and _num((per_person >= 2).sum()) > 0.05 * per_person.len()
    place = dict(c.group_by("place").agg(pl.len() / c.height).iter_rows())
    assert place["in_county"] == pytest.approx(0.85, abs=0.03)
    assert place["out_of_county"] == pytest.approx(0.10, abs=0.03)
    assert place["cross_region"] == pytest.approx(0.05, abs=0.02)
    # people with a cross-region filing go cross-region far more often
    filed = c.join(county.cross_filings.select("psn_no").unique(), on="psn_no", how="semi")
    assert _num((filed["place"] == "cross_region").mean()) > 3 * place["cross_region"]
    # outpatient mostly at level 1, inpatient mostly at level 2
    lv = c.group_by("med_type").agg(pl.col("hosp_lv").mode().first())
    assert dict(lv.iter_rows()) == {"11": 1, "14": 2, "21": 2}
    assert county.cross_filings["psn_no"].n_unique() / county.persons == pytest.approx(0.02, abs=0.01)


def test_chronic_claims_only_with_a_filing_for_that_disease_in_force(county: synth.SynthCounty) -> None:
    chronic = county.claims.filter(pl.col("med_type") == "14").select("claim_id", "psn_no", "setl_date", "dise_codg")
    assert chronic.height > 0
    covered = (
        chronic.join(county.chronic_filings, on=["psn_no", "dise_codg"])
        .filter((pl.col("begin") <= pl.col("setl_date")) & (pl.col("end").is_null() | (pl.col("setl_date") <= pl.col("end"))))
        .select("claim_id")
        .unique()
    )
    assert covered.height == chronic.height
    adults = county.people.filter(pl.col("brdy") <= date(YEAR - 18, 1, 1)).height
    assert 0.07 <= county.chronic_filings["psn_no"].n_unique() / adults <= 0.14


def test_mean_inpatient_cost_is_lincangs() -> None:
    claims = synth.generate(200_000, YEAR, 42).claims.filter(pl.col("med_type") == "21")
    mean_yuan = _num(claims["medfee_sumamt"].mean()) / 100
    assert mean_yuan == pytest.approx(synth.LINCANG_INPATIENT_MEAN_YUAN, rel=0.15)
    assert _num((claims["medfee_sumamt"] > 300_000_00).sum()) >= 1  # a heavy tail
    assert _num(claims["medfee_sumamt"].median()) < mean_yuan * 100


# --- settlement --------------------------------------------------------------------------------

# The Anhui pack has resident lines only; these employee lines (illustrative values, as the
# benchmark's overlay) let every employee claim through the one-claim settlement too.
EMPLOYEE_LINES = """
overlay: test-employee-lines
changes:
  lines.emp_chronic_in_service:
    {label_zh: 职工门诊慢特病（在职）, label_en: employee chronic in service, insutype: "310", med_types: ["14"],
     emp_status: in_service, requires_filing: true, fallback: emp_outpatient_in_service, deductible_kind: none,
     ratio: {value: 80, assumed: test}, cap: {value: 100000, assumed: test}, cap_group: emp_pool}
  lines.emp_chronic_retired:
    {label_zh: 职工门诊慢特病（退休）, label_en: employee chronic retired, insutype: "310", med_types: ["14"],
     emp_status: retired, requires_filing: true, fallback: emp_outpatient_retired, deductible_kind: none,
     ratio: {value: 85, assumed: test}, cap: {value: 100000, assumed: test}, cap_group: emp_pool}
  lines.emp_outpatient_in_service:
    {label_zh: 职工普通门诊（在职）, label_en: employee outpatient in service, insutype: "310", med_types: ["11"],
     emp_status: in_service, deductible_kind: year, deductible: {value: 200, assumed: test},
     deductible_group: emp_out, ratio: {value: {1: 60, 2: 60, 3: 50}, assumed: test},
     cap_by_tier: {value: {unit: 3000, individual_2: 3000, individual_1: 800}, assumed: test}, cap_group: emp_out}
  lines.emp_outpatient_retired:
    {label_zh: 职工普通门诊（退休）, label_en: employee outpatient retired, insutype: "310", med_types: ["11"],
     emp_status: retired, deductible_kind: year, deductible: {value: 100, assumed: test},
     deductible_group: emp_out, ratio: {value: {1: 70, 2: 70, 3: 60}, assumed: test},
     cap_by_tier: {value: {unit: 4000, individual_2: 4000, individual_1: 1200}, assumed: test}, cap_group: emp_out}
  lines.emp_inpatient:
    {label_zh: 职工住院, label_en: employee inpatient, insutype: "310", med_types: ["21"], deductible_kind: admission,
     deductible: {value: {1: 200, 2: 400, 3: 800}, assumed: test}, ratio: {value: 88, assumed: test},
     cap: {value: 100000, assumed: test}, cap_group: emp_pool}
"""


def test_every_claim_of_a_small_county_settles() -> None:
    county = synth.generate(2_000, YEAR, 11)
    people, claims = synth.to_people_and_claims(county)
    assert len(people) == 2_000 and len(claims) == county.claims.height
    pack = load_pack("anhui-huaibei-2022")
    if not any(line.insutype == "310" for line in pack.at(date(YEAR, 1, 1)).lines.values()):
        pack = apply_overlay(pack, overlay_from_mapping(yaml.safe_load(EMPLOYEE_LINES), "test-employee-lines"))
    by_person: dict[str, list[Claim]] = defaultdict(list)
    for claim in claims:
        by_person[claim.psn_no].append(claim)
    lines: dict[str, int] = defaultdict(int)
    insutypes: dict[str, int] = defaultdict(int)
    settled = 0
    for psn_no, own in by_person.items():
        person = people[psn_no]
        if person.insutype == "310":
            assert person.emp_status is not None and person.emp_tier is not None
        for s in settle_sequence(pack, person, own):
            settled += 1
            lines[s.line] += 1
            assert s.fund_pay_sumamt + s.psn_part_amt == s.medfee_sumamt
            if s.med_type == "14":  # a filing covers it: no fallback to general outpatient
                assert not any(step.key == "fallback" for step in s.trace), s.claim_id
            insutypes[s.insutype] += 1
    assert settled == len(claims)
    assert {"inpatient", "chronic", "two_diseases", "outpatient"} <= set(lines)
    assert insutypes["310"] > 0 and insutypes["390"] > 0
