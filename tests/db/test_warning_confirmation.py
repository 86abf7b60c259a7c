"""A confirmed warning reaches settlement (Lincang, seed 000): a stable 脱贫 person over the 7000-yuan line is
warned, pushed, and confirmed at risk by the rural-revitalisation bureau; the confirmation records the identity
the rule names (监测) from the day confirmed, and the person's next settlement pays tilted assistance
(对经乡村振兴等部门认定存在返贫致贫风险的，落实倾斜救助政策), which the follow-up then records. On SQLite and
PostgreSQL through the ``db`` fixture."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from tests.accounts import HOSPITAL, csrf_of, signed_in
from tests.db.test_fuzz import _call, _sign_in
from tests.db.test_service import seed
from yibao.app import ledger
from yibao.app import warnings as svc
from yibao.app.auth import Principal
from yibao.app.push_list import COLUMNS, CONFIRM_COL, HEADER_ROW, read_confirmations, write_push_list
from yibao.app.warning_views import push_list
from yibao.core.errors import InputError, InputErrors
from yibao.core.money import apply_ratio
from yibao.entrypoints.http import create_app
from yibao.policy.pack import load_pack
from yibao.rules.monitoring import parse_period
from yibao.settlement.model import Claim, PolicyRangeSummary, Settlement
from yibao.store.db import Database
from yibao.store.tables import Enrolment, Identity, Person

LINCANG = load_pack("yunnan-lincang-2023")


def enrol_2023(db: Database) -> None:
    with db.unit_of_work() as s:
        pid = s.scalar(sa.select(Person.id).where(Person.psn_no == "P1"))
        s.add(Enrolment(person_id=pid, year=2023, insutype="390", psn_insu_stas="1", recorded_at=datetime.now(UTC),
                        recorded_by="seed"))  # fmt: skip
        s.commit()


def settle(db: Database, yuan: int, day: str) -> tuple[str, Settlement]:
    summary = PolicyRangeSummary(medfee_sumamt=yuan * 100)
    claim = Claim(f"C{day}{yuan}", "P1", date.fromisoformat(day), "21", 2, "in_county", "", (), summary, HOSPITAL)
    with db.unit_of_work() as s:
        done = ledger.settle_claim(s, LINCANG, claim, "clerk", fixmedins_code=HOSPITAL)
        s.commit()
    return str(done.entry.setl_id), done.settlement


def warned(db: Database) -> int:
    """P1, stable 脱贫, over the line after a 300,000-yuan admission in March (the basic cap binds whatever the
    assumed ratio): the warning's number, pushed."""
    seed(db, category="tuopin")
    enrol_2023(db)
    _, first = settle(db, 300_000, "2023-03-10")
    # stable 脱贫 is no tilted-assistance category: nothing from it, and more than 7000 yuan left to pay
    assert (first.identity, first.oth_pay) == ("tuopin", 0)
    assert first.inscp_scp_amt - first.hifp_pay - first.hifmi_pay - first.maf_pay > 700_000
    r = svc.run_monitoring(db, LINCANG, parse_period("2023-03"), "monitoring")
    assert r.by_rule == {"lincang_7000": 1}
    with db.unit_of_work() as s:
        [(w, _)] = svc.list_warnings(s)
        svc.step(s, w.id, "pushed", "clerk", bureaus=["rural_revitalisation"], pack=LINCANG)
        s.commit()
        return w.id


def identities(db: Database) -> list[tuple[str, date, date | None, str, str | None]]:
    with db.unit_of_work() as s:
        rows = s.execute(
            sa.select(
                Identity.category, Identity.valid_from, Identity.valid_to, Identity.source_bureau, Identity.source_file
            ).order_by(Identity.valid_from)
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


def test_a_confirmed_stable_tuopin_person_gets_tilted_assistance_on_the_next_settlement(db: Database) -> None:
    wid = warned(db)
    with db.unit_of_work() as s:
        svc.step(s, wid, "at_risk", "乡村振兴", note="入户核实", pack=LINCANG, on=date(2023, 4, 3))
        s.commit()
    # the rule's confirmed_identity (监测) from the day the bureau confirmed, the bureau as its source
    assert identities(db) == [
        ("tuopin", date(2021, 1, 1), None, "民政", None),
        ("jiance", date(2023, 4, 3), None, "乡村振兴", f"预警 {wid}"),
    ]
    setl_id, second = settle(db, 100_000, "2023-05-10")
    assert second.identity == "jiance"
    # tilted assistance (threshold 7000, 50%, cap 20,000 in the pack): on what the earlier tiers left of this
    # admission, the first one counted for the person in a tilted category this year
    ta = LINCANG.at(date(2023, 5, 10)).tilted_assistance
    assert ta is not None and (ta.threshold, ta.ratio, ta.cap) == (700_000, 5_000, 2_000_000)
    left = second.inscp_scp_amt - second.hifp_pay - second.hifmi_pay - second.maf_pay
    assert left > 700_000
    assert second.oth_pay == min(apply_ratio(left - 700_000, 5_000), 2_000_000) > 0
    # by hand (as the Lincang worked case): basic cap used up by the first admission (150,000 of 300,000);
    # critical illness 100,000 x 70% = 70,000 (cumulative 150,000 -> 250,000, above its 10,000 deductible);
    # assistance 监测 (30,000 - 2,000) x 60% = 16,800; tilted (13,200 - 7,000) x 50% = 3,100; patient 10,100
    assert (second.hifp_pay, second.hifmi_pay, second.maf_pay, second.oth_pay, second.psn_part_amt) == (
        0, 7_000_000, 1_680_000, 310_000, 1_010_000,
    )  # fmt: skip
    # the follow-up records the tilted assistance against that settlement
    with db.unit_of_work() as s:
        w = svc.step(s, wid, "assisted", "clerk", amount=second.oth_pay, setl_id=setl_id, pack=LINCANG)
        s.commit()
        assert (w.status, w.assisted_amt, w.assisted_setl_id) == ("assisted", second.oth_pay, setl_id)


def test_a_warning_not_at_risk_records_no_identity(db: Database) -> None:
    wid = warned(db)
    with db.unit_of_work() as s:
        svc.step(s, wid, "not_at_risk", "乡村振兴", pack=LINCANG, on=date(2023, 4, 3))
        s.commit()
    assert [i[0] for i in identities(db)] == ["tuopin"]
    _, second = settle(db, 100_000, "2023-05-10")
    assert (second.identity, second.oth_pay) == ("tuopin", 0)


def test_a_confirmation_dated_before_the_crossing_is_refused_and_changes_nothing(db: Database) -> None:
    wid = warned(db)
    with db.unit_of_work() as s, pytest.raises(InputError) as info:
        svc.step(s, wid, "at_risk", "乡村振兴", pack=LINCANG, on=date(2023, 3, 1))
    assert info.value.field == "on" and "2023-03-10" in info.value.render("en")
    assert [i[0] for i in identities(db)] == ["tuopin"]
    with db.unit_of_work() as s:
        assert svc.get_warning(s, wid).status == "pushed"


def push_list_answered(db: Database, tmp_path: Path, day: str) -> Path:
    """The push list as exported, with the warning confirmed at risk on ``day`` as a township fills it in."""
    path = tmp_path / "push.xlsx"
    with db.unit_of_work() as s:
        write_push_list(svc.list_warnings(s), path, period_label="2023-03")
    wb = load_workbook(path)
    ws = wb.worksheets[0]
    ws.cell(row=HEADER_ROW + 1, column=CONFIRM_COL, value="是")
    ws.cell(row=HEADER_ROW + 1, column=CONFIRM_COL + 1, value="村委 李华")
    ws.cell(row=HEADER_ROW + 1, column=CONFIRM_COL + 2, value=day)
    wb.save(path)
    return path


def test_a_township_confirmation_imported_records_the_identity_from_its_date(db: Database, tmp_path: Path) -> None:
    wid = warned(db)
    with db.unit_of_work() as s:
        done = read_confirmations(s, push_list_answered(db, tmp_path, "2023-04-20"), "push.xlsx", "clerk", pack=LINCANG)
        s.commit()
    assert done.confirmed_at_risk == 1
    assert identities(db)[-1] == ("jiance", date(2023, 4, 20), None, "乡村振兴", f"预警 {wid}")


def test_a_confirmation_date_that_is_no_date_refuses_the_import(db: Database, tmp_path: Path) -> None:
    wid = warned(db)
    with db.unit_of_work() as s, pytest.raises(InputErrors) as info:
        read_confirmations(s, push_list_answered(db, tmp_path, "四月下旬"), "push.xlsx", "clerk", pack=LINCANG)
    assert [e.field for e in info.value.errors] == ["核实日期"]
    assert [i[0] for i in identities(db)] == ["tuopin"]
    with db.unit_of_work() as s:
        assert svc.get_warning(s, wid).status == "pushed"


def test_the_api_and_the_window_record_the_identity_from_the_day_given(db: Database) -> None:
    wid = warned(db)
    app = create_app(db, LINCANG)
    token = _sign_in(app, "monitoring")
    bad = _call(app, "POST", f"/api/warnings/{wid}/steps", token, json={"to": "at_risk", "on": "2023-02-01"})
    assert bad.status_code == 422 and bad.json()["field"] == "on"  # before the line was crossed (2023-03-10)
    assert [i[0] for i in identities(db)] == ["tuopin"]
    # the window: the confirm form's date field
    client = signed_in(app, "monitoring")
    page = client.get(f"/warnings/{wid}")
    assert 'name="confirm_on"' in page.text
    form = {"csrf": csrf_of(page.text), "to": "at_risk", "confirm_note": "入户核实", "confirm_on": "2023-04-05"}
    r = client.post(f"/warnings/{wid}/step", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text
    assert identities(db)[-1] == ("jiance", date(2023, 4, 5), None, "乡村振兴", f"预警 {wid}")


def test_the_push_list_shows_the_identity_the_confirmation_recorded(db: Database, tmp_path: Path) -> None:
    """After a confirmation, the push list (workbook, window list and warning page, API) shows the identity the rule
    recorded (监测), the bureau it is recorded under and from when; an unconfirmed warning shows none."""
    wid = warned(db)
    at = [c[1] for c in COLUMNS].index("认定后登记身份") + 1

    def exported() -> tuple[object, object]:
        with db.unit_of_work() as s:
            data, _ = push_list(s, svc.Filter(), Principal("clerk", "monitoring", None, "监测"))
        path = tmp_path / "list.xlsx"
        path.write_bytes(data)
        ws = load_workbook(path).worksheets[0]
        return ws.cell(row=HEADER_ROW + 1, column=at).value, ws.cell(row=HEADER_ROW + 1, column=at + 1).value

    assert exported() == (None, None)  # pushed, not yet confirmed: blank
    with db.unit_of_work() as s:
        svc.step(s, wid, "at_risk", "乡村振兴", note="入户核实", pack=LINCANG, on=date(2023, 4, 3))
        s.commit()
    assert exported() == ("监测人口", "乡村振兴，自 2023-04-03 起")
    app = create_app(db, LINCANG)
    client = signed_in(app, "monitoring")
    listed = client.get("/warnings").text
    assert "认定后登记：监测人口（乡村振兴，自 2023-04-03 起，乡村振兴 登记）" in listed
    assert "监测人口（乡村振兴，自 2023-04-03 起，乡村振兴 登记）" in client.get(f"/warnings/{wid}").text
    token = _sign_in(app, "monitoring")
    one = _call(app, "GET", f"/api/warnings/{wid}?lang=en", token).json()["recorded_identity"]
    assert (one["category"], one["source_bureau"], one["valid_from"], one["recorded_by"]) == (
        "jiance", "乡村振兴", "2023-04-03", "乡村振兴",
    )  # fmt: skip
    assert one["text"] == (
        "monitored (unstable / marginal / sudden hardship) (rural revitalisation, from 2023-04-03, recorded by 乡村振兴)"
    )
