"""Every shipped pack's worked cases (``<pack>.cases.yaml`` beside the pack) settle to the amounts the
case file gives, to the fen, with the scalar core and with the batch engine; bad case files are refused
naming file, case, field, value and what was expected; ``yibao policy check`` reports both.

The expected amounts live in the case files, worked out by hand there (each case's ``working``);
nothing here is copied from the code's output.
"""

from __future__ import annotations

import fnmatch
import shutil
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from yibao.core.errors import InputError, InputErrors, where_in
from yibao.core.money import fen_to_yuan_str
from yibao.core.vocab import AMOUNT_FIELDS
from yibao.entrypoints.cli.main import app as cli_app
from yibao.policy import load_pack, shipped_packs
from yibao.policy.cases import PAYER_PARTS, Expected, cases_file, cases_from_mapping, load_cases
from yibao.policy.pack import PACKS_DIR
from yibao.settlement.batch.engine import settle_batch
from yibao.settlement.batch.frames import to_frames
from yibao.settlement.cases import BATCH, SCALAR, Mismatch, case_claims, case_person, check_case, summarised
from yibao.settlement.settle import settle_sequence

ROOT = Path(__file__).resolve().parents[2]
ALL_CASES = [(name, n) for name in shipped_packs() for n in range(1, len(load_cases(cases_file(name)).cases) + 1)]


def raw_cases(name: str) -> dict[str, Any]:
    loaded = yaml.safe_load(cases_file(name).read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


# --------------------------------------------------------------------------- the shipped cases


def test_every_shipped_pack_has_at_least_two_worked_cases() -> None:
    for name in shipped_packs():
        assert len(load_cases(cases_file(name), load_pack(name)).cases) >= 2, name


def test_cases_files_are_not_packs() -> None:
    names = shipped_packs()
    assert names and not any(n.endswith(".cases") for n in names)
    assert {p.name for p in PACKS_DIR.glob("*.cases.yaml")} == {f"{n}.cases.yaml" for n in names}


def test_package_data_ships_the_cases_files() -> None:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = data["tool"]["setuptools"]["package-data"]["yibao"]
    for path in PACKS_DIR.glob("*.cases.yaml"):
        inside = path.relative_to(ROOT / "src" / "yibao").as_posix()
        assert any(fnmatch.fnmatch(inside, p) for p in patterns), inside


def test_expected_may_pin_every_national_amount() -> None:
    assert set(AMOUNT_FIELDS) <= set(Expected.model_fields)


@pytest.mark.parametrize(("name", "number"), ALL_CASES, ids=[f"{n}-{i}" for n, i in ALL_CASES])
def test_worked_case_settles_to_the_expected_fen_with_both_engines(name: str, number: int) -> None:
    pack = load_pack(name)
    case = load_cases(cases_file(name), pack).cases[number - 1]
    person = case_person(case, number)
    claims = case_claims(case, person.psn_no)
    settled = list(settle_sequence(pack, person, claims))
    assert [s.claim_id for s in settled] == [c.claim_id for c in case.claims]
    batch = settle_batch(pack, to_frames([person], [summarised(c, s) for c, s in zip(claims, settled, strict=True)]))
    rows = {row["claim_id"]: row for row in batch.claims.iter_rows(named=True)}
    assert set(rows) == {c.claim_id for c in case.claims}
    for claim, s in zip(case.claims, settled, strict=True):
        want: dict[str, int | str] = {**claim.expect.amounts(), **claim.expect.texts()}
        scalar = {f: getattr(s, f) for f in (*AMOUNT_FIELDS, "identity", "line")}
        for got in (scalar, rows[claim.claim_id]):
            assert {f: got[f] for f in want} == want, (claim.claim_id, got)
            assert sum(got[f] for f in PAYER_PARTS) == got["medfee_sumamt"] == claim.total
            assert got["fund_pay_sumamt"] + got["psn_part_amt"] == got["medfee_sumamt"]


def test_check_case_names_each_difference_in_each_engine() -> None:
    pack = load_pack("anhui-huaibei-2022")
    raw = raw_cases("anhui-huaibei-2022")
    tk2 = raw["cases"][0]["claims"][1]["expect"]
    # one fen moved from the patient to critical illness: still adds up, but wrong
    tk2["hifmi_pay"], tk2["psn_part_amt"] = "22569.01", "2805.59"
    case = cases_from_mapping(raw, "t.cases.yaml", pack).cases[0]
    check = check_case(pack, case, 1)
    assert not check.ok and check.error is None
    assert check.mismatches == [
        Mismatch(SCALAR, "TK2", "hifmi_pay", 2_256_901, 2_256_900),
        Mismatch(SCALAR, "TK2", "psn_part_amt", 280_559, 280_560),
        Mismatch(BATCH, "TK2", "hifmi_pay", 2_256_901, 2_256_900),
        Mismatch(BATCH, "TK2", "psn_part_amt", 280_559, 280_560),
    ]
    assert check_case(pack, cases_from_mapping(raw_cases("anhui-huaibei-2022"), "t.cases.yaml", pack).cases[0], 1).ok


def test_check_case_reports_a_claim_the_pack_refuses() -> None:
    pack = load_pack("hainan-2023")
    raw = raw_cases("hainan-2023")
    raw["cases"][1]["claims"][0]["med_type"] = "99"  # no benefit line for it
    check = check_case(pack, cases_from_mapping(raw, "t.cases.yaml", pack).cases[1], 2)
    assert not check.ok and check.mismatches == []
    assert isinstance(check.error, InputError) and check.error.field == "med_type"


# --------------------------------------------------------------------------- bad case files


def _refused(raw: dict[str, Any], name: str = "anhui-huaibei-2022") -> InputError:
    with pytest.raises(InputErrors) as info:
        cases_from_mapping(raw, "bad.cases.yaml", load_pack(name))
    assert len(info.value.errors) == 1, info.value.render("en")
    return info.value.errors[0]


def _first_claim(raw: dict[str, Any]) -> dict[str, Any]:
    claim = raw["cases"][0]["claims"][0]
    assert isinstance(claim, dict)
    return claim


WIDE = {"COLUMNS": "300"}
"""Error messages are printed for a terminal this wide, so a test reads each on one line."""
WHERE_TK1 = "bad.cases.yaml · case 1 · claim TK1"
"""Where case 1's first claim is, in English (:func:`where`)."""


def where(err: InputError) -> str:
    return where_in(err.where, "en")


def test_an_amount_written_as_a_number_is_refused() -> None:
    raw = raw_cases("anhui-huaibei-2022")
    _first_claim(raw)["expect"]["hifp_pay"] = 300000
    err = _refused(raw)
    assert (where(err), err.field, err.value) == (WHERE_TK1, "expect.hifp_pay", 300000)
    assert "quoted string" in err.expected
    assert err.render("zh") == (
        "bad.cases.yaml · 算例 1「特困人员一年两次住院（封顶线、救助限额跨次累计）」 · 结算单 TK1："
        '字段 expect.hifp_pay 的值 300000 不正确，应为：用引号写出的金额（元），最多两位小数，如 "1234.50"'
    )
    assert err.render("en") == (
        "bad.cases.yaml · case 1 · claim TK1: field expect.hifp_pay has value 300000; "
        'expected yuan written as a quoted string with at most two decimals, e.g. "1234.50"'
    )


def test_an_amount_finer_than_a_fen_is_refused() -> None:
    raw = raw_cases("anhui-huaibei-2022")
    _first_claim(raw)["fee_lines"][1]["det_item_fee_sumamt"] = "100000.005"
    err = _refused(raw)
    assert (where(err), err.field, err.value) == (WHERE_TK1, "fee_lines[2].det_item_fee_sumamt", "100000.005")
    assert "two decimals" in err.expected


def test_an_unknown_fee_level_is_refused() -> None:
    raw = raw_cases("anhui-huaibei-2022")
    _first_claim(raw)["fee_lines"][2]["chrgitm_lv"] = "丁"
    err = _refused(raw)
    assert (err.field, err.value) == ("fee_lines[3].chrgitm_lv", "丁")
    assert "甲, 乙 or 丙" in err.expected


def test_a_missing_payer_is_refused() -> None:
    raw = raw_cases("anhui-huaibei-2022")
    del _first_claim(raw)["expect"]["maf_pay"]
    err = _refused(raw)
    assert (where(err), err.field, err.expected) == (WHERE_TK1, "expect.maf_pay", "Field required")


def test_payers_and_patient_that_do_not_add_up_to_the_bill_are_refused() -> None:
    raw = raw_cases("anhui-huaibei-2022")
    _first_claim(raw)["expect"]["psn_part_amt"] = "41022.53"
    err = _refused(raw)
    assert (where(err), err.field) == (WHERE_TK1, "expect")
    assert "= the bill (520000.00 yuan); they add to 520000.01" in err.expected


def test_a_hand_computed_case_without_its_working_is_refused() -> None:
    raw = raw_cases("anhui-huaibei-2022")
    raw["cases"][2]["working"] = "  "
    err = _refused(raw)
    assert where(err) == "bad.cases.yaml · case 3"
    assert where_in(err.where, "zh") == "bad.cases.yaml · 算例 3「返贫致贫人口三级医院住院」"
    assert (err.field, err.value) == ("working", "  ")
    assert "arithmetic" in err.expected


def test_a_title_not_in_chinese_is_refused() -> None:
    raw = raw_cases("anhui-huaibei-2022")
    raw["cases"][1]["title"] = "dibao inpatient"
    err = _refused(raw)
    assert (where(err), err.field, err.value) == ("bad.cases.yaml · case 2", "title", "dibao inpatient")


def test_claims_out_of_date_order_are_refused() -> None:
    raw = raw_cases("anhui-huaibei-2022")
    raw["cases"][0]["claims"].reverse()
    err = _refused(raw)
    assert err.field == "claims" and "date order" in err.expected


def test_fee_lines_and_a_summary_together_are_refused() -> None:
    raw = raw_cases("anhui-huaibei-2022")
    _first_claim(raw)["summary"] = {"medfee_sumamt": "520000.00"}
    err = _refused(raw)
    assert (where(err), err.field) == (WHERE_TK1, "fee_lines")
    assert "not both" in err.expected


def test_a_summary_whose_parts_exceed_the_bill_is_refused() -> None:
    raw = raw_cases("hainan-2023")
    raw["cases"][0]["claims"][0]["summary"]["preselfpay_amt"] = "145000.00"
    err = _refused(raw, "hainan-2023")
    assert err.field == "summary" and "= medfee_sumamt (150000.00 yuan)" in err.expected


def test_a_misspelt_key_and_an_unknown_identity_are_refused() -> None:
    raw = raw_cases("anhui-huaibei-2022")
    _first_claim(raw)["expct"] = _first_claim(raw).pop("expect")
    raw["cases"][1]["person"]["identities"][0]["category"] = "低包"
    with pytest.raises(InputErrors) as info:
        cases_from_mapping(raw, "bad.cases.yaml", load_pack("anhui-huaibei-2022"))
    by_field = {e.field: e for e in info.value.errors}
    assert where(by_field["expct"]) == WHERE_TK1 and by_field["expct"].expected == "Extra inputs are not permitted"
    assert by_field["expect"].expected == "Field required"
    ident = by_field["person.identities[1].category"]
    assert ident.value == "低包" and "unknown identity category" in ident.expected


def test_a_claim_outside_the_pack_and_a_case_for_another_pack_are_refused() -> None:
    raw = raw_cases("anhui-huaibei-2022")
    raw["cases"][1]["claims"][0]["setl_date"] = "2023-04-12"
    raw["pack"] = "hainan-2023"
    with pytest.raises(InputErrors) as info:
        cases_from_mapping(raw, "bad.cases.yaml", load_pack("anhui-huaibei-2022"))
    pack_err, date_err = info.value.errors
    assert (pack_err.field, pack_err.value) == ("pack", "hainan-2023")
    assert "anhui-huaibei-2022" in pack_err.expected
    assert (where(date_err), date_err.field, date_err.value) == ("bad.cases.yaml · case 2 · claim DB1", "setl_date", "2023-04-12")
    assert date_err.render("zh").endswith(
        "结算单 DB1：字段 setl_date 的值 '2023-04-12' 不正确，应为：政策包有效期内的日期（2022-01-01 至 2022-12-31）"
    )
    assert "2022-01-01 .. 2022-12-31" in date_err.expected


def test_a_missing_or_malformed_cases_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputErrors) as info:
        load_cases(tmp_path / "nowhere.cases.yaml")
    assert info.value.errors[0].where == "nowhere.cases.yaml"
    broken = tmp_path / "broken.cases.yaml"
    broken.write_text("pack: x\ncases: [\n", encoding="utf-8")
    with pytest.raises(InputErrors) as info:
        load_cases(broken)
    assert (info.value.errors[0].where, info.value.errors[0].field) == ("broken.cases.yaml", "(YAML)")
    with pytest.raises(InputErrors) as info:
        cases_from_mapping(["a", "list"], "list.cases.yaml")
    assert info.value.errors[0].field == "(top level)"


@given(st.integers(0, 10**13))
def test_yuan_strings_parse_exactly_to_fen(fen: int) -> None:
    raw = {
        "pack": "p",
        "cases": [
            {
                "title": "金额",
                "source": "test",
                "claims": [
                    {
                        "claim_id": "C1",
                        "setl_date": "2022-01-01",
                        "med_type": 21,
                        "hosp_lv": 1,
                        "summary": {"medfee_sumamt": fen_to_yuan_str(fen)},
                        "expect": {"hifp_pay": fen_to_yuan_str(fen), **dict.fromkeys(PAYER_PARTS[1:], "0")},
                    }
                ],
            }
        ],
    }
    claim = cases_from_mapping(raw, "p.cases.yaml").cases[0].claims[0]
    assert claim.summary is not None and claim.summary.medfee_sumamt == fen == claim.expect.hifp_pay
    assert claim.med_type == "21"


# --------------------------------------------------------------------------- yibao policy check


def test_policy_check_passes_on_a_shipped_pack() -> None:
    run = CliRunner().invoke(cli_app, ["policy", "check", "anhui-huaibei-2022"])
    assert run.exit_code == 0, run.output
    assert "政策包 anhui-huaibei-2022 的算例（anhui-huaibei-2022.cases.yaml）" in run.output
    assert "✓ 1. 特困人员一年两次住院（封顶线、救助限额跨次累计）：2 笔结算" in run.output
    assert "共 7 个算例：7 个相符，0 个不符。" in run.output
    assert "✗" not in run.output


def _copy_pack(tmp_path: Path, name: str) -> tuple[Path, Path]:
    pack, cases = tmp_path / "my-region.yaml", tmp_path / "my-region.cases.yaml"
    shutil.copy(PACKS_DIR / f"{name}.yaml", pack)
    shutil.copy(cases_file(name), cases)
    for path in (pack, cases):
        path.write_text(path.read_text(encoding="utf-8").replace(f"pack: {name}", "pack: my-region"), encoding="utf-8")
    return pack, cases


def test_policy_check_fails_on_a_wrong_amount_in_a_copied_pack(tmp_path: Path) -> None:
    pack, cases = _copy_pack(tmp_path, "hainan-2023")
    text = cases.read_text(encoding="utf-8")
    text = text.replace('hifmi_pay: "17436.00"', 'hifmi_pay: "17436.01"')
    text = text.replace('psn_part_amt: "38624.00"', 'psn_part_amt: "38623.99"')
    cases.write_text(text, encoding="utf-8")
    run = CliRunner().invoke(cli_app, ["policy", "check", str(pack)])
    assert run.exit_code == 1, run.output
    assert "✗ 1. 普通居民三级医院住院（大病保险按累计金额分段）：4 处与预期不符" in run.output
    assert "单号 HN-1 · 逐笔结算 · 大病保险支付 hifmi_pay：应为 17,436.01，实为 17,436.00" in run.output
    assert "单号 HN-1 · 批量引擎 · 个人负担总额 psn_part_amt：应为 38,623.99，实为 38,624.00" in run.output
    assert "✓ 2." in run.output and "共 3 个算例：2 个相符，1 个不符。" in run.output
    run = CliRunner().invoke(cli_app, ["policy", "check", str(pack), "--lang", "en"])
    assert run.exit_code == 1
    assert "claim HN-1 · batch engine · critical illness hifmi_pay: expected 17,436.01, got 17,436.00" in run.output
    assert "3 case(s): 2 as expected, 1 not." in run.output
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in run.output), run.output


def test_policy_check_refuses_a_bad_or_missing_cases_file(tmp_path: Path) -> None:
    pack, cases = _copy_pack(tmp_path, "shandong-zibo-2020")
    cases.write_text(cases.read_text(encoding="utf-8").replace('hifp_pay: "62200.00"', "hifp_pay: 62200"), encoding="utf-8")
    run = CliRunner().invoke(cli_app, ["policy", "check", str(pack)], env=WIDE)
    assert run.exit_code == 2
    assert "my-region.cases.yaml · 算例 1「建档立卡贫困人口二级医院住院（基本医保、大病保险倾斜）」 · 结算单 ZB-1" in run.output
    assert "expect.hifp_pay" in run.output and "62200" in run.output
    cases.unlink()
    run = CliRunner().invoke(cli_app, ["policy", "check", str(pack)], env=WIDE)
    assert run.exit_code == 2 and "my-region.cases.yaml" in run.output
