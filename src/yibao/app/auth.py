"""Staff and institution accounts, passwords (Argon2), expiring tokens, and what each role may do."""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from sqlalchemy.orm import Session

from yibao.core.errors import InputError
from yibao.core.idcard import mask
from yibao.store.service_tables import Account, Token

ROLES: dict[str, tuple[str, str]] = {
    "clerk": ("经办", "clerk"),
    "auditor": ("审核", "auditor"),
    "monitoring": ("监测", "monitoring"),
    "analyst": ("分析", "analyst"),
    "admin": ("管理", "admin"),
    "institution": ("定点机构", "institution"),
}

PERMISSIONS: dict[str, frozenset[str]] = {
    # settle at the window, look people up, file, reverse with a reason, import bureau workbooks
    "clerk": frozenset(
        {"person.read", "person.certno", "filing.write", "settle", "settle.read", "reverse", "position.read", "imports"}
    ),
    # fund supervision: read settlements and positions, verify the ledger, reconcile, the bureau's reports
    "auditor": frozenset({"person.read", "settle.read", "position.read", "ledger.verify", "reconcile", "reports"}),
    # follow-up of high-cost warnings: run monitoring, work the warning list, people and positions, not settling
    "monitoring": frozenset({"person.read", "position.read", "settle.read", "warnings.read", "warnings.work", "reports"}),
    # statistics only: no single person's details; policy what-if on synthetic data
    "analyst": frozenset({"reports", "policy.whatif"}),
    "admin": frozenset(
        {
            "person.read",
            "person.certno",
            "settle.read",
            "position.read",
            "ledger.verify",
            "reconcile",
            "accounts",
            "imports",
            "warnings.read",
            "reports",
            "policy.whatif",
        }
    ),
    # a hospital system: the national interface for its own visits and settlements
    "institution": frozenset({"national", "person.read", "settle", "settle.read", "reverse"}),
}

TOKEN_HOURS = 8


def _password_hasher() -> PasswordHasher:
    """Argon2 with its library defaults; ``YIBAO_PASSWORD_HASH=cheapest`` (the test suite only) takes the
    library's cheapest profile so that hundreds of test accounts do not cost minutes. A stored hash
    carries its own parameters, so either setting verifies every hash."""
    if os.environ.get("YIBAO_PASSWORD_HASH") == "cheapest":
        return PasswordHasher.from_parameters(profiles.CHEAPEST)
    return PasswordHasher()


_hasher = _password_hasher()


def hash_password(password: str) -> str:
    if len(password) < 8:
        raise InputError("account", "password", "********", "a password of at least 8 characters")
    return _hasher.hash(password)


def create_account(
    session: Session,
    username: str,
    password: str,
    role: str,
    by: str,
    *,
    display_name: str = "",
    fixmedins_code: str | None = None,
) -> Account:
    if role not in ROLES:
        raise InputError("account", "role", role, " / ".join(ROLES))
    if role == "institution" and not fixmedins_code:
        raise InputError("account", "fixmedins_code", fixmedins_code, "the institution code of an institution account")
    if session.get(Account, username) is not None:
        raise InputError("account", "username", username, "a user name not yet taken")
    account = Account(
        username=username, display_name=display_name or username, role=role, password_hash=hash_password(password),
        fixmedins_code=fixmedins_code, active=True, recorded_at=datetime.now(UTC), recorded_by=by,
    )  # fmt: skip
    session.add(account)
    session.flush()
    return account


@dataclass(frozen=True)
class Principal:
    """Who is calling."""

    username: str
    role: str
    fixmedins_code: str | None
    display_name: str

    def can(self, permission: str) -> bool:
        return permission in PERMISSIONS.get(self.role, frozenset())

    @property
    def sees_certno(self) -> bool:
        """May see ID numbers in full (``person.certno``); everyone else sees them masked."""
        return self.can("person.certno")

    def shown_certno(self, certno: str) -> str:
        """An ID number as this caller may see it: in full or masked (:attr:`sees_certno`)."""
        return certno if self.sees_certno else mask(certno)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def sign_in(session: Session, username: str, password: str, hours: int = TOKEN_HOURS) -> tuple[str, datetime]:
    """A new token for a correct user name and password; the same error for every failure."""
    # a user name with NUL cannot exist (and PostgreSQL cannot even compare it): refused like any wrong name
    account = session.get(Account, username) if "\x00" not in username else None
    refused = InputError("sign-in", "password", "********", "the right user name and password of an active account")
    if account is None or not account.active:
        _hasher.hash(password)  # same work whether or not the account exists
        raise refused
    try:
        _hasher.verify(account.password_hash, password)
    except (VerifyMismatchError, InvalidHashError):
        raise refused from None
    token = secrets.token_urlsafe(32)
    expires = datetime.now(UTC) + timedelta(hours=hours)
    session.add(Token(token_sha256=_digest(token), username=username, expires_at=expires, created_at=datetime.now(UTC)))
    session.flush()
    return token, expires


def principal_for(session: Session, token: str) -> Principal | None:
    """The account behind a token that has not expired."""
    found = principal_until(session, token)
    return found[0] if found else None


def principal_until(session: Session, token: str) -> tuple[Principal, datetime] | None:
    """The account behind a token that has not expired, and when the token expires."""
    row = session.get(Token, _digest(token))
    if row is None:
        return None
    expires = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=UTC)
    if expires <= datetime.now(UTC):
        return None
    account = session.get(Account, row.username)
    if account is None or not account.active:
        return None
    return Principal(account.username, account.role, account.fixmedins_code, account.display_name), expires


def sign_out(session: Session, token: str) -> None:
    session.execute(sa.delete(Token).where(Token.token_sha256 == _digest(token)))
