"""A category a bureau's pack declares, end to end: the pack names it by its Chinese name; a 民政 roster brings
it by its Chinese name or alias into the registry (SQLite and PostgreSQL); the person page, the settlement slip,
the push list and ``yibao person show`` name it by its label, never its code; and its 12-month validity from
recognition lapses an older recognition on the person page (with the reason) and in the coverage counts.

The pack is Huaibei's with one declared category, written to a file and loaded from it, as a bureau's own
pack is (:func:`yibao.policy.pack.load_pack` makes its categories known to the whole installation)."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from html import unescape
from pathlib import Path
from typing import Any

import pytest
import yaml
from openpyxl import load_workbook
from typer.testing import CliRunner

from tests.accounts import signed_in
from tests.conftest import migrated_database
from tests.db.desk import bearer
from tests.db.test_service import bill, seed
from yibao.app.coverage import coverage
from yibao.app.imports import ImportRefused, import_identities
from yibao.app.push_list import write_push_list
from yibao.core.idcard import check_digit
from yibao.entrypoints.cli.main import app as cli_app
from yibao.entrypoints.http import create_app
from yibao.policy import pack as pack_module
from yibao.policy.categories import identity_label
from yibao.policy.pack import PACKS_DIR, PolicyPack, load_pack
from yibao.store.db import Database
from yibao.store.monitoring_tables import WarningCase
from yibao.store.tables import Identity, Person

CODE = "xian_yinbing"
ZH = "县认定因病致贫重病患者"
EN = "county-recognised seriously ill"
ALIAS = "县因病致贫"
TODAY = date(2022, 12, 31)


def _a(value: Any) -> dict[str, Any]:
    return {"value": value, "assumed": "test"}


@pytest.fixture(scope="module")
def pack_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Huaibei's pack with ``xian_yinbing`` declared, ranked second and named by a Chinese name in each key."""
    raw = yaml.safe_load((PACKS_DIR / "anhui-huaibei-2022.yaml").read_text(encoding="utf-8"))
    raw["pack"] = "huaibei-declared"
    policy = raw["policy"]
    policy["categories"] = {CODE: {"label_zh": ZH, "label_en": EN, "aliases": [ALIAS], "bureau": "民政"}}
    policy["identity_priority"] = ["tekun", ZH, *policy["identity_priority"][1:]]
    policy["identity_validity"] = {ALIAS: _a(12)}
    policy["assistance"]["categories"][EN.upper()] = {"deductible": _a(0), "ratio": _a(80)}
    policy["tilted_assistance"]["categories"].append(ALIAS)
    policy["premium"]["subsidies"][ZH] = {"share": _a(100)}
    policy["monitoring"]["rules"]["high_self_pay"]["categories"].append(ALIAS)
    path = tmp_path_factory.mktemp("pack") / "huaibei-declared.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def pack(pack_file: Path) -> Iterator[PolicyPack]:
    """The pack loaded from its file; its category is known to the process until the module's tests end."""
    yield load_pack(pack_file)
    loaded = pack_module._LOADED_CATEGORIES
    loaded.pop(CODE, None)
    assert CODE not in loaded


def test_the_pack_reads_the_declared_names_as_its_code(pack: PolicyPack) -> None:
    pol = pack.at(TODAY)
    assert pol.identity_priority[:3] == ("tekun", CODE, "dibao")
    assert pol.identity_validity == {CODE: 12}
    assert CODE in pol.assistance.categories and CODE in pol.tilted_assistance.categories  # type: ignore[union-attr]
    assert CODE in pol.premium.subsidies  # type: ignore[union-attr]
    assert CODE in pol.monitoring.rules["high_self_pay"].categories  # type: ignore[union-attr]
    assert (identity_label(CODE), identity_label(CODE, "en"), identity_label(CODE, short=True)) == (ZH, EN, ZH)
    assert identity_label("not_a_category") == "not_a_category"


def _certno(body17: str) -> str:
    return body17 + check_digit(body17)


A = _certno("53090219650312001")
B = _certno("53090219700101002")


def _roster(path: Path, rows: list[tuple[str, str, str, str]]) -> Path:
    text = "身份证号码,姓名,救助类别,享受开始日期\n" + "".join(",".join(r) + "\n" for r in rows)
    path.write_text(text, encoding="utf-8-sig")
    return path


def test_a_roster_brings_the_declared_category_by_its_chinese_name(pack: PolicyPack, db: Database, tmp_path: Path) -> None:
    bad = _roster(tmp_path / "bad.csv", [(A, "张三", ZH, "2022-03-01"), (B, "李四", "县认定因病", "2022-03-01")])
    with pytest.raises(ImportRefused) as refused:
        import_identities(db, bad, "民政", today=TODAY, out_dir=tmp_path)
    (cell,) = refused.value.cells
    assert (cell.row, cell.field, cell.value) == (3, "category", "县认定因病")
    assert f"{ZH}（`{CODE}`）" in cell.reason and "特困人员（`tekun`）" in cell.reason, cell.reason
    with db.unit_of_work() as s:
        assert s.query(Identity).count() == 0  # refused: nothing written

    good = _roster(tmp_path / "good.csv", [(A, "张三", ZH, "2022-03-01"), (B, "李四", f" {ALIAS} ", "2021-05-01")])
    report = import_identities(db, good, "民政", today=TODAY, out_dir=tmp_path)
    assert report.status == "imported"
    with db.unit_of_work() as s:
        got = {(p.certno, i.category, i.valid_from, i.source_bureau) for i, p in s.query(Identity, Person).join(Person)}
    assert got == {(A, CODE, date(2022, 3, 1), "民政"), (B, CODE, date(2021, 5, 1), "民政")}


def _words(html: str) -> str:
    return unescape(re.sub(r"<[^>]+>|\s+", " ", html))


def test_pages_slip_and_push_list_name_it_and_the_person_page_shows_its_validity(pack: PolicyPack, db: Database) -> None:
    seed(db, "dibao")  # P1, 低保 since 2021
    with db.unit_of_work() as s:
        p1 = s.query(Person).filter_by(psn_no="P1").one()
        now = datetime.now(UTC)
        s.add(Identity(person_id=p1.id, category=CODE, valid_from=date(2021, 3, 1), source_bureau="民政",
                       recorded_at=now, recorded_by="seed"))  # fmt: skip
        s.commit()
    app = create_app(db, pack)
    clerk = signed_in(app, "clerk")
    # recognised 2021-03-01, held 12 months to 2022-02-28: on 15 February it ranks above 低保 and decides
    r = clerk.post("/api/settlements", json=bill(3_000, "2022-02-15"), headers=bearer(app, "clerk"))
    assert r.status_code == 201, r.text
    setl_id = r.json()["setlinfo"]["setl_id"]
    slip = _words(clerk.get(f"/settlements/{setl_id}/slip").text)
    assert ZH in slip and CODE not in slip
    assert ZH in _words(clerk.get(f"/settlements/{setl_id}").text)

    # the page's day is the pack's last, 2022-12-31: the recognition lapsed, so 低保 decides, and the page says why
    page = clerk.get("/persons/P1").text
    deciding = _words(re.search(r'id="deciding">(.*?)</td>', page, re.S).group(1))  # type: ignore[union-attr]
    assert deciding.startswith("低保对象")
    assert f"{ZH}：2021-03-01 认定，认定后有效期 12 个月，已于 2022-02-28 到期，不再按此身份享受待遇" in deciding
    assert "已过认定有效期" in _words(page) and CODE not in _words(page)
    clerk.cookies.set("lang", "en")
    en = _words(clerk.get("/persons/P1").text)
    assert f"{EN}: recognised on 2021-03-01, valid for 12 months from recognition; lapsed after 2022-02-28" in en
    assert "recognition lapsed" in en and ZH not in en

    buf = io.BytesIO()
    w = WarningCase(
        id=1, identity=CODE, measure_amt=1_000_000, threshold_amt=500_000, excess_amt=500_000, medfee_sumamt=2_000_000,
        psn_part_amt=1_000_000, hh_self_pay=None, setl_ids="[]", status="pushed", at_risk=None, bureau="民政",
        recorded_at=now, updated_at=now,
    )  # fmt: skip
    write_push_list([(w, Person(psn_no="P1", certno=A, psn_name="张三", township="博尚镇"))], buf, period_label="2022-05")
    cells = [c.value for row in load_workbook(buf).active.iter_rows() for c in row]
    assert ZH in cells and CODE not in cells


def test_person_show_names_it_and_says_why_a_lapsed_one_is_not_held(
    pack_file: Path, tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # one line per sentence
    with migrated_database("sqlite", tmp_path, request) as db:
        seed(db, CODE)  # recognised 2021-01-01: held to 2021-12-31
        monkeypatch.setenv("YIBAO_DATABASE_URL", db.url)  # type: ignore[attr-defined]
        show = ["person", "show", "P1", "--policy", str(pack_file), "--date"]
        held = CliRunner().invoke(cli_app, [*show, "2021-06-30"])
        assert held.exit_code == 0, held.output
        assert f"2021-06-30 的身份：{ZH}" in held.output and CODE not in held.output
        lapsed = CliRunner().invoke(cli_app, [*show, "2022-06-30"])
        assert "2022-06-30 的身份：普通参保居民" in lapsed.output, lapsed.output
        assert f"{ZH}：2021-01-01 认定，认定后有效期 12 个月，已于 2021-12-31 到期" in lapsed.output


def test_coverage_counts_a_person_by_the_identity_held_within_its_validity(pack: PolicyPack, db: Database) -> None:
    seed(db, "dibao")  # P1, 低保 since 2021, enrolled for 2022
    with db.unit_of_work() as s:
        p1 = s.query(Person).filter_by(psn_no="P1").one()
        s.add(Identity(person_id=p1.id, category=CODE, valid_from=date(2021, 3, 1), source_bureau="民政",
                       recorded_at=datetime.now(UTC), recorded_by="seed"))  # fmt: skip
        s.commit()
    pol = pack.at(TODAY)

    def rows(day: date) -> list[tuple[str, int, int]]:
        cov = coverage(db, 2022, day, priority=pol.identity_priority, validity=pol.identity_validity)
        return [(r.category, r.persons, r.enrolled) for r in cov.by_category]

    assert rows(date(2022, 2, 28)) == [(CODE, 1, 1)]  # the 12th month of its recognition: it decides
    assert rows(date(2022, 3, 1)) == [("dibao", 1, 1)]  # lapsed: 低保 decides
