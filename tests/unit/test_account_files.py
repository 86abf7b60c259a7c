"""The personal account's balance from a people file (``acct_balance``, yuan) for ``yibao settle``, and its payment in
the settlements file (issue 15, feature 13).

Huaibei's ``employee_outpatient`` line with ``personal_account: all`` (yearly deductible 200 yuan, 60 % at level 2):
a 1,000-yuan claim leaves a share of 520 (fund (1,000 - 200) x 60 % = 480), a 500-yuan claim a share of 200 (fund 300).
With 600 yuan in the account the first is paid from it whole, the second 80 from it and 120 in cash.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from tests.db.test_personal_account import PACK
from typer.testing import CliRunner

from yibao.core.errors import InputErrors
from yibao.core.money import fen_to_yuan_str, fmt_yuan
from yibao.entrypoints.cli.main import app, settle_file
from yibao.interfaces.claim_csv import MAX_BALANCE_FEN, Row, acct_balance, read_claims, read_people
from yibao.policy.pack import PACKS_DIR

CLAIMS = "claim_id,psn_no,setl_date,med_type,hosp_lv,medfee_sumamt\nC1,E1,2022-03-01,11,2,1000\nC2,E1,2022-04-01,11,2,500\n"


def test_people_file_balance_pays_the_share_until_it_runs_out(tmp_path: Path) -> None:
    people = tmp_path / "people.csv"
    people.write_text("psn_no,insutype,emp_status,emp_tier,acct_balance\nE1,310,in_service,unit,600.00\n", encoding="utf-8")
    (tmp_path / "claims.csv").write_text(CLAIMS, encoding="utf-8")
    persons = read_people(people)
    assert persons["E1"].acct_balance == 60_000
    s1, s2 = settle_file(PACK, persons, read_claims(tmp_path / "claims.csv", persons), "claims.csv")
    assert (s1.psn_part_amt, s1.acct_pay, s1.psn_cash_pay) == (52_000, 52_000, 0)
    assert (s2.psn_part_amt, s2.acct_pay, s2.psn_cash_pay) == (20_000, 8_000, 12_000)


def test_the_settlements_file_carries_the_account_and_cash(tmp_path: Path) -> None:
    pack = tmp_path / "pack.yaml"
    raw = yaml.safe_load((PACKS_DIR / "anhui-huaibei-2022.yaml").read_text(encoding="utf-8"))
    raw["policy"]["lines"]["employee_outpatient"]["personal_account"] = "all"
    pack.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    (tmp_path / "people.csv").write_text("psn_no,insutype,emp_status,emp_tier,acct_balance\nE1,310,in_service,unit,600\n")
    (tmp_path / "claims.csv").write_text(CLAIMS)
    out = tmp_path / "out.csv"
    args = [
        str(tmp_path / "claims.csv"),
        "-p",
        str(pack),
        "--people",
        str(tmp_path / "people.csv"),
        "-o",
        str(out),
        "--lang",
        "en",
    ]
    run = CliRunner().invoke(app, ["settle", *args])
    assert run.exit_code == 0, run.output
    rows = list(csv.DictReader(out.open(encoding="utf-8-sig")))
    assert [(r["psn_part_amt"], r["acct_pay"], r["psn_cash_pay"]) for r in rows] == [
        ("520.00", "520.00", "0.00"),
        ("200.00", "80.00", "120.00"),
    ]


def test_bad_balances_are_refused_with_row_field_and_value(tmp_path: Path) -> None:
    people = tmp_path / "people.csv"
    people.write_text(
        'psn_no,insutype,acct_balance\nE1,310,12.345\nE2,310,-1\nR1,390,100\nR2,,5\nE3,310,"1,000.50"\nR3,390,\n',
        encoding="utf-8",
    )
    with pytest.raises(InputErrors) as e:
        read_people(people)
    assert [(x.where, x.field, x.value) for x in e.value.errors] == [
        ("people.csv row 2", "acct_balance", "12.345"),
        ("people.csv row 3", "acct_balance", "-1"),
        ("people.csv row 4", "acct_balance", "100"),
        ("people.csv row 5", "acct_balance", "5"),
    ]
    assert "居民（390）应为空：只有职工（310）有个人账户" in e.value.errors[2].render("zh")
    assert "only employees (310) have a personal account" in e.value.errors[2].render("en")


@given(st.integers(0, MAX_BALANCE_FEN), st.booleans())
def test_a_balance_written_in_yuan_reads_back_to_the_same_fen(fen: int, grouped: bool) -> None:
    text = fmt_yuan(fen) if grouped else fen_to_yuan_str(fen)  # 1,234.56 or 1234.56
    row = Row("people.csv", 2, {"acct_balance": text}, [])
    assert acct_balance(row, "310") == fen and row.errors == []
    assert acct_balance(Row("people.csv", 2, {"acct_balance": text}, []), "390") is None


@given(st.integers(MAX_BALANCE_FEN + 1, 10 * MAX_BALANCE_FEN) | st.integers(-MAX_BALANCE_FEN, -1))
def test_a_balance_out_of_range_is_refused(fen: int) -> None:
    row = Row("people.csv", 7, {"acct_balance": fen_to_yuan_str(fen)}, [])
    assert acct_balance(row, "310") is None
    (error,) = row.errors
    assert (error.where, error.field, error.value) == ("people.csv row 7", "acct_balance", fen_to_yuan_str(fen))
