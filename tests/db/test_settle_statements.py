"""How many SQL statements one settlement costs, on SQLite and PostgreSQL, so that the number cannot grow unseen.

A settlement sent over REST with an Idempotency-Key, counted at the database driver's cursor
(``before_cursor_execute``), in one transaction (one ``begin``, one ``commit``):

- the message looked up (exactly once);
- the one read: the person, enrolment, identities, filings, the institution, the visit's settlements and the
  year-to-date row, locked (:mod:`yibao.app.person_year`);
- the write: the ledger row and the accumulators — one statement on PostgreSQL (a data-modifying CTE), two on
  SQLite (an insert and an update: SQLite has no writing CTE, and its statements make no round trip);
- the message recorded.

So 4 statements on PostgreSQL and 5 on SQLite, plus BEGIN and COMMIT; without a key 2 and 3. The person's first
claim of a year inserts the year's row: one more. A pre-settlement is the one read.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from tests.accounts import HOSPITAL, seed_accounts
from yibao.app import ledger, settlements
from yibao.app.auth import Principal
from yibao.app.schemas import ClaimIn
from yibao.policy import load_pack
from yibao.settlement.model import TraceStep
from yibao.store.db import Database
from yibao.store.service_tables import LedgerEntry, YearToDateRow
from yibao.store.tables import ChronicFiling, CrossFiling, Enrolment, Identity, Person

PACK = load_pack("anhui-huaibei-2022")
CLERK = Principal("clerk", "clerk", None, "经办")


def seed(db: Database) -> None:
    seed_accounts(db)
    now = datetime.now(UTC)
    with db.unit_of_work() as s:
        p = Person(psn_no="P1", certno="530902196207040026", psn_name="杨桂芳", gend="2", brdy=date(1962, 7, 4),
                   recorded_at=now, recorded_by="seed")  # fmt: skip
        s.add(p)
        s.flush()
        stamp = {"person_id": p.id, "recorded_at": now, "recorded_by": "seed"}
        s.add(Identity(category="dibao", valid_from=date(2021, 1, 1), source_bureau="民政", **stamp))
        s.add(Identity(category="tekun", valid_from=date(2020, 1, 1), valid_to=date(2020, 12, 31), source_bureau="民政", **stamp))
        s.add(ChronicFiling(dise_codg="I10", dise_name="高血压", begin=date(2022, 1, 1), **stamp))
        s.add(CrossFiling(begin=date(2022, 1, 1), end=date(2022, 12, 31), **stamp))
        s.add(Enrolment(year=2022, insutype="390", psn_insu_stas="1", **stamp))
        s.commit()


@contextmanager
def counted(db: Database) -> Iterator[dict[str, Any]]:
    """The statements sent through the driver's cursor (BEGIN left out), and the transactions begun and committed."""
    seen: dict[str, Any] = {"statements": [], "begin": 0, "commit": 0}

    def statement(conn: Any, cursor: Any, text: str, *args: Any) -> None:
        if not text.lstrip().upper().startswith("BEGIN"):
            seen["statements"].append(" ".join(text.split())[:80])

    def begin(conn: Any) -> None:
        seen["begin"] += 1

    def commit(conn: Any) -> None:
        seen["commit"] += 1

    hooks = (("before_cursor_execute", statement), ("begin", begin), ("commit", commit))
    for name, fn in hooks:
        event.listen(db.engine, name, fn)
    try:
        yield seen
    finally:
        for name, fn in hooks:
            event.remove(db.engine, name, fn)


def body(yuan: int, day: str = "2022-03-10") -> ClaimIn:
    return ClaimIn.model_validate(
        {"psn_no": "P1", "setl_date": day, "med_type": "21", "fixmedins_code": HOSPITAL, "summary": {"medfee_sumamt": yuan * 100}}
    )


def settle(db: Database, claim: ClaimIn, key: str | None) -> dict[str, Any]:
    def work(s: Session) -> tuple[dict[str, Any], str]:
        done = settlements.settle(s, PACK, claim, CLERK, key, mdtrt_id=None)
        return settlements.settlement_json(done.settlement, done.entry.setl_id, audit=done.audit), f"settle:{done.entry.setl_id}"

    message = ledger.message_key("rest", "clerk", key) if key else None
    _, text, first = settlements.once_json(db, message, "settle", "clerk", claim.model_dump(mode="json"), work)
    assert first
    answer: dict[str, Any] = json.loads(text)
    return answer


def test_one_settlement_is_one_read_one_write_and_the_message(db: Database) -> None:
    seed(db)
    pg = db.engine.dialect.name == "postgresql"
    with counted(db) as first:
        settle(db, body(800), "K1")  # the person's first claim of 2022: the year's row is inserted too
    with counted(db) as later:
        settle(db, body(900), "K2")
    with counted(db) as bare:
        last = settle(db, body(100), None)
    with db.unit_of_work() as s, counted(db) as preview:
        settlements.preview(s, PACK, body(100), CLERK)

    write = 1 if pg else 2
    assert len(later["statements"]) == 1 + 1 + write + 1, later["statements"]  # message, read, write, message
    assert (later["begin"], later["commit"]) == (1, 1)
    assert len(first["statements"]) == len(later["statements"]) + 1, first["statements"]
    assert len(bare["statements"]) == 1 + write and (bare["begin"], bare["commit"]) == (1, 1), bare["statements"]
    assert len(preview["statements"]) == 1, preview["statements"]

    with db.unit_of_work() as s:
        entries = s.scalars(sa.select(LedgerEntry).order_by(LedgerEntry.id)).all()
        row = s.scalars(sa.select(YearToDateRow)).one()
        assert [e.identity for e in entries] == ["dibao"] * 3  # identities read with their periods
        assert row.version == 3 and json.loads(row.data) == last["year_to_date"]
    assert not ledger_diffs(db)


def ledger_diffs(db: Database) -> list[dict[str, Any]]:
    with db.unit_of_work() as s:
        return ledger.verify(s)


def test_trace_is_stored_as_steps_and_rendered_when_read(db: Database) -> None:
    seed(db)
    answer = settle(db, body(800), "K1")
    with db.unit_of_work() as s:
        entry = ledger.get_entry(s, answer["setl_id"])
    stored = json.loads(entry.trace)
    assert all(set(step) == {"tier", "key", "args"} for step in stored)
    view = ledger.trace_view(entry.trace)
    assert [v["zh"] for v in view] == [t["text"] for t in answer["trace"]]  # the answer rendered the same steps in Chinese
    assert all(v["en"] and v["tier"] for v in view)
    # an entry written when the trace was stored rendered is read as it was written
    old = [{"tier": "基本医保", "zh": "支付 1.00元", "en": "pays 1.00"}]
    assert ledger.trace_view(json.dumps(old, ensure_ascii=False)) == old
    # (zh, en) pairs come back as pairs: the step renders as it did when settled
    step = TraceStep(
        "line", "line", {"line": "x", "line_name": ("普通门诊", "outpatient"), "med_type": "11", "identity": "dibao"}
    )
    [again] = ledger.trace_view(ledger.trace_json([step]))
    assert "普通门诊" in again["zh"] and "outpatient" in again["en"]
