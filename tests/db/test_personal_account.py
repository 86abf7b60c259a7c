"""The personal account stored, supplied and shown (issue 15, feature 13), on SQLite and PostgreSQL.

An employee's balance for 2022 is loaded from a people file; two outpatient claims settle under the Huaibei pack
with its employee outpatient line given ``personal_account: all``, the first at the service, the second by a hospital
over 2201/2204/2207. The ledger keeps each ``acct_pay``, the year's ``acct_paid`` accumulator counts them, a
reversal gives its payment back, verification checks the ledger against the accumulator, reconciliation compares
``acct_pay`` with the hospital's books, the slip and the person page show the figures.

Hand computation (Huaibei ``employee_outpatient``, in service: yearly deductible 200 yuan, 60 % at level 2, cap
3,000; hospital H53090200001 is level 2; balance 600 yuan):

* claim 1, 1,000 yuan: fund (1,000 - 200) x 60 % = 480; share 520; the account pays 520 (80 left); cash 0.
* claim 2, 500 yuan: deductible met, fund 500 x 60 % = 300; share 200; the account pays 80 (nothing left); cash 120.
* reversing claim 2 gives 80 back: paid 520, left 80.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from typer.testing import CliRunner

from tests.accounts import HOSPITAL, seed_accounts, signed_in
from tests.db.test_fuzz import _call, _sign_in
from yibao.app import ledger, personal_account, slips
from yibao.app.history import settle_history
from yibao.app.position import position
from yibao.core.errors import InputErrors
from yibao.entrypoints.cli.main import app as cli_app
from yibao.entrypoints.http import create_app
from yibao.policy.pack import PACKS_DIR, PolicyPack, pack_from_mapping
from yibao.settlement.model import Claim, PolicyRangeSummary
from yibao.store.db import Database
from yibao.store.service_tables import LedgerEntry, YearToDateRow
from yibao.store.tables import Enrolment, Person, PersonalAccount


def _pack() -> PolicyPack:
    raw = yaml.safe_load((PACKS_DIR / "anhui-huaibei-2022.yaml").read_text(encoding="utf-8"))
    raw["policy"]["lines"]["employee_outpatient"]["personal_account"] = "all"
    return pack_from_mapping(raw, "anhui-huaibei-2022-account.yaml")


PACK = _pack()
D = Decimal
EMPLOYEE = "P2"
RESIDENT = "P1"


def _people(db: Database) -> None:
    """An employee in service (P2) and a resident (P1), both enrolled for 2022."""
    now = datetime.now(UTC)
    with db.unit_of_work() as s:
        for psn_no, certno, name, insutype in (
            (RESIDENT, "530902196207040026", "杨桂芳", "390"),
            (EMPLOYEE, "530902198001010011", "李建国", "310"),
        ):
            p = Person(psn_no=psn_no, certno=certno, psn_name=name, gend="1", brdy=date(1980, 1, 1), insutype=insutype,
                       emp_status="in_service" if insutype == "310" else None, emp_tier="unit" if insutype == "310" else None,
                       recorded_at=now, recorded_by="seed")  # fmt: skip
            s.add(p)
            s.flush()
            s.add(Enrolment(person_id=p.id, year=2022, insutype=insutype, psn_insu_stas="1", recorded_at=now, recorded_by="seed"))
        s.commit()


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _ytd(db: Database) -> dict[str, Any]:
    with db.unit_of_work() as s:
        pid = s.scalar(sa.select(Person.id).where(Person.psn_no == EMPLOYEE))
        data = s.scalar(sa.select(YearToDateRow.data).where(YearToDateRow.person_id == pid, YearToDateRow.year == 2022))
    return dict(json.loads(data or "{}"))


def _entry(db: Database, setl_id: str) -> LedgerEntry:
    with db.unit_of_work() as s:
        e = ledger.get_entry(s, setl_id)
        s.expunge(e)
        return e


def test_balance_settles_into_the_ledger_is_given_back_and_reconciled(db: Database, tmp_path: Path) -> None:
    seed_accounts(db)
    _people(db)
    people = _write(tmp_path / "people.csv", "psn_no,psn_name,insutype,acct_balance\nP1,杨桂芳,390,\nP2,李建国,310,600.00\n")
    with db.unit_of_work() as s:
        assert personal_account.load_balances(s, people, 2022, "clerk") == 1
        s.commit()
    with db.unit_of_work() as s:
        (row,) = s.scalars(sa.select(PersonalAccount))
        assert (row.year, row.balance_fen, row.source, row.recorded_by) == (2022, 60_000, "people.csv row 3", "clerk")

    # claim 1 at the service: 1,000 yuan -> fund 480, share 520, all from the account
    claim = Claim("C1", EMPLOYEE, date(2022, 3, 1), "11", 2, "in_county", "", (), PolicyRangeSummary(100_000), HOSPITAL)
    with db.unit_of_work() as s:
        done = ledger.settle_claim(s, PACK, claim, "clerk", fixmedins_code=HOSPITAL)
        s.commit()
    first = done.entry.setl_id
    assert (done.settlement.line, done.settlement.hifp_pay, done.settlement.psn_part_amt) == (
        "employee_outpatient",
        48_000,
        52_000,
    )
    e1 = _entry(db, first)
    assert (e1.acct_pay, e1.psn_part_amt) == (52_000, 52_000)
    assert _ytd(db)["acct_paid"] == 52_000

    # claim 2 by the hospital: 500 yuan -> fund 300, share 200, the account's last 80, cash 120
    app = create_app(db, PACK)
    token = _sign_in(app, "his")

    def send(infno: str, inp: dict[str, Any], n: list[int] = [0]) -> dict[str, Any]:  # noqa: B006
        n[0] += 1
        r = _call(app, "POST", "/api/hsa", token, json={"infno": infno, "msgid": f"A{n[0]}", "input": inp})
        out = json.loads(r.text, parse_float=Decimal)  # amounts exactly as sent
        assert r.status_code == 200 and out["infcode"] == "0", r.text
        return dict(out["output"])

    m = send("2201", {"data": {"psn_no": EMPLOYEE, "begntime": "2022-04-01", "med_type": "11"}})["data"]["mdtrt_id"]
    line = {
        "mdtrt_id": m,
        "feedetl_sn": "1",
        "chrgitm_lv": "01",
        "det_item_fee_sumamt": "500.00",
        "med_list_codg": "001102000010000",
    }  # 检查化验, in the audit pack's catalogue
    send("2204", {"feedetail": [line]})
    pre = send("2206", {"data": {"mdtrt_id": m}})["setlinfo"]
    info = send("2207", {"data": {"mdtrt_id": m}})["setlinfo"]
    second = info["setl_id"]
    for answer in (pre, info):
        assert (answer["hifp_pay"], answer["psn_part_amt"]) == (D("300.00"), D("200.00"))
        assert (answer["acct_pay"], answer["psn_cash_pay"], answer["balc"]) == (D("80.00"), D("120.00"), D("0.00"))
    e2 = _entry(db, second)
    assert (e2.acct_pay, e2.psn_part_amt) == (8_000, 20_000)
    assert _ytd(db)["acct_paid"] == 60_000
    with db.unit_of_work() as s:
        assert ledger.verify(s) == []
        slip = slips.build_slip(s, second, PACK)
        assert (slip.psn_part_amt, slip.acct_pay, slip.psn_cash_pay) == (20_000, 8_000, 12_000)
        assert ledger.entry_dict(e2)["psn_cash_pay"] == 12_000

    # the hospital's books: claim 1 right, claim 2 without the account's payment
    listed = [
        {"setl_id": first, "medfee_sumamt": "1000.00", "fund_pay_sumamt": "480.00", "acct_pay": "520.00"},
        {"setl_id": second, "medfee_sumamt": "500.00", "fund_pay_sumamt": "300.00", "acct_pay": "0.00"},
    ]
    period = {"stmt_begndate": "2022-01-01", "stmt_enddate": "2022-12-31"}
    detail = send("3202", {"data": period, "detail": listed})
    (diff,) = detail["differences"]
    assert (diff["kind"], diff["setl_id"]) == ("amount_differs", second)
    assert diff["fields"] == [{"field": "acct_pay", "field_zh": "个人账户支出", "his": D("0.00"), "platform": D("80.00")}]
    assert diff["platform"]["acct_pay"] == D("80.00")
    # platform totals: medfee 1,500, fund 780, account 600 (520 + 80), cash 120 (shares 720 less the account's 600)
    platform: dict[str, object] = {"medfee_sumamt": D("1500.00"), "fund_pay_sumamt": D("780.00"), "acct_pay": D("600.00")}
    platform |= {"cash_payamt": D("120.00"), "fixmedins_setl_cnt": 2}
    assert detail["totals"]["platform"] == platform
    totals = send("3201", {"data": period | {"medfee_sumamt": "1500.00", "fund_pay_sumamt": "780.00", "acct_pay": "520.00",
                                             "fixmedins_setl_cnt": 2}})["stmtinfo"]  # fmt: skip
    assert (totals["stmt_rslt"], totals["acct_pay"]) == ("1", D("600.00"))
    assert [(d["field"], d["his"], d["platform"]) for d in totals["diff"]] == [("acct_pay", D("520.00"), D("600.00"))]

    # 1101: the employee's 2022 enrolment shows what is left in the account (nothing)
    (insured,) = send("1101", {"data": {"psn_no": EMPLOYEE}})["insuinfo"]
    assert (insured["insutype"], insured["balc"]) == ("310", D("0.00"))

    # reversing claim 2 gives its 80 yuan back to the account
    cancelled = send("2208", {"data": {"setl_id": second}})["setlinfo"]
    assert (cancelled["acct_pay"], cancelled["psn_cash_pay"]) == (D("-80.00"), D("-120.00"))
    assert _ytd(db)["acct_paid"] == 52_000
    with db.unit_of_work() as s:
        rev = s.scalar(sa.select(LedgerEntry).where(LedgerEntry.reverses == second))
        assert rev is not None and (rev.acct_pay, rev.psn_part_amt) == (-8_000, -20_000)
        assert ledger.verify(s) == []
        p = s.scalar(sa.select(Person).where(Person.psn_no == EMPLOYEE))
        assert p is not None
        assert position(s, PACK, p, 2022)["account"] == {"balance": 60_000, "paid": 52_000, "left": 8_000}
        assert position(s, PACK, p, 2023)["account"] is None
    (insured,) = send("1101", {"data": {"psn_no": EMPLOYEE}})["insuinfo"]
    assert insured["balc"] == D("80.00")
    agreed = send("3201", {"data": period | {"medfee_sumamt": "1000.00", "fund_pay_sumamt": "480.00", "acct_pay": "520.00",
                                             "fixmedins_setl_cnt": 1}})["stmtinfo"]  # fmt: skip
    assert (agreed["stmt_rslt"], agreed["acct_pay"]) == ("0", D("520.00"))

    # the person page: balance 600, paid 520, left 80
    page = signed_in(app, "clerk").get(f"/persons/{EMPLOYEE}?year=2022")
    assert page.status_code == 200
    account = page.text.split('id="personal-account"', 1)[1].split("</table>", 1)[0]
    for shown in ('data-field="balance">600.00', 'data-field="paid">520.00', 'data-field="left">80.00'):
        assert shown in account, account

    # verification finds an entry whose acct_pay was altered behind the ledger's back
    with db.unit_of_work() as s:
        s.execute(sa.update(LedgerEntry).where(LedgerEntry.setl_id == first).values(acct_pay=50_000))
        s.commit()
    with db.unit_of_work() as s:
        assert ledger.verify(s) == [{"setl_id": first, "acct_pay": 50_000, "consumed_acct_paid": 52_000, "psn_part_amt": 52_000}]
    shown = signed_in(app, "auditor").get("/reconcile/verify?run=1").text
    table = shown.split('id="account-diffs"', 1)[1].split("</table>", 1)[0]
    assert first in table and "500.00" in table and "520.00" in table


def test_a_later_balance_replaces_the_earlier_for_the_claims_after_it(db: Database) -> None:
    """Balance 100 yuan, then corrected to 1,000: the claim settled after the correction draws on 1,000."""
    seed_accounts(db)
    _people(db)
    with db.unit_of_work() as s:
        p = s.scalar(sa.select(Person).where(Person.psn_no == EMPLOYEE))
        assert p is not None
        personal_account.add_balance(s, p, 2022, 10_000, "clerk", "command line")
        personal_account.add_balance(s, p, 2022, 100_000, "clerk", "command line")
        personal_account.add_balance(s, p, 2023, 1, "clerk", "command line")
        s.commit()
    claim = Claim("C1", EMPLOYEE, date(2022, 3, 1), "11", 2, "in_county", "", (), PolicyRangeSummary(100_000), HOSPITAL)
    with db.unit_of_work() as s:
        done = ledger.settle_claim(s, PACK, claim, "clerk", fixmedins_code=HOSPITAL)
        s.commit()
    # share 520, balance 1,000: all from the account
    assert (done.settlement.acct_pay, done.settlement.psn_cash_pay) == (52_000, 0)


def test_the_api_records_a_balance_for_a_clerk_and_refuses_bad_ones(db: Database) -> None:
    seed_accounts(db)
    _people(db)
    app = create_app(db, PACK)
    clerk, his = _sign_in(app, "clerk"), _sign_in(app, "his")
    url = f"/api/persons/{EMPLOYEE}/personal-accounts"
    done = _call(app, "POST", url, clerk, json={"year": 2022, "balance_fen": 60_000})
    assert done.status_code == 201, done.text
    assert {k: done.json()[k] for k in ("psn_no", "year", "balance_fen", "recorded_by")} == {
        "psn_no": EMPLOYEE, "year": 2022, "balance_fen": 60_000, "recorded_by": "clerk",
    }  # fmt: skip
    resident = _call(app, "POST", f"/api/persons/{RESIDENT}/personal-accounts", clerk, json={"year": 2022, "balance_fen": 1})
    assert resident.status_code == 422 and resident.json()["field"] == "insutype", resident.text
    refused = [
        _call(app, "POST", url, clerk, json={"year": 2022, "balance_fen": -1}).status_code,
        _call(app, "POST", url, clerk, json={"year": 2022, "balance_fen": 10**10 + 1}).status_code,
        _call(app, "POST", url, clerk, json={"year": 1989, "balance_fen": 1}).status_code,
        _call(app, "POST", "/api/persons/P9/personal-accounts", clerk, json={"year": 2022, "balance_fen": 1}).status_code,
        _call(app, "POST", url, his, json={"year": 2022, "balance_fen": 1}).status_code,
    ]
    assert refused == [422, 422, 422, 404, 403]
    with db.unit_of_work() as s:
        rows = [(r.year, r.balance_fen, r.source) for r in s.scalars(sa.select(PersonalAccount))]
    assert rows == [(2022, 60_000, "api")]
    shown = _call(app, "GET", f"/api/persons/{EMPLOYEE}", clerk).json()["accounts"]
    assert [(a["year"], a["balance_fen"], a["source"]) for a in shown] == [(2022, 60_000, "api")]


def test_bad_balances_in_a_people_file_are_refused_naming_row_field_and_value(db: Database, tmp_path: Path) -> None:
    seed_accounts(db)
    _people(db)
    bad = _write(
        tmp_path / "people.csv",
        'psn_no,insutype,acct_balance\nP2,310,12.345\nP2,310,-5\nP2,310,abc\nP1,390,100\nP9,310,100\nP2,310,"1,234.56"\n',
    )
    with db.unit_of_work() as s, pytest.raises(InputErrors) as e:
        personal_account.load_balances(s, bad, 2022, "clerk")
    found = [(x.where, x.field, x.value) for x in e.value.errors]
    assert found == [
        ("people.csv row 2", "acct_balance", "12.345"),
        ("people.csv row 3", "acct_balance", "-5"),
        ("people.csv row 4", "acct_balance", "abc"),
        ("people.csv row 5", "acct_balance", "100"),
    ]
    assert "居民（390）应为空" in e.value.errors[3].render("zh")
    # the format is right: now the people themselves are checked, every row reported, nothing written
    unknown = _write(tmp_path / "people2.csv", 'psn_no,acct_balance\nP9,100\nP2,"1,234.56"\nP1,5\n')
    with db.unit_of_work() as s, pytest.raises(InputErrors) as e:
        personal_account.load_balances(s, unknown, 2022, "clerk")
    assert [(x.where, x.field, x.value) for x in e.value.errors] == [
        ("people2.csv row 2", "psn_no", "P9"),
        ("people2.csv row 4", "insutype", "390"),
    ]
    with db.unit_of_work() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(PersonalAccount)) == 0


@pytest.mark.slow  # quick command: left out for time; the full suite runs it
def test_the_command_line_records_a_balance_and_imports_a_people_file(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    path = tmp_path / "cli.db"
    shutil.copyfile(request.getfixturevalue("_sqlite_migrated"), path)
    env = {"YIBAO_DATABASE_URL": f"sqlite:///{path}", "COLUMNS": "200"}
    db = Database.open(env["YIBAO_DATABASE_URL"])
    try:
        _people(db)
        run = CliRunner().invoke(
            cli_app, ["filing", "account", EMPLOYEE, "--year", "2022", "--balance", "1234.56", "--user", "wq"], env=env
        )
        assert run.exit_code == 0, run.output
        assert "已登记个人账户余额：李建国 2022 年度 1,234.56 元" in run.output
        bad = CliRunner().invoke(cli_app, ["filing", "account", EMPLOYEE, "--year", "2022", "--balance", "12.345"], env=env)
        assert bad.exit_code == 2 and "balance" in bad.output and "12.345" in bad.output, bad.output
        resident = CliRunner().invoke(
            cli_app, ["filing", "account", RESIDENT, "--year", "2022", "--balance", "1", "--lang", "en"], env=env
        )
        assert resident.exit_code == 2 and "insutype" in resident.output and "only employees" in resident.output, resident.output
        people = _write(tmp_path / "people.csv", "psn_no,acct_balance\nP2,2000\n")
        loaded = CliRunner().invoke(cli_app, ["import", "accounts", str(people), "--year", "2023"], env=env)
        assert loaded.exit_code == 0 and "已导入 1 条 2023 年度个人账户余额" in loaded.output, loaded.output
        bad_file = _write(tmp_path / "bad.csv", "psn_no,acct_balance\nP2,x\n")
        refused = CliRunner().invoke(cli_app, ["import", "accounts", str(bad_file), "--year", "2023"], env=env)
        assert refused.exit_code == 2 and "bad.csv 第 2 行" in refused.output and "acct_balance" in refused.output, refused.output
        shown = CliRunner().invoke(cli_app, ["person", "show", EMPLOYEE], env=env)
        assert shown.exit_code == 0, shown.output
        assert "个人账户余额：2022 年度 1,234.56 元（command line，wq）" in shown.output
        assert "个人账户余额：2023 年度 2,000.00 元（people.csv row 2，" in shown.output
        with db.unit_of_work() as s:
            rows = [
                (r.year, r.balance_fen, r.source, r.recorded_by)
                for r in s.scalars(sa.select(PersonalAccount).order_by(PersonalAccount.id))
            ]
        assert rows[0] == (2022, 123_456, "command line", "wq")
        assert rows[1][:3] == (2023, 200_000, "people.csv row 2") and len(rows) == 2
    finally:
        db.engine.dispose()


def test_settling_history_draws_on_the_recorded_balance(db: Database) -> None:
    """``yibao db settle-history`` settles as the counter does: 600 yuan pays 520 of the first share and 80 of the second."""
    _people(db)
    with db.unit_of_work() as s:
        p = s.scalar(sa.select(Person).where(Person.psn_no == EMPLOYEE))
        assert p is not None
        personal_account.add_balance(s, p, 2022, 60_000, "clerk", "command line")
        s.commit()
    claims = [
        Claim(cid, EMPLOYEE, day, "11", 2, "in_county", "", (), PolicyRangeSummary(fen), HOSPITAL)
        for cid, day, fen in (("H1", date(2022, 3, 1), 100_000), ("H2", date(2022, 4, 1), 50_000))
    ]
    assert settle_history(db, PACK, claims, "loader").settled == 2
    with db.unit_of_work() as s:
        got = s.execute(sa.select(LedgerEntry.setl_id, LedgerEntry.acct_pay, LedgerEntry.psn_part_amt).order_by(LedgerEntry.id))
        assert [tuple(r) for r in got] == [("SH1", 52_000, 52_000), ("SH2", 8_000, 20_000)]
        assert ledger.verify(s) == []
    assert _ytd(db)["acct_paid"] == 60_000
