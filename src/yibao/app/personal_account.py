"""The employees' personal account (个人账户) balances a year's claims draw on (issue 15, feature 13).

A balance is recorded for a person and a year (``personal_account``, never changed: a correction is a new row, the
latest counts) from the command line (``yibao filing account``) or a people file's ``acct_balance`` column
(``yibao import accounts``); the settlement's one read gives the claim's year's balance to the core as
``Person.acct_balance`` (:func:`yibao.app.registry.account_balance_column`), and each settlement's account payment
(``acct_pay``, in the ledger) counts in the year's ``acct_paid`` accumulator.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from yibao.app.registry import account_balance
from yibao.app.stamps import recorded
from yibao.core.errors import InputError, InputErrors
from yibao.core.money import fmt_yuan
from yibao.interfaces.claim_csv import MAX_BALANCE_FEN, read_account_balances
from yibao.store.tables import Person, PersonalAccount


def check_year(year: int, where: str) -> None:
    if not 1990 <= year <= 2100:
        raise InputError(where, "year", year, "a year from 1990 to 2100", expected_zh="1990 至 2100 之间的年度")


def add_balance(
    session: Session, person: Person, year: int, balance_fen: int, user: str, source: str, *, where: str = "personal account"
) -> PersonalAccount:
    """An employee's personal-account balance for ``year``, before the year's claims (``source``: where it came from)."""
    if person.insutype != "310":
        raise InputError(
            where, "insutype", person.insutype, "an employee (310): only employees have a personal account",
            expected_zh="职工基本医疗保险参保人（310）：只有职工有个人账户",
        )  # fmt: skip
    check_year(year, where)
    if not 0 <= balance_fen <= MAX_BALANCE_FEN:
        raise InputError(
            where, "acct_balance", fmt_yuan(balance_fen), "an amount in yuan from 0 to 100,000,000",
            expected_zh="0 至 100,000,000 元之间的金额",
        )  # fmt: skip
    row = PersonalAccount(person_id=person.id, year=year, balance_fen=balance_fen, source=source[:255])
    return recorded(session, row, user)


def load_balances(session: Session, path: Path, year: int, user: str) -> int:
    """The ``acct_balance`` column of a people file recorded for ``year``, every row or none: each bad row (a bad
    amount, an unknown person, a resident) is reported with file, row, field and value, and nothing is added. The
    caller commits. Answers how many balances were recorded."""
    check_year(year, "command line")
    balances = read_account_balances(path)
    wanted = sorted({psn_no for _, psn_no, _ in balances})
    people: dict[str, Person] = {}
    for i in range(0, len(wanted), 500):
        people.update({p.psn_no: p for p in session.scalars(sa.select(Person).where(Person.psn_no.in_(wanted[i : i + 500])))})
    errors: list[InputError] = []
    for where, psn_no, fen in balances:
        person = people.get(psn_no)
        if person is None:
            errors.append(InputError(where, "psn_no", psn_no, "a psn_no or resident ID number registered in yibao"))
            continue
        try:
            add_balance(session, person, year, fen, user, where, where=where)
        except InputError as exc:
            errors.append(exc)
    if errors:
        raise InputErrors(errors)
    return len(balances)


def account_year(session: Session, person_id: int, year: int, paid: int) -> dict[str, int] | None:
    """The personal account for ``year`` given what was ``paid`` from it so far (the year's ``acct_paid``): the balance
    before the year's claims, paid, left (fen); ``None`` when no balance is recorded for the year and nothing was paid."""
    balance = account_balance(session, person_id, year)
    if balance is None and not paid:
        return None
    return {"balance": balance or 0, "paid": paid, "left": max(0, (balance or 0) - paid)}
