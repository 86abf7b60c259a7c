"""The 疑点 workflow in the database, on SQLite and PostgreSQL: every step recorded with who, when and from where,
the time limits, overdue, an institution's own cases only, appeal files, two people at once, sampling."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.accounts import HOSPITAL, OTHER_HOSPITAL
from tests.db.suspect_data import DAYS, case, finding, seed
from yibao.app import suspect_sampling as sampling
from yibao.app import suspect_views as views
from yibao.app import suspects as svc
from yibao.app.auth import Principal
from yibao.app.report_sources import ledger_reports
from yibao.app.suspect_files import FileIn
from yibao.core.errors import InputError, NotFound
from yibao.policy.in_force import configured_pack
from yibao.reports.tables import ALL
from yibao.rules.claims import Place
from yibao.rules.suspect_workflow import NotAllowed
from yibao.store.audit_tables import AuditFinding, SuspectAttachment, SuspectCase, SuspectEvent
from yibao.store.db import Database
from yibao.store.service_tables import LedgerEntry

AUDITOR = Principal("auditor", "auditor", None, "审核员")
ADMIN = Principal("admin", "admin", None, "管理员")
HIS = Principal("his", "institution", HOSPITAL, "临翔区人民医院")
HIS2 = Principal("his2", "institution", OTHER_HOSPITAL, "忙畔卫生院")
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _act(db: Database, case_id: int, action: str, who: Principal, **kw: object) -> SuspectCase:
    with db.unit_of_work() as s:
        c = svc.act(s, case_id, action, who, DAYS, **kw)  # type: ignore[arg-type]
        s.commit()
        s.expunge(c)
        return c


def _rows(db: Database, table: type) -> int:
    with db.unit_of_work() as s:
        return int(s.scalar(sa.select(sa.func.count()).select_from(table)) or 0)


def test_a_case_goes_every_step_to_deducted_each_step_recorded(db: Database) -> None:
    ids = seed(db)
    opened = case(db, ids["mine"])
    today = svc.today()
    assert (opened.status, opened.version, opened.due_date) == ("first_review", 0, today + timedelta(days=10))
    assert opened.case_no.startswith(f"YD{today.year}") and len(opened.case_no) == 12
    c = _act(db, ids["mine"], "confirm", AUDITOR, expected_version=0, channel="web")
    assert (c.status, c.version, c.due_date) == ("second_review", 1, today + timedelta(days=5))
    c = _act(db, ids["mine"], "notify", AUDITOR, expected_version=1)
    assert (c.status, c.due_date) == ("appeal", today + timedelta(days=7))
    c = _act(db, ids["mine"], "appeal", HIS, note="患者病情需要，附病历", file=FileIn("病历.pdf", PDF), expected_version=2)
    assert (c.status, c.due_date) == ("investigation", today + timedelta(days=15))
    c = _act(db, ids["mine"], "investigate", AUDITOR, note="调取病历，分解住院属实")
    assert (c.status, c.due_date) == ("decision", today + timedelta(days=3))
    c = _act(db, ids["mine"], "deduct", AUDITOR, amount=4_000, channel="cli")
    assert (c.status, c.due_date, c.recovered_amt, c.version) == ("deducted", None, 4_000, 5)
    assert c.closed_at is not None
    with db.unit_of_work() as s:
        got = views.detail(s, ids["mine"], AUDITOR)
    steps = [(e["action"], e["from_status"], e["to_status"], e["recorded_by"], e["channel"]) for e in got["events"]]
    assert steps == [
        ("open", None, "first_review", "auditor", "cli"),
        ("confirm", "first_review", "second_review", "auditor", "web"),
        ("notify", "second_review", "appeal", "auditor", "api"),
        ("appeal", "appeal", "investigation", "his", "api"),
        ("investigate", "investigation", "decision", "auditor", "api"),
        ("deduct", "decision", "deducted", "auditor", "cli"),
    ]
    assert got["events"][3]["note"] == "患者病情需要，附病历" and got["events"][5]["amount"] == 4_000
    [file] = got["attachments"]
    assert (file["filename"], file["content_type"], file["size"]) == ("病历.pdf", "application/pdf", len(PDF))
    assert got["events"][3]["attachment_id"] == file["id"]
    assert got["next"] == [] and got["status_label"] == "扣款"


def test_the_detail_shows_the_finding_its_evidence_and_lines(db: Database) -> None:
    ids = seed(db)
    with db.unit_of_work() as s:
        got = views.detail(s, ids["mine"], AUDITOR)
        en = views.detail(s, ids["mine"], AUDITOR, "en")
    assert got["rule_code"] == "ZY001" and got["amount"] == 5_000 and got["result_label"] == "可疑"
    assert got["message"] == "出院 3 天后再次入院（15 天内，同病种 I10），前次住院 S0001"
    assert en["message"] == "re-admitted 3 days after discharge (within 15, same disease group I10); previous stay S0001"
    assert got["rule_label"] == "分解住院"
    assert [c["setl_id"] for c in got["claims"]] == ["S0001", "S0002"]  # the case's own settlement, then the evidence
    assert [e["text"] for e in got["evidence"]] == ["结算 S0001", "结算 S0002"]
    assert [(ln["feedetl_sn"], ln["med_list_name"], ln["det_item_fee_sumamt"]) for ln in got["lines"]] == [("1", "床位费", 5_000)]
    assert [n["action"] for n in got["next"]] == ["confirm", "dismiss"]
    with db.unit_of_work() as s:
        assert views.detail(s, ids["mine"], HIS)["next"] == []  # nothing for the institution at first review
        assert views.detail(s, ids["mine"], ADMIN)["next"] == []  # the administrator reads only


def test_a_clearly_fine_finding_is_closed_at_first_review_with_a_note(db: Database) -> None:
    ids = seed(db)
    with pytest.raises(InputError) as e:
        _act(db, ids["mine"], "dismiss", AUDITOR, note="  ")
    assert e.value.field == "note"
    c = _act(db, ids["mine"], "dismiss", AUDITOR, note="同一疾病再入院间隔合理")
    assert (c.status, c.recovered_amt, c.due_date) == ("no_action", 0, None)


def test_the_institution_may_accept_without_appeal(db: Database) -> None:
    ids = seed(db)
    _act(db, ids["mine"], "confirm", AUDITOR)
    _act(db, ids["mine"], "notify", AUDITOR)
    assert _act(db, ids["mine"], "accept", HIS).status == "decision"
    assert _act(db, ids["mine"], "no_action", AUDITOR, note="情节轻微").status == "no_action"


def test_roles_are_refused_the_steps_not_theirs_and_nothing_is_written(db: Database) -> None:
    ids = seed(db)
    events = _rows(db, SuspectEvent)
    for who, action in ((HIS, "confirm"), (ADMIN, "confirm"), (AUDITOR, "appeal")):
        with pytest.raises((NotAllowed, InputError)):
            _act(db, ids["mine"], action, who, note="x")
    _act(db, ids["mine"], "confirm", AUDITOR)
    _act(db, ids["mine"], "notify", AUDITOR)
    with pytest.raises(NotAllowed):
        _act(db, ids["mine"], "appeal", AUDITOR, note="代为申诉")
    with pytest.raises(NotAllowed):
        _act(db, ids["mine"], "accept", ADMIN)
    assert _rows(db, SuspectEvent) == events + 2 and case(db, ids["mine"]).status == "appeal"


def test_an_institution_sees_and_acts_on_its_own_cases_only(db: Database) -> None:
    ids = seed(db)
    with db.unit_of_work() as s:
        assert [c.id for c, _ in svc.list_cases(s, HIS)] == [ids["mine"]]
        assert [c.id for c, _ in svc.list_cases(s, HIS2)] == [ids["theirs"]]
        assert {c.id for c, _ in svc.list_cases(s, AUDITOR)} == set(ids.values())
        assert svc.counts(s, HIS) == {"first_review": 1, "overdue": 0}
        with pytest.raises(NotFound):
            svc.get_case(s, ids["theirs"], HIS)
        with pytest.raises(NotFound):
            views.detail(s, ids["theirs"], HIS)
        nobody = Principal("clerk", "clerk", None, "经办")
        assert svc.list_cases(s, nobody) == []
    for cid in ids.values():
        _act(db, cid, "confirm", AUDITOR)
        _act(db, cid, "notify", AUDITOR)
    with pytest.raises(NotFound):
        _act(db, ids["theirs"], "appeal", HIS, note="不是我的")
    assert case(db, ids["theirs"]).status == "appeal"


def test_two_people_at_once_the_second_is_told(db: Database) -> None:
    ids = seed(db)
    _act(db, ids["mine"], "confirm", AUDITOR, expected_version=0)
    with pytest.raises(svc.StaleCase) as e:
        _act(db, ids["mine"], "dismiss", AUDITOR, note="并发", expected_version=0)
    assert e.value.field == "version" and "已被他人处理" in e.value.render("zh")
    assert case(db, ids["mine"]).status == "second_review"


def _to_appeal(db: Database, case_id: int) -> None:
    _act(db, case_id, "confirm", AUDITOR)
    _act(db, case_id, "notify", AUDITOR)


@pytest.mark.parametrize(
    ("file", "field_value"),
    [
        (FileIn("a.exe", b"MZ\x90\x00\x03\x00\x00\x00"), "a.exe"),  # a program
        (FileIn("scan.pdf", b""), "scan.pdf"),  # empty
        (FileIn("big.pdf", PDF + b"0" * 2_000), "big.pdf"),  # over the limit
        (FileIn("fake.docx", b"PK\x03\x04not a zip"), "fake.docx"),  # claims to be Word
    ],
)
def test_an_appeal_file_is_refused_unless_it_is_a_document_within_the_limit(db: Database, file: FileIn, field_value: str) -> None:
    ids = seed(db)
    _to_appeal(db, ids["mine"])
    with pytest.raises(InputError) as e:
        _act(db, ids["mine"], "appeal", HIS, note="申诉", file=file, upload_limit=1_000)
    assert (e.value.field, e.value.value) == ("file", field_value)
    assert _rows(db, SuspectAttachment) == 0 and case(db, ids["mine"]).status == "appeal"


def test_an_appeal_files_name_is_made_safe_and_its_type_read_from_its_bytes(db: Database) -> None:
    ids = seed(db)
    _to_appeal(db, ids["mine"])
    _act(db, ids["mine"], "appeal", HIS, note="申诉", file=FileIn("..\\..\\etc/说明\x07材料.txt", PDF))
    with db.unit_of_work() as s:
        [a] = svc.attachments_of(s, ids["mine"])
        got = svc.attachment(s, ids["mine"], a.id, HIS)
        assert (got.filename, got.content_type, got.data) == ("说明材料.txt.pdf", "application/pdf", PDF)
        with pytest.raises(NotFound):
            svc.attachment(s, ids["mine"], a.id, HIS2)
        with pytest.raises(NotFound):
            svc.attachment(s, ids["theirs"], a.id, AUDITOR)


def test_overdue_cases_are_flagged_listed_and_a_lapsed_appeal_recorded(db: Database) -> None:
    ids = seed(db)
    _to_appeal(db, ids["mine"])
    today = svc.today()
    with pytest.raises(InputError):  # the appeal's time is not up yet
        _act(db, ids["mine"], "lapse", AUDITOR)
    with db.unit_of_work() as s:
        s.execute(sa.update(SuspectCase).where(SuspectCase.id == ids["mine"]).values(due_date=today - timedelta(days=1)))
        s.execute(sa.update(SuspectCase).where(SuspectCase.id == ids["theirs"]).values(due_date=today))
        s.commit()
    with db.unit_of_work() as s:
        assert [c.id for c, _ in svc.list_cases(s, AUDITOR, svc.Filter(overdue=True))] == [ids["mine"]]
        assert [c.id for c, _ in svc.list_cases(s, AUDITOR, svc.Filter(overdue=False))] == [ids["theirs"]]
        assert svc.counts(s, AUDITOR)["overdue"] == 1
        row = views.detail(s, ids["mine"], AUDITOR)
        assert row["overdue"] and [n["action"] for n in row["next"]] == ["lapse"]
        assert [n["action"] for n in views.detail(s, ids["mine"], HIS)["next"]] == ["appeal", "accept"]
    c = _act(db, ids["mine"], "lapse", AUDITOR)
    assert (c.status, c.due_date) == ("decision", today + timedelta(days=3))


def test_the_list_filters(db: Database) -> None:
    ids = seed(db)
    _act(db, ids["theirs"], "confirm", AUDITOR)

    def listed(**kw: object) -> list[int]:
        with db.unit_of_work() as s:
            return [c.id for c, _ in svc.list_cases(s, AUDITOR, svc.Filter(**kw))]  # type: ignore[arg-type]

    assert listed(status="second_review") == [ids["theirs"]]
    assert sorted(listed(status="open")) == sorted(ids.values())
    assert listed(fixmedins_code=HOSPITAL) == [ids["mine"]]
    assert sorted(listed(rule_code="ZY001")) == sorted(ids.values()) and listed(rule_code="XB001") == []
    assert listed(date_from=date(2022, 3, 11)) == [ids["theirs"]]  # settled 2022-03-12 (the other on 03-10)
    assert listed(date_to=date(2022, 3, 10)) == [ids["mine"]]
    assert listed(q="S0003") == [ids["theirs"]] and listed(q="P1") == [ids["mine"]]
    assert listed(sampled=True) == []


def test_a_seeded_draw_is_reproducible_and_its_estimate_hand_computed(db: Database) -> None:
    seed(db, population=10)  # T0000..T0009 paid 1000..10000 by the fund; S0001 40000, S0002 30000 (March)
    start, end = date(2022, 5, 1), date(2022, 5, 31)
    with db.unit_of_work() as s:
        first, opened = sampling.draw_sample(s, HOSPITAL, start, end, 3_000, 20221, "auditor", DAYS)
        again, _ = sampling.draw_sample(s, HOSPITAL, start, end, 3_000, 20221, "auditor", DAYS)
        s.commit()
        drawn = sorted(c.setl_id for c in opened)
        redrawn = sorted(c.setl_id for c, _ in svc.list_cases(s, AUDITOR, svc.Filter(sample_id=again.id)))
        assert (first.population, first.population_amt, first.drawn) == (10, 55_000, 3)  # 30% of 10; 1000 + … + 10000
    # the same seed draws the same settlements; Python's seeded sample of the ten ids, in setl_id order
    expected = sorted(random.Random(20221).sample([f"T{n:04d}" for n in range(10)], 3))
    assert drawn == redrawn == expected
    assert all(c.sampled and c.sample_id == first.id and c.rule_code == "SAMPLE" for c in opened)
    claimed = {c.setl_id: c.amount for c in opened}
    assert claimed == {sid: 1_000 * (int(sid[1:]) + 1) for sid in expected}
    # review: the first approved in full (cleared), the second deducted 500, the third still open
    a, b, _ = sorted(opened, key=lambda c: c.setl_id)
    _act(db, a.id, "dismiss", AUDITOR, note="抽查无问题")
    for step in ("confirm", "notify"):
        _act(db, b.id, step, AUDITOR)
    _act(db, b.id, "accept", HIS)
    _act(db, b.id, "deduct", AUDITOR, amount=500)
    with db.unit_of_work() as s:
        sample, est = sampling.estimate(s, first.id)
        shown = sampling.estimate_dict(sample, est)
    ca, cb = claimed[a.setl_id], claimed[b.setl_id]
    # by hand: reviewed claimed ca + cb, approved ca + cb - 500; the rest 55000 - ca - cb at that ratio, rounded half up
    rest = 55_000 - ca - cb
    num, den = (ca + cb - 500) * rest, ca + cb
    assert (est.reviewed, est.claimed_reviewed, est.approved_reviewed, est.unreviewed_amt) == (2, ca + cb, ca + cb - 500, rest)
    assert est.approved_unreviewed == (2 * num + den) // (2 * den)
    assert shown["estimated"] is True and shown["overclaimed_est"] == 55_000 - (ca + cb - 500) - est.approved_unreviewed


def test_the_same_draw_by_hand(db: Database) -> None:
    """Seed 9 draws 2 of 6 (30%, rounded up): T0003 (4000) and T0004 (5000), as Python's seeded sample picks them; the
    auditor clears T0003 and deducts 1000 of T0004: approved 8000 of 9000 claimed; the other four claimed 1000 + 2000
    + 3000 + 6000 = 12000, estimated approved 12000 × 8/9 = 10666.67 → 10667 fen; over-claimed 21000 − 8000 − 10667
    = 2333; the ratio 8/9 = 8888.9 → 8889 basis points."""
    seed(db, population=6)
    with db.unit_of_work() as s:
        sample, opened = sampling.draw_sample(s, HOSPITAL, date(2022, 5, 1), date(2022, 5, 31), 3_000, 9, "auditor", DAYS)
        s.commit()
    by_id = {c.setl_id: c.id for c in opened}
    assert sorted(by_id) == sorted(random.Random(9).sample([f"T{n:04d}" for n in range(6)], 2)) == ["T0003", "T0004"]
    _act(db, by_id["T0003"], "dismiss", AUDITOR, note="无问题")
    for step in ("confirm", "notify"):
        _act(db, by_id["T0004"], step, AUDITOR)
    _act(db, by_id["T0004"], "accept", HIS)
    _act(db, by_id["T0004"], "deduct", AUDITOR, amount=1_000)
    with db.unit_of_work() as s:
        _, est = sampling.estimate(s, sample.id)
    assert (est.population_amt, est.claimed_reviewed, est.approved_reviewed, est.unreviewed_amt) == (21_000, 9_000, 8_000, 12_000)
    assert (est.approved_unreviewed, est.approved_total, est.overclaimed, est.ratio_bp) == (10_667, 18_667, 2_333, 8_889)


def test_a_draw_is_refused_for_bad_values_and_writes_nothing(db: Database) -> None:
    seed(db, population=3)
    for args, field in (
        ((HOSPITAL, date(2022, 5, 1), date(2022, 5, 31), 0, 1), "rate"),
        ((HOSPITAL, date(2022, 5, 1), date(2022, 5, 31), 10_001, 1), "rate"),
        ((HOSPITAL, date(2022, 5, 31), date(2022, 5, 1), 1_000, 1), "date_to"),
        ((HOSPITAL, date(2022, 5, 1), date(2022, 5, 31), 1_000, -1), "seed"),
        ((OTHER_HOSPITAL, date(2022, 5, 1), date(2022, 5, 31), 1_000, 1), "fixmedins_code"),
    ):
        with db.unit_of_work() as s, pytest.raises(InputError) as e:
            sampling.draw_sample(s, *args, "auditor", DAYS)
        assert e.value.field == field
    assert _rows(db, SuspectCase) == 2


def test_recovered_amounts_appear_in_the_fund_report(db: Database) -> None:
    ids = seed(db)
    for cid, amount in ((ids["mine"], 4_000), (ids["theirs"], 7_500)):
        _to_appeal(db, cid)
        _act(db, cid, "accept", HIS if cid == ids["mine"] else HIS2)
        _act(db, cid, "deduct", AUDITOR, amount=amount)
    with db.unit_of_work() as s:  # a third case, cleared: recovers nothing
        [other] = svc.open_for(s, [_finding_of(s, "S0001")], DAYS, "auditor", "cli")
        s.commit()
    _act(db, other.id, "dismiss", AUDITOR, note="无问题")
    rs = ledger_reports(db, date(2022, 1, 1), date(2022, 12, 31), pack=configured_pack())
    fund = dict(rs.fund_balance.select("item", "amount").rows())
    assert fund["recovered"] == 11_500  # 4000 + 7500, both on March settlements
    monthly = {m: r for m, r in rs.monthly.select("month", "recovered_amt").rows()}
    assert (monthly["2022-03"], monthly["2022-04"], monthly[ALL]) == (11_500, 0, 11_500)
    inst = {c: r for c, r in rs.institutions.select("fixmedins_code", "recovered_amt").rows()}
    assert (inst[HOSPITAL], inst[OTHER_HOSPITAL], inst[ALL]) == (4_000, 7_500, 11_500)
    assert "追回金额（元）" in rs.report("monthly").column("recovered_amt").header("zh")
    # a township keeps its people's cases only (P2 of 南美乡 was 7500 at the other hospital)
    township = ledger_reports(db, date(2022, 1, 1), date(2022, 12, 31), Place(township="南美乡"), pack=configured_pack())
    assert dict(township.fund_balance.select("item", "amount").rows())["recovered"] == 7_500
    # another year's report recovers nothing of 2022's settlements
    later = ledger_reports(db, date(2023, 1, 1), date(2023, 12, 31), pack=configured_pack())
    assert dict(later.fund_balance.select("item", "amount").rows())["recovered"] == 0


def _finding_of(s: Session, setl_id: str) -> AuditFinding:
    e = s.scalar(sa.select(LedgerEntry).where(LedgerEntry.setl_id == setl_id))
    assert e is not None
    f = finding(e, rule="XB001", amount=1_000)
    s.add(f)
    s.flush()
    return f


def test_the_command_line_lists_cases_and_the_overdue_ones(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    from yibao.entrypoints.cli.main import app
    from yibao.entrypoints.cli.output import console

    if hasattr(db, "pg_schema"):
        pytest.skip("the command reads YIBAO_DATABASE_URL: a whole database, not the test's schema")
    ids = seed(db)
    _act(db, ids["mine"], "confirm", AUDITOR)
    with db.unit_of_work() as s:
        late = svc.today() - timedelta(days=2)
        s.execute(sa.update(SuspectCase).where(SuspectCase.id == ids["theirs"]).values(due_date=late))
        s.commit()
    monkeypatch.setenv("YIBAO_DATABASE_URL", db.engine.url.render_as_string(hide_password=False))
    # rich fixes a console's width at import when COLUMNS is set (pytest-xdist workers have COLUMNS=80): widen it here
    monkeypatch.setattr(console, "_width", 220)
    runner = CliRunner(env={"COLUMNS": "220"})
    every = runner.invoke(app, ["audit", "cases"])
    assert every.exit_code == 0, every.output
    mine, theirs = case(db, ids["mine"]), case(db, ids["theirs"])
    assert mine.case_no in every.output and theirs.case_no in every.output and "逾期 1" in every.output
    overdue = runner.invoke(app, ["audit", "cases", "--overdue"])
    assert overdue.exit_code == 0 and theirs.case_no in overdue.output and mine.case_no not in overdue.output
    assert "逾期" in overdue.output
    en = runner.invoke(app, ["audit", "cases", "--status", "second_review", "--lang", "en"])
    assert en.exit_code == 0 and mine.case_no in en.output and "second review" in en.output and theirs.case_no not in en.output
    one = runner.invoke(app, ["audit", "case", str(ids["mine"])])
    assert one.exit_code == 0 and "初审确认疑点" in one.output and "S0001" in one.output, one.output
    bad = runner.invoke(app, ["audit", "cases", "--status", "nope"])
    assert bad.exit_code == 2 and "--status" in bad.output and "nope" in bad.output
    missing = runner.invoke(app, ["audit", "case", "999"])
    assert missing.exit_code == 2 and "999" in missing.output


def test_an_institution_sees_another_s_settlement_cited_as_evidence_without_where_or_how_much(db: Database) -> None:
    ids = seed(db)
    with db.unit_of_work() as s:  # a finding on HOSPITAL's S0002 citing OTHER_HOSPITAL's S0003 (挂床住院-like evidence)
        e = s.scalar(sa.select(LedgerEntry).where(LedgerEntry.setl_id == "S0002"))
        assert e is not None
        f = finding(e, rule="GC001", evidence=("claim:S0003",))
        s.add(f)
        s.flush()
        [cited] = svc.open_for(s, [f], DAYS, "auditor", "cli")
        s.commit()
        mine = {c["setl_id"]: c for c in views.detail(s, cited.id, HIS)["claims"]}
        bureau = {c["setl_id"]: c for c in views.detail(s, cited.id, AUDITOR)["claims"]}
    assert (mine["S0002"]["fund_pay_sumamt"], mine["S0002"]["other"]) == (30_000, False)
    other = mine["S0003"]
    assert (other["setl_date"], other["other"], other["fixmedins_code"], other["fixmedins_name"]) == (
        "2022-03-12",
        True,
        None,
        None,
    )
    assert (other["medfee_sumamt"], other["fund_pay_sumamt"], other["psn_part_amt"]) == (None, None, None)
    assert (bureau["S0003"]["fixmedins_code"], bureau["S0003"]["fund_pay_sumamt"]) == (OTHER_HOSPITAL, 20_000)
    assert ids["theirs"] != cited.id
