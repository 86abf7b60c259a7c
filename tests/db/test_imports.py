"""Identity imports from other bureaus, on SQLite and PostgreSQL (the ``db`` fixture).

Expectations are worked out from the workbooks themselves with openpyxl (rows, ID numbers,
dates as written), never from the importer's own output.
"""

from __future__ import annotations

import json
import shutil
from collections import defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from openpyxl import Workbook, load_workbook

from tests.cli import Ran, yibao
from yibao.app.imports import ImportRefused, identities_on, import_identities
from yibao.store.db import Database
from yibao.store.tables import Conflict, Identity, ImportBatch, Person

ROOT = Path(__file__).resolve().parents[2]
WB = ROOT / "examples" / "workbooks"
MZ = WB / "minzheng-2022-06-30.xlsx"
MZ_CSV = WB / "minzheng-2022-06-30.csv"
MZ_LATER = WB / "minzheng-2022-07-31.xlsx"
XC = WB / "xiangcun-2022-06-30.xlsx"
BAD = WB / "minzheng-bad.xlsx"
USER = "tester"

# how each bureau's sample lays out its sheet (header texts as written in the files)
MZ_COLS = {
    "certno": "身份证号码",
    "name": "姓名",
    "cat": "救助类别",
    "vf": "享受开始日期",
    "vt": "享受结束日期",
    "village": "村（社区）",
}
XC_COLS = {"certno": "证件号码", "name": "成员姓名", "cat": "户类型", "vf": "识别时间", "vt": "风险消除时间", "village": "行政村"}
MZ_CODES = {"农村低保": "dibao", "特困供养人员": "tekun", "低保边缘家庭": "dibao_edge", "孤儿": "orphan"}

PLANTED = {
    (4, "身份证号码"),
    (5, "身份证号码"),
    (6, "身份证号码"),
    (7, "姓名"),
    (8, "救助类别"),
    (9, "救助类别"),
    (10, "享受开始日期"),
    (11, "享受开始日期"),
    (11, "享受结束日期"),
    (12, "享受结束日期"),
    (14, "享受开始日期"),
    (15, "姓名"),
    (16, "身份证号码"),
}
"""Every bad cell planted in minzheng-bad.xlsx (see examples/workbooks/README.md)."""


# ---------------------------------------------------------------------------------------------
# Reading the workbooks independently
# ---------------------------------------------------------------------------------------------


def _day(v: Any) -> date | None:
    if v is None or v == "":
        return None
    if isinstance(v, datetime):
        return v.date()
    y, m, d = (int(x) for x in str(v).split("/"))
    return date(y, m, d)


def roster(path: Path, cols: dict[str, str], header_row: int = 2) -> list[dict[str, Any]]:
    """Data rows of a sample workbook: sheet row, ID number, name, category as written, dates, village."""
    ws = load_workbook(path, read_only=True).worksheets[0]
    rows = list(ws.iter_rows(values_only=True))
    header = [str(h) if h is not None else "" for h in rows[header_row - 1]]
    at = {k: header.index(v) for k, v in cols.items()}
    out = []
    for n, r in enumerate(rows[header_row:], start=header_row + 1):
        if all(v is None for v in r):
            continue
        out.append(
            {
                "row": n,
                "certno": r[at["certno"]],
                "name": r[at["name"]],
                "cat": r[at["cat"]],
                "vf": _day(r[at["vf"]]),
                "vt": _day(r[at["vt"]]),
                "village": r[at["village"]],
            }
        )
    return out


def brdy(certno: str) -> date:
    return date(int(certno[6:10]), int(certno[10:12]), int(certno[12:14]))


def gb11643(body17: str) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return body17 + "10X98765432"[sum(int(c) * w for c, w in zip(body17, weights, strict=True)) % 11]


def count(db: Database, table: type) -> int:
    with db.unit_of_work() as s:
        return int(s.scalar(sa.select(sa.func.count()).select_from(table)) or 0)


def counts(db: Database) -> dict[str, int]:
    return {t.__tablename__: count(db, t) for t in (Person, Identity, ImportBatch, Conflict)}


def identity_rows(db: Database) -> list[tuple[Any, ...]]:
    with db.unit_of_work() as s:
        q = sa.select(
            Person.certno,
            Identity.category,
            Identity.valid_from,
            Identity.valid_to,
            Identity.source_bureau,
            Identity.source_row,
            Identity.import_id,
            Identity.ended_import_id,
        ).join(Person, Person.id == Identity.person_id)
        return sorted(tuple(r) for r in s.execute(q))


def copy(path: Path, tmp_path: Path) -> Path:
    target = tmp_path / path.name
    shutil.copyfile(path, target)
    return target


def expected_conflicts(new_people: list[dict[str, Any]], known: list[dict[str, Any]]) -> int:
    """New ID numbers (file order) matching name + birth date + village of a known or earlier new one."""
    seen: dict[tuple[Any, ...], int] = defaultdict(int)
    for p in known:
        seen[(p["name"], brdy(p["certno"]), p["village"])] += 1
    n = 0
    for p in new_people:
        key = (p["name"], brdy(p["certno"]), p["village"])
        n += seen[key]
        seen[key] += 1
    return n


def first_per_certno(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for r in rows:
        out.setdefault(r["certno"], r)
    return list(out.values())


# ---------------------------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------------------------


def test_import_minzheng_workbook(db: Database) -> None:
    rows = roster(MZ, MZ_COLS)
    people = first_per_certno(rows)
    rep = import_identities(db, MZ, "民政", user=USER)

    assert rep.status == "imported"
    assert rep.rows_read == len(rows)
    assert rep.rows_rejected == 0
    assert rep.people_new == len(people)
    assert rep.identities_added == len(rows)
    assert (rep.identities_ended, rep.identities_changed, rep.identities_unchanged) == (0, 0, 0)
    assert rep.conflicts == expected_conflicts(people, [])
    assert counts(db) == {"person": len(people), "identity": len(rows), "import_batch": 1, "conflict": rep.conflicts}

    with db.unit_of_work() as s:
        batch = s.get(ImportBatch, rep.batch_id)
        assert batch is not None
        assert (batch.source_bureau, batch.file_name, batch.rows_total, batch.recorded_by) == ("民政", MZ.name, len(rows), USER)
        stored = json.loads(batch.report)
        assert stored["identities_added"] == len(rows) and stored["people_new"] == len(people)
        by_row = {
            r.source_row: r
            for r in s.execute(
                sa.select(Identity.source_row, Identity.category, Identity.valid_from, Identity.valid_to, Identity.import_id,
                          Identity.source_file, Identity.recorded_by, Person.certno, Person.gend, Person.brdy, Person.village)
                .join(Person, Person.id == Identity.person_id)
            )
        }  # fmt: skip
    for r in rows:
        got = by_row[r["row"]]
        assert got.certno == r["certno"]
        assert got.category == MZ_CODES[r["cat"]]
        assert (got.valid_from, got.valid_to) == (r["vf"], r["vt"])
        assert (got.import_id, got.source_file, got.recorded_by) == (rep.batch_id, MZ.name, USER)
        assert got.brdy == brdy(r["certno"])
        assert got.gend == ("1" if int(r["certno"][16]) % 2 else "2")
        assert got.village == r["village"]


def test_same_file_twice_changes_nothing(db: Database, tmp_path: Path) -> None:
    first = import_identities(db, MZ, "民政", user=USER)
    before, rows_before = counts(db), identity_rows(db)
    again = import_identities(db, MZ, "民政", user=USER)
    assert again.already_imported and again.batch_id == first.batch_id
    assert again.identities_added == again.identities_ended == again.identities_changed == 0
    assert counts(db) == before
    assert identity_rows(db) == rows_before

    # the same content in another file (other bytes): compared row by row, still nothing changes
    wb = load_workbook(MZ)
    wb.worksheets[0]["M3"] = "已复核"  # 备注: a column yibao ignores
    target = tmp_path / "resaved.xlsx"
    wb.save(target)
    rep = import_identities(db, target, "民政", user=USER)
    assert rep.status == "imported"
    assert rep.identities_unchanged == len(roster(MZ, MZ_COLS))
    assert rep.identities_added == rep.identities_ended == rep.identities_changed == rep.people_new == 0
    assert identity_rows(db) == rows_before


def _diff(
    base: list[dict[str, Any]], later: list[dict[str, Any]]
) -> dict[str, list[tuple[dict[str, Any], dict[str, Any] | None]]]:
    """What the later roster should do to the earlier one, keyed by (ID number, category as written)."""
    old = {(r["certno"], r["cat"]): r for r in base}
    out: dict[str, list[tuple[dict[str, Any], dict[str, Any] | None]]] = defaultdict(list)
    for r in later:
        b = old.get((r["certno"], r["cat"]))
        if b is None:
            out["added"].append((r, None))
        elif (b["vf"], b["vt"]) == (r["vf"], r["vt"]):
            out["unchanged"].append((r, b))
        elif b["vf"] == r["vf"] and b["vt"] is None:
            out["ended"].append((r, b))
        elif (r["vt"] is None or b["vf"] <= r["vt"]) and (b["vt"] is None or b["vt"] >= r["vf"]):
            out["changed"].append((r, b))
        else:
            out["added"].append((r, None))
    return out


def test_changed_workbook_brings_only_the_differences(db: Database) -> None:
    base, later = roster(MZ, MZ_COLS), roster(MZ_LATER, MZ_COLS)
    diff = _diff(base, later)
    known = {r["certno"] for r in base}
    new_people = [p for p in first_per_certno(later) if p["certno"] not in known]
    assert diff["added"] and diff["ended"] and diff["changed"] and new_people  # the sample has each kind

    first = import_identities(db, MZ, "民政", user=USER)
    before = count(db, Identity)
    rep = import_identities(db, MZ_LATER, "民政", user="clerk2")
    assert rep.status == "imported" and rep.batch_id != first.batch_id
    assert rep.rows_read == len(later)
    assert rep.identities_added == len(diff["added"])
    assert rep.identities_ended == len(diff["ended"])
    assert rep.identities_changed == len(diff["changed"])
    assert rep.identities_unchanged == len(diff["unchanged"])
    assert rep.people_new == len(new_people)
    assert rep.conflicts == expected_conflicts(new_people, first_per_certno(base)) >= 1
    assert count(db, Identity) == before + len(diff["added"]) + len(diff["changed"])

    with db.unit_of_work() as s:

        def records(certno: str, cat: str) -> list[Identity]:
            q = (
                sa.select(Identity)
                .join(Person, Person.id == Identity.person_id)
                .where(Person.certno == certno, Identity.category == MZ_CODES[cat])
                .order_by(Identity.id)
            )
            return list(s.scalars(q))

        for r, _ in diff["ended"]:
            (rec,) = records(r["certno"], r["cat"])
            assert rec.valid_to == r["vt"]
            assert (rec.ended_import_id, rec.ended_by, rec.import_id) == (rep.batch_id, "clerk2", first.batch_id)
            assert rec.ended_at is not None
        for r, b in diff["changed"]:
            assert b is not None
            old, new = records(r["certno"], r["cat"])
            assert (old.valid_from, old.valid_to) == (b["vf"], r["vf"] - timedelta(days=1))
            assert (old.import_id, old.ended_import_id, old.ended_by) == (first.batch_id, rep.batch_id, "clerk2")
            assert (new.valid_from, new.valid_to, new.import_id) == (r["vf"], r["vt"], rep.batch_id)
            assert (new.source_file, new.source_row, new.ended_at) == (MZ_LATER.name, r["row"], None)
            # what was this person on the day before the new start, and on it?
            on_before = identities_on(s, r["certno"], r["vf"] - timedelta(days=1))
            on_start = identities_on(s, r["certno"], r["vf"])
            assert [i.import_id for i in on_before if i.category == MZ_CODES[r["cat"]]] == [first.batch_id]
            assert [i.import_id for i in on_start if i.category == MZ_CODES[r["cat"]]] == [rep.batch_id]

        # a category change (低保 -> 特困): the old one ended the day before the new one started
        later_by_certno: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for r in later:
            later_by_certno[r["certno"]].append(r)
        movers = [
            (c, next(x for x in rs if x["cat"] == "特困供养人员")["vf"])
            for c, rs in later_by_certno.items()
            if any(x["cat"] == "农村低保" and x["vt"] is not None for x in rs)
            and any(x["cat"] == "特困供养人员" and x["vt"] is None and x["vf"] > date(2022, 6, 30) for x in rs)
        ]
        assert movers
        for certno, day in movers:
            assert {i.category for i in identities_on(s, certno, day - timedelta(days=1))} >= {"dibao"}
            assert "tekun" not in {i.category for i in identities_on(s, certno, day - timedelta(days=1))}
            on_day = {i.category for i in identities_on(s, certno, day)}
            assert "tekun" in on_day and "dibao" not in on_day

    # the changed file again: already imported; the first file again: already imported
    snapshot = identity_rows(db)
    assert import_identities(db, MZ_LATER, "民政", user=USER).batch_id == rep.batch_id
    assert import_identities(db, MZ, "民政", user=USER).already_imported
    assert identity_rows(db) == snapshot


def test_two_bureaus_merge_into_one_person(db: Database) -> None:
    mz, xc = roster(MZ, MZ_COLS), roster(XC, XC_COLS)
    mz_people, xc_people = {r["certno"] for r in mz}, {r["certno"] for r in xc}
    shared = mz_people & xc_people
    assert shared

    r1 = import_identities(db, XC, "乡村振兴", user=USER)
    assert r1.people_new == len(xc_people) and r1.identities_added == len(xc)
    r2 = import_identities(db, MZ, "民政", user=USER)
    assert r2.people_new == len(mz_people - xc_people)
    assert r2.identities_added == len(mz)
    assert r2.people_updated == len(shared)  # 乡村振兴's sheet has no county column; 民政's fills it in
    assert count(db, Person) == len(mz_people | xc_people)

    with db.unit_of_work() as s:
        q = (
            sa.select(Person.certno, Person.county, sa.func.count(sa.distinct(Identity.source_bureau)))
            .join(Identity, Identity.person_id == Person.id)
            .where(Person.certno.in_(sorted(shared)))
            .group_by(Person.certno, Person.county)
        )
        got = {c: (county, n) for c, county, n in s.execute(q)}
    assert set(got) == shared
    assert all(n == 2 and county == "临翔区" for county, n in got.values())


def write_minzheng(path: Path, rows: list[list[Any]]) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.append(["县（区）", "乡镇", "村（社区）", "姓名", "身份证号码", "救助类别", "享受开始日期", "享受结束日期"])
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


def test_same_name_birth_and_village_under_another_id_is_flagged_not_merged(db: Database, tmp_path: Path) -> None:
    import_identities(db, MZ, "民政", user=USER)
    one = roster(MZ, MZ_COLS)[0]
    born = brdy(one["certno"])
    twin = gb11643(f"530921{born:%Y%m%d}77{one['certno'][16]}")
    assert twin != one["certno"]
    fresh = gb11643("53090219860214123")
    fresh_twin = gb11643("53092619860214456")
    path = write_minzheng(
        tmp_path / "conflict.xlsx",
        [
            ["临翔区", "凤翔街道", one["village"], one["name"], twin, "低保边缘家庭", "2022-08-01", None],
            ["临翔区", "博尚镇", "忙坡村", "测试甲", fresh, "农村低保", "2022/8/1", None],
            ["临翔区", "博尚镇", "忙坡村", "测试甲", fresh_twin, "特困供养人员", "20220801", None],
        ],
    )
    people_before = count(db, Person)
    rep = import_identities(db, path, "民政", user=USER)
    assert (rep.people_new, rep.identities_added, rep.conflicts) == (3, 3, 2)
    assert count(db, Person) == people_before + 3
    with db.unit_of_work() as s:
        found = {(c.certno, c.other_certno, c.kind, c.status, c.import_id, c.source_row) for c in s.scalars(sa.select(Conflict))}
        names = s.execute(sa.select(Person.certno).where(Person.certno.in_([twin, one["certno"]]))).scalars().all()
    assert found == {
        (twin, one["certno"], "same_person_other_id", "open", rep.batch_id, 2),
        (fresh_twin, fresh, "same_person_other_id", "open", rep.batch_id, 4),
    }
    assert sorted(names) == sorted([twin, one["certno"]])  # two people, not merged


def _error_cells(path: Path) -> tuple[set[tuple[int, str]], Any]:
    wb = load_workbook(path)
    errors = wb["错误清单"]
    listed = list(errors.iter_rows(values_only=True))
    assert listed[0] == ("行号", "列名", "值", "原因")
    assert all(r[3] for r in listed[1:])  # every bad cell has a reason
    return {(int(r[0]), str(r[1])) for r in listed[1:]}, wb


def _red_cells(ws: Any, header_row: int = 2) -> set[tuple[int, str]]:
    header = {c.column: c.value for c in ws[header_row]}
    out = set()
    for row in ws.iter_rows():
        for c in row:
            if c.fill is not None and c.fill.fgColor is not None and c.fill.fgColor.rgb == "FFFF9999":
                assert c.comment is not None and c.comment.text
                out.add((c.row, header[c.column]))
    return out


def test_bad_workbook_is_refused_with_every_bad_cell_listed(db: Database, tmp_path: Path) -> None:
    bad = copy(BAD, tmp_path)
    with pytest.raises(ImportRefused) as info:
        import_identities(db, bad, "民政", user=USER)
    assert counts(db) == {"person": 0, "identity": 0, "import_batch": 0, "conflict": 0}
    exc = info.value
    assert {(c.row, c.column) for c in exc.cells} == PLANTED
    assert exc.error_file == tmp_path / "minzheng-bad.errors.xlsx" and exc.error_file.exists()
    listed, wb = _error_cells(exc.error_file)
    assert listed == PLANTED
    copy_sheet = wb.worksheets[1]
    assert _red_cells(copy_sheet) == PLANTED
    assert copy_sheet.max_row == load_workbook(bad).worksheets[0].max_row  # the whole sheet is copied


def test_skip_bad_imports_the_good_rows_and_writes_the_rejects(db: Database, tmp_path: Path) -> None:
    bad = copy(BAD, tmp_path)
    rows = [r for r in load_workbook(bad).worksheets[0].iter_rows(min_row=3, values_only=True) if any(v is not None for v in r)]
    bad_rows = {r for r, _ in PLANTED}
    duplicate = 1  # row 17 repeats row 13
    rep = import_identities(db, bad, "民政", user=USER, skip_bad=True)
    assert rep.rows_read == len(rows)
    assert rep.rows_rejected == len(bad_rows)
    assert rep.rows_duplicate == duplicate
    assert rep.identities_added == len(rows) - len(bad_rows) - duplicate
    assert count(db, Identity) == rep.identities_added
    with db.unit_of_work() as s:
        stored_rows = set(s.scalars(sa.select(Identity.source_row)))
        batch = s.get(ImportBatch, rep.batch_id)
        assert batch is not None and batch.rows_rejected == len(bad_rows)
    assert not stored_rows & bad_rows
    assert rep.rejects_file is not None
    rejects = Path(rep.rejects_file)
    assert rejects == tmp_path / "minzheng-bad.rejects.xlsx"
    listed, wb = _error_cells(rejects)
    assert listed == PLANTED
    copy_sheet = wb.worksheets[1]
    header = [c.value for c in copy_sheet[2]]
    assert header[-1] == "原行号"
    original_rows = [r[-1] for r in copy_sheet.iter_rows(min_row=3, values_only=True)]
    assert sorted(original_rows) == sorted(bad_rows)
    # the copy keeps the original row in 原行号; the red cells are on the copied rows
    red = _red_cells(copy_sheet)
    by_copy_row = dict(zip(range(3, 3 + len(original_rows)), original_rows, strict=True))
    assert {(by_copy_row[r], col) for r, col in red} == PLANTED


def test_csv_with_the_same_mapping(db: Database) -> None:
    raw = MZ_CSV.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")  # saved by Excel in China: GBK
    rows = roster(MZ, MZ_COLS)
    rep = import_identities(db, MZ_CSV, "民政", user=USER)
    assert rep.rows_read == len(rows)
    assert rep.identities_added == len(rows)
    assert rep.people_new == len({r["certno"] for r in rows})
    with db.unit_of_work() as s:
        src = set(s.execute(sa.select(Identity.source_row, Identity.valid_from, Identity.valid_to)))
    assert src == {(r["row"], r["vf"], r["vt"]) for r in rows}  # CSV line numbers = the sheet's rows
    same = import_identities(db, MZ, "民政", user=USER)  # the workbook it was saved from
    assert same.identities_unchanged == len(rows)
    assert same.identities_added == same.identities_changed == same.identities_ended == 0


def test_snapshot_ends_what_the_roster_no_longer_lists(db: Database, tmp_path: Path) -> None:
    rows = roster(MZ, MZ_COLS)
    import_identities(db, MZ, "民政", user=USER)
    wb = load_workbook(MZ)
    ws = wb.worksheets[0]
    dropped = rows[-40:]
    ws.delete_rows(dropped[0]["row"], len(dropped))
    path = tmp_path / "minzheng-roster.xlsx"
    wb.save(path)
    kept_keys = {(r["certno"], r["cat"]) for r in rows[:-40]}
    expected = [r for r in dropped if r["vt"] is None and (r["certno"], r["cat"]) not in kept_keys]
    as_of = date(2022, 8, 1)
    rep = import_identities(db, path, "民政", user=USER, snapshot_as_of=as_of)
    assert rep.ended_by_snapshot == rep.identities_ended == len(expected) > 0
    assert rep.identities_unchanged == len(rows) - 40
    with db.unit_of_work() as s:
        for r in expected:
            on = identities_on(s, r["certno"], as_of)
            assert MZ_CODES[r["cat"]] not in {i.category for i in on}
            before = identities_on(s, r["certno"], as_of - timedelta(days=1))
            assert MZ_CODES[r["cat"]] in {i.category for i in before}


def test_mapping_override_for_a_sites_own_headers(db: Database, tmp_path: Path) -> None:
    text = (
        "公民身份号码(18位),救助对象姓名,保障类型,批准时间,所在村\n"
        f"{gb11643('53090219700101321')},王测试,城乡低保对象,2022-03-01,忙弄村\n"
        f"{gb11643('53090219750505322')},李测试,分散特困,2021-11-15,忙弄村\n"
    )
    path = tmp_path / "site.csv"
    path.write_text(text, encoding="utf-8-sig")
    with pytest.raises(ImportRefused) as info:
        import_identities(db, path, "民政", user=USER)
    assert {c.column for c in info.value.cells} >= {"身份证号"}  # the missing required column is named
    mapping = tmp_path / "site.yaml"
    mapping.write_text(
        "columns:\n"
        "  certno: [公民身份号码(18位)]\n"
        "  psn_name: [救助对象姓名]\n"
        "  category: [保障类型]\n"
        "  valid_from: [批准时间]\n"
        "  village: [所在村]\n"
        "categories:\n"
        "  城乡低保对象: dibao\n"
        "  分散特困: tekun\n",
        encoding="utf-8",
    )
    rep = import_identities(db, path, "民政", mapping=mapping, user=USER)
    assert (rep.people_new, rep.identities_added) == (2, 2)
    with db.unit_of_work() as s:
        cats = set(s.scalars(sa.select(Identity.category)))
    assert cats == {"dibao", "tekun"}


@pytest.mark.slow  # six imports of the example workbooks: the full suite has it, the quick command leaves it out
def test_cli_end_to_end(tmp_path: Path) -> None:
    """The command in-process (the README test runs it in a subprocess)."""
    env = {"YIBAO_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}

    def run(*args: str) -> Ran:
        return yibao("import", "identities", *args, env=env, cwd=tmp_path)

    rows = roster(MZ, MZ_COLS)
    first = run("--source", "民政", "--user", "cli", str(MZ))
    assert first.returncode == 0, first.stderr
    assert "导入报告" in first.stdout and "批次 #1" in first.stdout
    assert f"{len(rows):,}" in first.stdout
    again = run("--source", "民政", str(MZ))
    assert again.returncode == 0 and "已于批次 #1" in again.stdout
    en = run("--source", "civil_affairs", "--lang", "en", str(MZ_LATER))
    assert en.returncode == 0 and "identities changed" in en.stdout
    bad = copy(BAD, tmp_path)
    refused = run("--source", "民政", str(bad))
    assert refused.returncode == 2
    assert "minzheng-bad.errors.xlsx" in refused.stderr and (tmp_path / "minzheng-bad.errors.xlsx").exists()
    skipped = run("--source", "民政", "--skip-bad", str(bad))
    assert skipped.returncode == 0 and (tmp_path / "minzheng-bad.rejects.xlsx").exists()
    no_date = run("--source", "民政", "--snapshot", str(MZ))
    assert no_date.returncode == 2
    engine = sa.create_engine(env["YIBAO_DATABASE_URL"])
    with engine.connect() as conn:
        batches = conn.execute(sa.select(ImportBatch.id, ImportBatch.recorded_by).order_by(ImportBatch.id)).all()
    engine.dispose()
    assert [b.id for b in batches] == [1, 2, 3] and batches[0].recorded_by == "cli"


def test_headers_dates_and_numbers_as_bureaus_write_them(tmp_path: Path) -> None:
    """No database: header spelling, every accepted date form, Excel serials and numbers."""
    from yibao.interfaces.workbooks.mapping import load_mapping
    from yibao.interfaces.workbooks.sheets import read_sheet
    from yibao.interfaces.workbooks.validate import validate

    wb = Workbook()
    ws = wb.active
    ws.append(["某县低保名册"])
    ws.append(["序号", " 身份证 号码 ", "姓　名", "*救助类别", "享受开始日期", "享受结束日期", "村(社区)"])
    forms: list[Any] = [datetime(2022, 7, 1), 44743, 20220701, "2022-07-01", "2022/7/1", "2022.7.1", "2022年7月1日", "20220701"]
    for i, vf in enumerate(forms):
        body = f"53090219800101{i:02d}1"
        ws.append([i + 1, gb11643(body), f"测试{i}", "农村低保", vf, None, "忙弄村"])
    ws.append([None] * 7)  # a blank row is skipped, later rows keep their numbers
    number = float(gb11643("53090219800101991"))  # check digit 0: an ID number typed as a number
    ws.append([99, number, "数字号", "特困", "2022-07-01", "2022-06-30", "忙弄村"])
    path = tmp_path / "forms.xlsx"
    wb.save(path)

    m = load_mapping("民政局")  # an alias of the source
    sheet = read_sheet(path, m)
    assert sheet.header_row == 2 and sheet.columns["certno"] == 1 and sheet.columns["village"] == 6
    checked = validate(sheet, m, today=date(2026, 1, 1))
    assert checked.good["valid_from"].to_list() == [date(2022, 7, 1)] * len(forms)
    assert checked.good["_row"].to_list() == list(range(3, 3 + len(forms)))
    last = 3 + len(forms) + 1
    assert {(e.row, e.column) for e in checked.errors} == {(last, "身份证 号码"), (last, "享受结束日期")}
    assert any("科学计数法" in e.reason for e in checked.errors)


def test_an_import_is_all_or_nothing(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """A failure after the people are written leaves no trace: no people, identities or batch."""
    import yibao.app.imports as imports

    real = imports._bulk_insert

    def failing(s: Any, table: Any, frame: Any) -> None:
        if table.name == "identity":
            raise RuntimeError("disk full")
        real(s, table, frame)

    monkeypatch.setattr(imports, "_bulk_insert", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        import_identities(db, MZ, "民政", user=USER)
    assert counts(db) == {"person": 0, "identity": 0, "import_batch": 0, "conflict": 0}
    monkeypatch.setattr(imports, "_bulk_insert", real)
    rep = import_identities(db, MZ, "民政", user=USER)  # and the file is not "already imported"
    assert rep.status == "imported" and rep.identities_added == len(roster(MZ, MZ_COLS))
