"""Identity conflicts in a real browser: a bureau workbook that brings two 疑似同人异号 (a demo resident's name, birth
date and village under a new ID number) and changes others; the import's named change report on the page and as
Excel; the review page with both records side by side; one pair kept apart, the other merged (after the unsafe way
round is refused with its reason); and the page refused to a role that does not import."""

from __future__ import annotations

import re
from pathlib import Path

import sqlalchemy as sa
from openpyxl import load_workbook
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import Site, shot, sign_in
from tests.db.test_imports import write_minzheng
from yibao.core.idcard import check_digit
from yibao.store.service_tables import LedgerEntry
from yibao.store.tables import Conflict, ConflictDecision, Identity, Person

NEW_PERSON = "53090219990909771"


def _twin(certno: str) -> str:
    """Another ID number with the same birth date (another county's code, another sequence number)."""
    body = "530921" + certno[6:14] + "77" + certno[16]
    return body + check_digit(body)


def _residents(site: Site) -> tuple[Person, Person, Person]:
    """Three demo residents the other browser tests do not settle for: two with settlements (the pairs) and one more."""
    taken = {c for c, _, _ in site.people} | {c for c, _, _ in site.assisted}
    with site.db.reading() as s:
        settled = sa.select(LedgerEntry.person_id).where(LedgerEntry.kind == "settle")
        q = sa.select(Person).where(Person.id.in_(settled), Person.village.is_not(None)).order_by(Person.id.desc())
        chosen = [p for p in s.scalars(q) if p.certno not in taken][:3]
        s.expunge_all()
    assert len({(p.psn_name, p.brdy, p.village) for p in chosen}) == 3
    return chosen[0], chosen[1], chosen[2]


def test_conflicts_reviewed_after_an_import_with_named_changes(page: Page, browser: Browser, site: Site, tmp_path: Path) -> None:
    one, two, other = _residents(site)
    twin_one, twin_two = _twin(one.certno), _twin(two.certno)
    fresh = NEW_PERSON + check_digit(NEW_PERSON)
    path = write_minzheng(
        tmp_path / "民政-同人异号.xlsx",
        [
            [one.county, one.township, one.village, one.psn_name, twin_one, "农村低保", "2022-08-01", None],
            [two.county, two.township, two.village, two.psn_name, twin_two, "农村低保", "2022-08-01", None],
            [other.county, other.township, other.village, other.psn_name, other.certno, "低保边缘家庭", "2022-08-01", None],
            ["临翔区", "博尚镇", "忙坡村", "测试新", fresh, "农村低保", "2022-08-01", None],
        ],
    )

    sign_in(page, "clerk")
    page.click("nav >> text=导入")
    page.select_option("#f-source", "民政")
    page.set_input_files("#f-file", str(path))
    page.click("#upload-button")
    preview = page.locator("#preview #changes")
    expect(preview.locator(f"tr[data-certno='{other.certno}'][data-change='added']")).to_contain_text("2022-08-01 ~")
    page.click("#confirm-button")
    page.wait_for_url(re.compile(r"/imports\?batch=\d+$"))
    batch = int(page.url.rsplit("=", 1)[1])

    # the named change report: every person added or changed, the look-alikes flagged
    changes = page.locator("#batch-report #changes")
    for certno, change, name in (
        (twin_one, "person_added", one.psn_name),
        (twin_two, "person_added", two.psn_name),
        (twin_one, "conflict", one.psn_name),
        (twin_two, "conflict", two.psn_name),
        (other.certno, "added", other.psn_name),
        (fresh, "person_added", "测试新"),
    ):
        expect(changes.locator(f"tr[data-certno='{certno}'][data-change='{change}']")).to_contain_text(name)
    expect(changes.locator(f"tr[data-certno='{twin_one}'][data-change='conflict']")).to_contain_text(one.certno)
    expect(changes.locator("tbody tr")).to_have_count(6)
    shot(page, "import-named-changes")
    with page.expect_download() as info:
        page.click("#changes-link")
    saved = tmp_path / "changes.xlsx"
    info.value.save_as(saved)
    rows = list(load_workbook(saved).worksheets[0].iter_rows(values_only=True))
    assert rows[0][0].startswith(f"身份数据导入变更报告：批次 #{batch} · 民政 · 民政-同人异号.xlsx · clerk")
    assert sorted((r[1], r[2], r[3]) for r in rows[3:]) == sorted(
        [
            ("新增人员", one.psn_name, twin_one),
            ("疑似同人异号", one.psn_name, twin_one),
            ("新增人员", two.psn_name, twin_two),
            ("疑似同人异号", two.psn_name, twin_two),
            ("身份新增", other.psn_name, other.certno),
            ("新增人员", "测试新", fresh),
        ]
    )

    # the review: both records side by side with their sources
    page.click("#conflicts-link")
    page.wait_for_url("**/conflicts")
    with site.db.reading() as s:
        ids = {c.certno: c.id for c in s.scalars(sa.select(Conflict).where(Conflict.import_id == batch))}
    assert set(ids) == {twin_one, twin_two}
    page.click(f"tr[data-conflict='{ids[twin_one]}'] >> text=#{ids[twin_one]}")
    records = page.locator("#records")
    expect(records).to_contain_text(twin_one)
    expect(records).to_contain_text(one.certno)
    expect(records).to_contain_text("民政-同人异号.xlsx")
    expect(page.locator("#flagged")).to_contain_text(f"#{batch}")
    shot(page, "conflict-review")

    # keep the first pair apart: recorded with who, when and why
    page.click("#keep-button")  # no reason: refused, nothing written
    expect(page.locator("#e-keep")).to_contain_text("理由")
    page.fill("#f-keep-reason", "核对户籍：同村同名同生日的两个人")
    page.click("#keep-button")
    expect(page.locator("#notice")).to_contain_text("确认为不同人员")
    expect(page.locator("#history tr[data-action='keep']")).to_contain_text("核对户籍：同村同名同生日的两个人")
    expect(page.locator("#history tr[data-action='keep']")).to_contain_text("clerk")

    # merge the second: keeping the new record would absorb one with settlements — refused with the reason
    page.goto(f"/conflicts/{ids[twin_two]}")
    page.check(f"#keep-{twin_two}")
    page.fill("#f-merge-reason", "同一人")
    page.click("#merge-button")
    expect(page.locator("#e-merge")).to_contain_text("结算历史")
    with site.db.reading() as s:
        absorbed = s.scalar(sa.select(Person).where(Person.certno == twin_two))
        assert absorbed is not None and absorbed.merged_into is None
    page.check(f"#keep-{two.certno}")
    page.fill("#f-merge-reason", "经核实为同一人，新号为误录")
    page.click("#merge-button")
    expect(page.locator("#notice")).to_contain_text("合并")
    expect(page.locator("#history tr[data-action='merge']")).to_contain_text(f"{two.certno} ← {twin_two}")
    shot(page, "conflict-merged")
    with site.db.reading() as s:
        absorbed = s.scalar(sa.select(Person).where(Person.certno == twin_two))
        assert absorbed is not None and absorbed.merged_into == two.id
        moved = s.scalar(sa.select(Identity.person_id).where(Identity.import_id == batch, Identity.source_row == 3))
        assert moved == two.id
        assert s.scalar(sa.select(sa.func.count()).select_from(ConflictDecision)) == 2
    page.goto("/conflicts?status=all")
    expect(page.locator(f"tr[data-conflict='{ids[twin_one]}']")).to_contain_text("已核实为不同人员")
    expect(page.locator(f"tr[data-conflict='{ids[twin_two]}']")).to_contain_text("已合并")

    # a role that does not import is refused
    other_context = browser.new_context(base_url=site.url, locale="zh-CN")
    auditor = other_context.new_page()
    sign_in(auditor, "auditor")
    response = auditor.goto(f"/conflicts/{ids[twin_one]}")
    assert response is not None and response.status == 403
    expect(auditor.locator("h1")).to_contain_text("无权访问")
    response = auditor.goto(f"/imports/{batch}/changes.xlsx")
    assert response is not None and response.status == 403
    other_context.close()
