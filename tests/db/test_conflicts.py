"""Identity conflicts (疑似同人异号) reviewed, and the named change report of an identity import, on SQLite and
PostgreSQL (the ``db`` fixture).

Every expectation is written out by hand from the small workbooks built here: who is added, ended or changed
(with the periods before and after), which pair is flagged, what a merge moves and when it is refused.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from tests.accounts import login, seed_accounts
from tests.db.test_imports import gb11643
from tests.db.test_imports import write_minzheng as workbook
from tests.live import live_server
from yibao.app import conflicts, person_year, registry
from yibao.app.imports import batch_changes, changes_file, import_identities
from yibao.core.errors import InputError
from yibao.entrypoints.http import create_app
from yibao.store.db import Database
from yibao.store.service_tables import YearToDateRow
from yibao.store.tables import ChronicFiling, Conflict, ConflictDecision, Enrolment, Identity, Person

USER = "tester"
A = gb11643("53090219600305102")
"""张桂英, 忙坡村, born 1960-03-05: held first."""
B = gb11643("53092119600305204")
"""张桂英 again (same name, birth date and village), another ID number: flagged against A."""
C = gb11643("53090219750601113")
D = gb11643("53090219880202124")
E = gb11643("53090219900909135")
F = gb11643("53092619600305306")
"""A third 张桂英 of 忙坡村 born 1960-03-05."""
PLACE = ["临翔区", "博尚镇", "忙坡村"]


def first_and_second(db: Database, tmp_path: Path) -> int:
    """The base roster, then a later one that ends, changes, adds and flags; returns the second batch's id."""
    import_identities(
        db,
        workbook(
            tmp_path / "base.xlsx",
            [
                [*PLACE, "张桂英", A, "农村低保", "2021-01-01", None],
                [*PLACE, "李国强", C, "特困供养人员", "2020-05-01", None],
                ["临翔区", "博尚镇", "勐准村", "王芳", D, "农村低保", "2019-01-01", None],
            ],
        ),
        "民政",
        user=USER,
    )
    rep = import_identities(
        db,
        workbook(
            tmp_path / "later.xlsx",
            [
                [*PLACE, "张桂英", A, "农村低保", "2021-01-01", "2022-06-30"],
                [*PLACE, "李国强", C, "特困供养人员", "2022-03-01", None],
                ["临翔区", "博尚镇", "勐准村", "王芳", D, "农村低保", "2019-01-01", None],
                ["临翔区", "博尚镇", "勐准村", "王芳", D, "低保边缘家庭", "2022-05-01", None],
                [*PLACE, "张桂英", B, "农村低保", "2022-07-01", None],
                ["临翔区", "博尚镇", "勐准村", "赵明", E, "农村低保", "2022-07-01", None],
            ],
        ),
        "民政",
        user=USER,
    )
    assert rep.batch_id is not None and rep.conflicts == 1
    return rep.batch_id


SECOND_CHANGES = [
    ("ended", A, "张桂英", "dibao", "2021-01-01 ~", "2021-01-01 ~ 2022-06-30", 2),
    ("changed", C, "李国强", "tekun", "2020-05-01 ~", "2020-05-01 ~ 2022-02-28; 2022-03-01 ~", 3),
    ("added", D, "王芳", "dibao_edge", None, "2022-05-01 ~", 5),
    ("person_added", B, "张桂英", "dibao", None, "2022-07-01 ~", 6),
    ("conflict", B, "张桂英", None, None, A, 6),
    ("person_added", E, "赵明", "dibao", None, "2022-07-01 ~", 7),
]
"""The second import's named changes (the unchanged 王芳 低保 row is not one)."""


def pair_id(db: Database) -> int:
    with db.reading() as s:
        return int(s.scalar(sa.select(Conflict.id).where(Conflict.certno == B, Conflict.other_certno == A)) or 0)


def person(db: Database, certno: str) -> Person:
    with db.reading() as s:
        p = s.scalar(sa.select(Person).where(Person.certno == certno))
        assert p is not None
        s.expunge(p)
        return p


def state(db: Database) -> dict[str, Any]:
    """Everything a decision could touch, to compare before and after a refused one."""
    with db.reading() as s:
        return {
            "person": sorted(s.execute(sa.select(Person.id, Person.certno, Person.merged_into))),
            "identity": sorted(s.execute(sa.select(Identity.id, Identity.person_id, Identity.valid_to))),
            "enrolment": sorted(s.execute(sa.select(Enrolment.id, Enrolment.person_id))),
            "filing": sorted(s.execute(sa.select(ChronicFiling.id, ChronicFiling.person_id))),
            "conflict": sorted(s.execute(sa.select(Conflict.id, Conflict.status))),
            "decisions": s.scalar(sa.select(sa.func.count()).select_from(ConflictDecision)),
        }


def add_enrolment(db: Database, certno: str, year: int) -> None:
    now = datetime.now(UTC)
    with db.unit_of_work() as s:
        pid = s.scalar(sa.select(Person.id).where(Person.certno == certno))
        s.add(Enrolment(person_id=pid, year=year, insutype="390", psn_insu_stas="1", recorded_at=now, recorded_by=USER))
        s.commit()


def test_the_change_report_names_every_person_added_ended_or_changed(db: Database, tmp_path: Path) -> None:
    batch = first_and_second(db, tmp_path)
    with db.reading() as s:
        assert batch_changes(s, batch) == SECOND_CHANGES
        name, data = changes_file(s, batch, "zh")
    assert name == f"导入变更-批次{batch}.xlsx"
    (tmp_path / name).write_bytes(data)
    rows = list(load_workbook(tmp_path / name).worksheets[0].iter_rows(values_only=True))
    assert rows[0][0].startswith(f"身份数据导入变更报告：批次 #{batch} · 民政 · later.xlsx · {USER} · ")
    assert rows[2] == ("原行号", "变更", "姓名", "身份证号码", "身份类别", "变更前", "变更后")
    assert [r[1:4] for r in rows[3:]] == [
        ("身份结束", "张桂英", A),
        ("身份变更", "李国强", C),
        ("身份新增", "王芳", D),
        ("新增人员", "张桂英", B),
        ("疑似同人异号", "张桂英", B),
        ("新增人员", "赵明", E),
    ]
    assert rows[4][5:] == ("2020-05-01 ~", "2020-05-01 ~ 2022-02-28; 2022-03-01 ~")


def test_a_complete_roster_names_whom_it_ends(db: Database, tmp_path: Path) -> None:
    first_and_second(db, tmp_path)
    rep = import_identities(
        db,
        workbook(tmp_path / "roster.xlsx", [["临翔区", "博尚镇", "勐准村", "赵明", E, "农村低保", "2022-07-01", None]]),
        "民政",
        user=USER,
        snapshot_as_of=date(2022, 9, 30),
    )
    assert rep.batch_id is not None
    with db.reading() as s:
        ended = {(r[1], r[3], r[4], r[5]) for r in batch_changes(s, rep.batch_id)}
    # every open 民政 identity but 赵明's ends on 2022-09-29; 张桂英 (A) had ended already
    assert ended == {
        (C, "tekun", "2022-03-01 ~", "2022-03-01 ~ 2022-09-29"),
        (D, "dibao", "2019-01-01 ~", "2019-01-01 ~ 2022-09-29"),
        (D, "dibao_edge", "2022-05-01 ~", "2022-05-01 ~ 2022-09-29"),
        (B, "dibao", "2022-07-01 ~", "2022-07-01 ~ 2022-09-29"),
    }


def test_merge_moves_what_the_other_record_holds_and_records_it(db: Database, tmp_path: Path) -> None:
    first_and_second(db, tmp_path)
    cid = pair_id(db)
    add_enrolment(db, B, 2022)
    add_enrolment(db, A, 2021)
    now = datetime.now(UTC)
    with db.unit_of_work() as s:
        pid_b = s.scalar(sa.select(Person.id).where(Person.certno == B))
        s.add(ChronicFiling(person_id=pid_b, dise_codg="I10", begin=date(2022, 7, 1), recorded_at=now, recorded_by=USER))
        s.commit()
    a, b = person(db, A), person(db, B)
    with db.reading() as s:
        pair = conflicts.get(s, cid)
        moving = {
            "identity": sorted(s.scalars(sa.select(Identity.id).where(Identity.person_id == b.id))),
            "enrolment": sorted(s.scalars(sa.select(Enrolment.id).where(Enrolment.person_id == b.id))),
            "chronic_filing": sorted(s.scalars(sa.select(ChronicFiling.id).where(ChronicFiling.person_id == b.id))),
        }
    assert (pair.new.certno, pair.other.certno, pair.refusals) == (B, A, {A: [], B: []})
    assert [len(v) for v in moving.values()] == [1, 1, 1]

    with pytest.raises(InputError):
        conflicts.merge(db, cid, C, "同一人", USER)  # not one of the pair
    with pytest.raises(InputError):
        conflicts.merge(db, cid, A, "   ", USER)  # no reason
    done = conflicts.merge(db, cid, A, "经村委会核实为同一人，身份证号已换发", "clerk1")
    assert (done.action, done.survivor_certno, done.absorbed_certno, done.moved) == ("merge", A, B, moving)
    with db.reading() as s:
        assert s.scalar(sa.select(Conflict.status).where(Conflict.id == cid)) == "merged"
        assert s.scalar(sa.select(Person.merged_into).where(Person.id == b.id)) == a.id
        for table, ids in moving.items():
            model = conflicts.MOVED[table]
            assert set(s.scalars(sa.select(model.person_id).where(model.id.in_(ids)))) == {a.id}
        decisions = s.execute(sa.select(ConflictDecision.action, ConflictDecision.decided_by, ConflictDecision.reason,
                                        ConflictDecision.moved)).all()  # fmt: skip
    assert decisions == [("merge", "clerk1", "经村委会核实为同一人，身份证号已换发", json.dumps(moving, sort_keys=True))]
    with pytest.raises(conflicts.DecisionRefused):
        conflicts.keep_apart(db, cid, "再议", USER)  # decided: undo first

    # later files: B's number lands on the survivor; a third look-alike is flagged against the survivor only
    import_identities(
        db,
        workbook(
            tmp_path / "third.xlsx",
            [[*PLACE, "张桂英", B, "特困供养人员", "2022-09-01", None], [*PLACE, "张桂英", F, "农村低保", "2022-09-01", None]],
        ),
        "民政",
        user=USER,
    )
    with db.reading() as s:
        tekun = s.scalar(
            sa.select(Identity.person_id).where(Identity.category == "tekun", Identity.valid_from == date(2022, 9, 1))
        )
        flagged = set(s.execute(sa.select(Conflict.certno, Conflict.other_certno, Conflict.status)))
    assert tekun == a.id
    assert flagged == {(B, A, "merged"), (F, A, "open")}

    # the absorbed number finds the survivor: at the window and in the settlement's one read
    with db.reading() as s:
        assert registry.find_person(s, B).certno == A
        for key, year in ((b.psn_no, 2022), (B, 2021)):  # 2022: B's enrolment, moved; 2021: A's own
            read = person_year.read(s, key, year, lock=False)
            assert read is not None and (read.person.certno, read.enrolled) == (A, True)
        assert person_year.read(s, B, 2023, lock=False).enrolled is False  # type: ignore[union-attr]

    # undo: every moved row goes back, B is a person of its own, the pair is open again
    conflicts.undo(db, cid, "合并有误", "clerk2")
    with db.reading() as s:
        for table, ids in moving.items():
            model = conflicts.MOVED[table]
            assert set(s.scalars(sa.select(model.person_id).where(model.id.in_(ids)))) == {b.id}
        assert s.scalar(sa.select(Person.merged_into).where(Person.id == b.id)) is None
        pair = conflicts.get(s, cid)
    assert pair.status == "open"
    assert [(d.action, d.decided_by) for d in pair.decisions] == [("merge", "clerk1"), ("undo", "clerk2")]


def test_kept_apart_is_recorded_and_not_flagged_again(db: Database, tmp_path: Path) -> None:
    first_and_second(db, tmp_path)
    cid = pair_id(db)
    conflicts.keep_apart(db, cid, "两人为同村同名同生日的不同人员（已核对户籍）", "clerk1")
    with db.reading() as s:
        assert conflicts.list_conflicts(s) == []
        assert [p.id for p in conflicts.list_conflicts(s, "kept")] == [cid]
        assert conflicts.counts(s) == {"open": 0, "kept": 1, "merged": 0}
    # both numbers again, with changes: nothing is flagged again
    rep = import_identities(
        db,
        workbook(
            tmp_path / "again.xlsx",
            [
                [*PLACE, "张桂英", A, "低保边缘家庭", "2022-08-01", None],
                [*PLACE, "张桂英", B, "农村低保", "2022-07-01", "2022-12-31"],
            ],
        ),
        "民政",
        user=USER,
    )
    assert (rep.conflicts, rep.identities_added, rep.identities_ended) == (0, 1, 1)
    with db.reading() as s:
        assert set(s.execute(sa.select(Conflict.certno, Conflict.other_certno, Conflict.status))) == {(B, A, "kept")}
    with pytest.raises(conflicts.DecisionRefused):
        conflicts.merge(db, cid, A, "同一人", USER)
    conflicts.undo(db, cid, "需重新核实", "clerk2")
    with db.reading() as s:
        pair = conflicts.get(s, cid)
    assert pair.status == "open"
    assert [(d.action, d.reason) for d in pair.decisions] == [
        ("keep", "两人为同村同名同生日的不同人员（已核对户籍）"),
        ("undo", "需重新核实"),
    ]


def test_an_unsafe_merge_is_refused_with_its_reasons_and_changes_nothing(db: Database, tmp_path: Path) -> None:
    first_and_second(db, tmp_path)
    cid = pair_id(db)
    add_enrolment(db, A, 2022)
    add_enrolment(db, B, 2022)
    with db.unit_of_work() as s:
        pid_b = s.scalar(sa.select(Person.id).where(Person.certno == B))
        s.add(YearToDateRow(person_id=pid_b, year=2022, data="{}", version=1))  # B was settled: history in the ledger
        s.commit()
    before = state(db)
    with pytest.raises(conflicts.DecisionRefused) as keep_a:
        conflicts.merge(db, cid, A, "同一人", USER)
    assert state(db) == before
    assert keep_a.value.render("zh") == (
        "被合并记录有结算历史（年度累计 1），结算台账不可改写；请选择该记录作为保留记录；"
        "两条记录在 2022 年都有参保登记，请先办理重复参保的退费或终止"
    )
    with pytest.raises(conflicts.DecisionRefused) as keep_b:
        conflicts.merge(db, cid, B, "同一人", USER)  # A has no history, but both are enrolled for 2022
    assert state(db) == before
    assert [en for _, en in keep_b.value.reasons] == [
        "for 2022 both records are enrolled: refund or end the double enrolment first"
    ]
    with db.reading() as s:
        assert [len(r) for r in conflicts.get(s, cid).refusals.values()] == [1, 2]  # B kept: 1 reason; A kept: 2


def test_the_api_lists_and_decides_for_clerks_and_refuses_others(db: Database, tmp_path: Path) -> None:
    first_and_second(db, tmp_path)
    seed_accounts(db)
    cid = pair_id(db)
    with live_server(create_app(db)) as url:
        clerk, auditor = login(url, "clerk"), login(url, "auditor")
        assert httpx.get(f"{url}/api/conflicts", headers=auditor).status_code == 403
        assert httpx.post(f"{url}/api/conflicts/{cid}/keep", json={"reason": "x"}, headers=auditor).status_code == 403
        listed = httpx.get(f"{url}/api/conflicts", headers=clerk).json()
        assert [(p["id"], p["certno"], p["other_certno"], p["source"]["source_bureau"]) for p in listed] == [(cid, B, A, "民政")]
        add_enrolment(db, A, 2022)
        add_enrolment(db, B, 2022)
        refused = httpx.post(f"{url}/api/conflicts/{cid}/merge", json={"keep": A, "reason": "同一人"}, headers=clerk)
        assert refused.status_code == 409 and "2022" in refused.json()["message"]
        kept = httpx.post(f"{url}/api/conflicts/{cid}/keep", json={"reason": "不同人员"}, headers=clerk)
        assert kept.status_code == 200 and kept.json()["summary"]["status"] == "kept"
        assert httpx.get(f"{url}/api/conflicts/999999", headers=clerk).status_code == 404
        batch = listed[0]["source"]["import_id"]
        changes = httpx.get(f"{url}/api/imports/{batch}/changes", headers=clerk).json()
        assert [(c["change"], c["certno"]) for c in changes] == [(c[0], c[1]) for c in SECOND_CHANGES]
        assert httpx.get(f"{url}/api/imports/{batch}/changes", headers=auditor).status_code == 403
