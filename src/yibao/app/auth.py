"""Staff and institution accounts, passwords (Argon2), expiring tokens, and what each role may do.

Sign-in is throttled per user name and per client address (:class:`Throttle`, counted in the database so
every server process sees it); a changed password or role, or a disabled account, revokes every token of the
account (:attr:`~yibao.store.service_tables.Account.token_generation`)."""

from __future__ import annotations

import hashlib
import math
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import sqlalchemy as sa
from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from yibao.core.errors import InputError, NotFound
from yibao.core.i18n import t
from yibao.core.idcard import mask
from yibao.core.settings import Settings
from yibao.store.db import Database
from yibao.store.service_tables import Account, AccountEvent, Institution, SignInFailures, Token

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
        | {"assistance"}  # 依申请救助: decide an application for assistance, reverse one
        | {"enrolment", "enrolment.read"}  # enrol the county (registry, tax payment list); coverage, gap list, ledger
        | {"backpay"}  # 补差: re-settle after a late identity and pay the difference
    ),
    # fund supervision: read settlements and positions, verify the ledger, reconcile, the bureau's reports
    "auditor": frozenset(
        {"person.read", "settle.read", "position.read", "ledger.verify", "reconcile", "reports", "audit.rules"}
        | {"suspects.read", "suspects.work"}  # 疑点: review, investigate, decide, draw samples
        | {"capitation.read", "capitation.write"}  # 门诊统筹人头定额: the townships' statements, the year-end score
    ),
    # follow-up of high-cost warnings: run monitoring, work the warning list, people and positions, not settling;
    # a warning ends in help: the candidates' 依申请救助 is decided (and reversed) from the warning
    "monitoring": frozenset(
        {"person.read", "position.read", "settle.read", "warnings.read", "warnings.work", "reports", "enrolment.read"}
        | {"assistance"}
    ),
    # statistics only: no single person's details (coverage by place, not the gap list's names); policy what-if;
    # budget.write: enter, import, derive the fund budget
    # capitation.read: the townships' capitation statements (per institution, no single person)
    "analyst": frozenset({"reports", "policy.whatif", "enrolment.read", "budget.write", "capitation.read"}),
    "admin": frozenset(
        {
            "person.read",
            "person.certno",
            "settle.read",
            "position.read",
            "ledger.verify",
            "reconcile",
            "audit.rules",
            "accounts",
            "imports",
            "warnings.read",
            "reports",
            "policy.whatif",
            "suspects.read",
            "enrolment.read",
            "budget.write",
            "capitation.read",
            "capitation.write",
        }
    ),
    # a hospital system: the national interface for its own visits and settlements; it sees a person only
    # through 1101 (with the person's ID number), never the registry's search, history, household or filings
    # and its own 疑点 (list, detail, appeal: ``suspects.own``)
    # and files 门诊慢特病 as the diagnosing institution (``filing.diagnose``, seed 000: 医院诊断确认后即时办理);
    # its own township's capitation statement (``capitation.own``) when its institution belongs to one
    "institution": frozenset(
        {"national", "settle", "settle.read", "reverse", "suspects.own", "filing.diagnose", "capitation.own"}
    ),
}

TOKEN_HOURS = 8


class NotPermitted(Exception):
    """The caller's role may not do what it asked, found once the use case knows what it is (an application for
    assistance reversed through the settlements' route needs ``assistance``): a 403 naming the permission."""

    def __init__(self, permission: str, role: str) -> None:
        super().__init__(f"role {role} may not do {permission}")
        self.permission = permission
        self.role = role


def check_permitted(who: Principal, permission: str) -> None:
    """Refuse (:class:`NotPermitted`) unless ``who`` may use ``permission``."""
    if not who.can(permission):
        raise NotPermitted(permission, who.role)


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


ACTIONS: dict[str, tuple[str, str]] = {
    "create": ("新建", "created"),
    "disable": ("停用", "disabled"),
    "enable": ("启用", "enabled"),
    "role": ("变更角色", "role changed"),
    "reset": ("重设密码", "password reset"),
    "password": ("本人修改密码", "own password changed"),
}
"""What can be done to an account (:class:`~yibao.store.service_tables.AccountEvent`), as the audit trail names it."""


def detail_text(detail: str, lang: str) -> str:
    """An event's detail (codes: ``clerk -> institution H53…``, ``temporary``) as people read it, in ``lang``."""
    words = {"->": ("→", "→"), "temporary": ("临时密码", "temporary password")} | ROLES
    return " ".join(t(lang, *words[w]) if w in words else w for w in detail.split())


def _record(s: Session, username: str, action: str, by: str, detail: str = "") -> None:
    s.add(AccountEvent(username=username, action=action, detail=detail[:255], recorded_at=datetime.now(UTC), recorded_by=by))


def _bound_institution(s: Session, role: str, fixmedins_code: str | None) -> str | None:
    """The institution an account of ``role`` is bound to: an existing one for an institution account, none otherwise."""
    if role not in ROLES:
        raise InputError("account", "role", role, " / ".join(ROLES))
    if role != "institution":
        if fixmedins_code:
            raise InputError(
                "account", "fixmedins_code", fixmedins_code, "no institution: only an institution account has one",
                expected_zh="空：只有定点机构账号绑定机构",
            )  # fmt: skip
        return None
    if not fixmedins_code:
        raise InputError("account", "fixmedins_code", fixmedins_code, "the institution code of an institution account")
    if "\x00" in fixmedins_code or s.get(Institution, fixmedins_code) is None:
        raise InputError(
            "account",
            "fixmedins_code",
            fixmedins_code,
            "the code of an existing institution",
            expected_zh="已登记的定点医药机构编码",
        )
    return fixmedins_code


def create_account(
    session: Session,
    username: str,
    password: str,
    role: str,
    by: str,
    *,
    display_name: str = "",
    fixmedins_code: str | None = None,
    temporary: bool = False,
) -> Account:
    """A new account; an institution account bound to an existing institution. ``temporary``: the holder must change
    the password at first sign-in."""
    code = _bound_institution(session, role, fixmedins_code)
    if not username or "\x00" in username or len(username) > 64 or username != username.strip():
        raise InputError(
            "account", "username", username, "a user name of 1 to 64 characters without spaces around it",
            expected_zh="1 至 64 个字符的用户名，首尾无空格",
        )  # fmt: skip
    if session.get(Account, username) is not None:
        raise InputError("account", "username", username, "a user name not yet taken")
    account = Account(
        username=username, display_name=display_name or username, role=role, password_hash=hash_password(password),
        fixmedins_code=code, active=True, recorded_at=datetime.now(UTC), recorded_by=by, must_change_password=temporary,
    )  # fmt: skip
    session.add(account)
    session.flush()
    _record(session, username, "create", by, role + (f" {code}" if code else "") + (" temporary" if temporary else ""))
    session.flush()
    return account


@dataclass(frozen=True)
class Principal:
    """Who is calling."""

    username: str
    role: str
    fixmedins_code: str | None
    display_name: str
    must_change_password: bool = False
    """Signed in with a temporary password: only changing it is allowed."""

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


# ------------------------------------------------------------------ sign-in, throttled


@dataclass(frozen=True)
class Throttle:
    """So many failed sign-ins in a row for one user name (``account``), or from one client address
    (``address``), lock it for ``minutes`` (:class:`yibao.core.settings.Settings`)."""

    account: int = 5
    address: int = 30
    minutes: int = 15

    @classmethod
    def of(cls, settings: Settings) -> Throttle:
        return cls(settings.sign_in_failures, settings.sign_in_address_failures, settings.sign_in_lock_minutes)


class SignInLocked(Exception):
    """Too many failed sign-ins for this user name (``scope`` account) or from this address: wait until ``until``."""

    def __init__(self, scope: str, until: datetime, failures: int) -> None:
        super().__init__(f"{scope} locked until {until.isoformat()}")
        self.scope, self.until, self.failures = scope, until, failures

    @property
    def seconds(self) -> int:
        """Seconds left (at least 1): the ``Retry-After`` of an answer."""
        return max(1, math.ceil((self.until - datetime.now(UTC)).total_seconds()))

    def message(self, lang: str) -> str:
        """What the clerk reads: why, and how long to wait."""
        minutes = math.ceil(self.seconds / 60)
        if self.scope == "account":
            return t(
                lang,
                f"密码连续输错 {self.failures} 次，该账号已暂时锁定。请 {minutes} 分钟后再试；忘记密码请联系管理员重设。",
                f"The password was wrong {self.failures} times in a row, so this account is locked for now. "
                f"Try again in {minutes} minutes; if you forgot the password, ask an administrator to reset it.",
            )
        return t(
            lang,
            f"本机登录失败次数过多，已暂时不能登录。请 {minutes} 分钟后再试。",
            f"Too many failed sign-ins from this computer; signing in is paused. Try again in {minutes} minutes.",
        )


def _aware(moment: datetime) -> datetime:
    """SQLite gives back times without their zone: they were stored in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _count_row(s: Session, scope: str, key: str, now: datetime) -> SignInFailures:
    """The count of ``scope``/``key``, created at zero if new, locked for the rest of the transaction."""
    insert = pg_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert
    s.execute(insert(SignInFailures).values(scope=scope, key=key, failures=0, last_at=now).on_conflict_do_nothing())
    query = sa.select(SignInFailures).where(SignInFailures.scope == scope, SignInFailures.key == key)
    row = s.scalar(query.with_for_update().execution_options(populate_existing=True))
    assert row is not None
    return row


def _scopes(username: str, address: str, throttle: Throttle) -> list[tuple[str, str, int]]:
    return [("account", username[:128], throttle.account), ("address", address[:128], throttle.address)]


def _lock_on(s: Session, username: str, address: str, throttle: Throttle, now: datetime) -> SignInLocked | None:
    """The lock in force on the user name or the address, if any."""
    for scope, key, limit in _scopes(username, address, throttle):
        row = s.get(SignInFailures, (scope, key), populate_existing=True)
        if row is not None and row.locked_until is not None and _aware(row.locked_until) > now:
            return SignInLocked(scope, _aware(row.locked_until), limit)
    return None


def _count_failure(s: Session, username: str, address: str, throttle: Throttle, now: datetime) -> SignInLocked | None:
    """One more failed sign-in for the user name and the address (a count starts again after a lock was served
    or a quiet spell as long as a lock); a count that reaches its limit is locked. The lock set, if any."""
    lock, locked = timedelta(minutes=throttle.minutes), None
    for scope, key, limit in _scopes(username, address, throttle):
        row = _count_row(s, scope, key, now)
        if row.locked_until is not None and _aware(row.locked_until) > now:
            continue  # locked meanwhile by a parallel attempt
        if row.locked_until is not None or _aware(row.last_at) + lock <= now:
            row.failures, row.locked_until = 0, None
        row.failures += 1
        row.last_at = now
        if row.failures >= limit:
            row.locked_until = now + lock
            locked = locked or SignInLocked(scope, now + lock, limit)
    return locked


T = TypeVar("T")


def checked(
    db: Database, username: str, password: str, address: str, throttle: Throttle, then: Callable[[Session, Account], T]
) -> T:
    """``then(session, account)`` in a write transaction once ``password`` is the active account's; failures
    are counted against ``throttle`` (``SignInLocked`` while the user name or the address is locked; the same
    ``InputError`` for every other failure).

    The Argon2 check runs outside any transaction: on SQLite every transaction holds the write lock, and
    a check takes tens of milliseconds, so concurrent sign-ins (and settlements) never wait for another's.
    """
    refused = InputError("sign-in", "password", "********", "the right user name and password of an active account")
    # a user name with NUL cannot exist (and PostgreSQL cannot even compare it): refused like any wrong name
    if "\x00" in username or not username:
        raise refused
    with db.unit_of_work() as s:  # read: the locks, the account's hash
        locked = _lock_on(s, username, address, throttle, datetime.now(UTC))
        account = s.get(Account, username) if locked is None else None
        known = account.password_hash if account is not None and account.active else None
    if locked is not None:
        raise locked
    if known is None:
        _hasher.hash(password)  # same work whether or not the account exists
        ok = False
    else:
        try:
            ok = _hasher.verify(known, password)
        except (VerifyMismatchError, InvalidHashError):
            ok = False
    with db.unit_of_work() as s:  # write: a failure counted, or what the caller does
        now = datetime.now(UTC)
        account = s.get(Account, username, populate_existing=True) if ok else None
        # the password checked is still the account's own, the account still active, and not locked meanwhile
        if account is None or not account.active or account.password_hash != known:
            locked = _count_failure(s, username, address, throttle, now)
            s.commit()
            raise locked or refused
        locked = _lock_on(s, username, address, throttle, now)
        if locked is not None:
            raise locked
        s.execute(sa.delete(SignInFailures).where(SignInFailures.scope == "account", SignInFailures.key == username))
        result = then(s, account)
        s.commit()
    return result


@dataclass(frozen=True)
class SignedIn:
    token: str
    expires: datetime
    who: Principal


def _new_token(s: Session, account: Account, hours: int) -> SignedIn:
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    expires = now + timedelta(hours=hours)
    s.add(Token(token_sha256=_digest(token), username=account.username, expires_at=expires, created_at=now))
    s.flush()
    return SignedIn(token, expires, _principal(account))


def sign_in(db: Database, username: str, password: str, address: str, throttle: Throttle, hours: int = TOKEN_HOURS) -> SignedIn:
    """A new token for a correct user name and password, counted against ``throttle`` (:func:`checked`)."""
    return checked(db, username, password, address, throttle, lambda s, account: _new_token(s, account, hours))


def _revoke(s: Session, account: Account, by: str) -> None:
    """Every token of the account stops working, in every server process (:attr:`Account.token_generation`)."""
    account.token_generation = (account.token_generation or 0) + 1
    account.changed_at, account.changed_by = datetime.now(UTC), by
    s.execute(sa.delete(Token).where(Token.username == account.username))
    s.execute(sa.delete(SignInFailures).where(SignInFailures.scope == "account", SignInFailures.key == account.username))


def change_password(
    db: Database, username: str, old: str, new: str, address: str, throttle: Throttle, hours: int = TOKEN_HOURS
) -> SignedIn:
    """One's own password: the old one checked as a sign-in is; every token of the account revoked; a new token."""
    new_hash = hash_password(new)  # before anything is counted: a too short password is only bad input

    def change(s: Session, account: Account) -> SignedIn:
        _revoke(s, account, username)
        account.password_hash = new_hash
        account.must_change_password = False
        _record(s, username, "password", username)
        return _new_token(s, account, hours)

    return checked(db, username, old, address, throttle, change)


def _account(s: Session, username: str) -> Account:
    account = s.get(Account, username) if "\x00" not in username else None
    if account is None:
        raise NotFound("account", "username", username, "an existing account")
    return account


def set_password(s: Session, username: str, password: str, by: str, *, temporary: bool = False) -> Account:
    """An administrator sets an account's password: its sessions and tokens end, its sign-in lock lifted;
    ``temporary``: the holder must change it at next sign-in."""
    account = _account(s, username)
    account.password_hash = hash_password(password)
    account.must_change_password = temporary
    _revoke(s, account, by)
    _record(s, username, "reset", by, "temporary" if temporary else "")
    s.flush()
    return account


TEMPORARY_ALPHABET = "abcdefghjkmnpqrstuvwxyzACDEFGHJKLMNPQRSTUVWXYZ23456789"
"""Letters and digits that cannot be mistaken for one another when read out or copied by hand (no 0/O, 1/l/I)."""


def temporary_password(length: int = 12) -> str:
    """A random password to hand over once; its holder must change it at next sign-in."""
    return "".join(secrets.choice(TEMPORARY_ALPHABET) for _ in range(length))


def reset_password(s: Session, username: str, by: str, password: str | None = None) -> tuple[Account, str]:
    """An administrator resets a password: to ``password`` if given, else to a new random one (answered once,
    never stored in clear); either way temporary, to be changed at next sign-in."""
    if username == by:
        raise InputError(
            "account", "username", username, "an account other than your own (change your own password with the old one)",
            expected_zh="本人以外的账号（本人请用当前密码修改密码）",
        )  # fmt: skip
    chosen = password or temporary_password()
    return set_password(s, username, chosen, by, temporary=True), chosen


def set_role(s: Session, username: str, role: str, by: str, fixmedins_code: str | None = None) -> Account:
    """Change an account's role (an institution account bound to an existing institution): its sessions and tokens
    end at once, so nothing it signed in with keeps the old role's rights."""
    account = _account(s, username)
    code = _bound_institution(s, role, fixmedins_code)
    if username == by:
        raise InputError(
            "account", "username", username, "an account other than your own", expected_zh="本人以外的账号（不能变更自己的角色）"
        )
    if (account.role, account.fixmedins_code) == (role, code):
        raise InputError(
            "account", "role", role, "a role other than the account's present one", expected_zh="与现有角色不同的角色"
        )
    before = account.role + (f" {account.fixmedins_code}" if account.fixmedins_code else "")
    account.role, account.fixmedins_code = role, code
    _revoke(s, account, by)
    _record(s, username, "role", by, f"{before} -> {role}" + (f" {code}" if code else ""))
    s.flush()
    return account


def set_active(s: Session, username: str, active: bool, by: str) -> Account:
    """Disable an account (its tokens revoked at once, everywhere) or enable it again (its sign-in lock lifted)."""
    account = _account(s, username)
    if not active and username == by:
        raise InputError("account", "username", username, "an account other than your own")
    account.active = active
    _revoke(s, account, by)
    _record(s, username, "enable" if active else "disable", by)
    s.flush()
    return account


def account_events(s: Session, username: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """The latest changes to the accounts (or to one), newest first: who did what to which account, and when."""
    q = sa.select(AccountEvent).order_by(AccountEvent.id.desc()).limit(limit)
    if username is not None:
        q = q.where(AccountEvent.username == username)
    return [
        {
            "username": e.username,
            "action": e.action,
            "detail": e.detail,
            "recorded_at": _aware(e.recorded_at),
            "recorded_by": e.recorded_by,
        }
        for e in s.scalars(q)
    ]


def accounts(s: Session) -> list[dict[str, Any]]:
    """Every account, for the administrator: who, role, institution, active, and any sign-in lock now."""
    now = datetime.now(UTC)
    locks = {
        key: _aware(until)
        for key, until in s.execute(
            sa.select(SignInFailures.key, SignInFailures.locked_until).where(
                SignInFailures.scope == "account", SignInFailures.locked_until.is_not(None)
            )
        )
        if until is not None and _aware(until) > now
    }
    return [
        {
            "username": a.username,
            "display_name": a.display_name,
            "role": a.role,
            "fixmedins_code": a.fixmedins_code,
            "active": a.active,
            "must_change_password": bool(a.must_change_password),
            "locked_until": locks.get(a.username),
        }
        for a in s.scalars(sa.select(Account).order_by(Account.username))
    ]


# ------------------------------------------------------------------ tokens


def _principal(account: Account) -> Principal:
    return Principal(
        account.username, account.role, account.fixmedins_code, account.display_name, bool(account.must_change_password)
    )


@dataclass(frozen=True)
class TokenCheck:
    """A token found good: who holds it, when it expires, and the account's token generation then."""

    who: Principal
    expires: datetime
    generation: int


def principal_for(session: Session, token: str) -> Principal | None:
    """The account behind a token that has not expired."""
    found = principal_until(session, token)
    return found.who if found else None


def principal_until(session: Session, token: str) -> TokenCheck | None:
    """The account behind a token that has not expired, when the token expires, and the account's generation."""
    row = session.get(Token, _digest(token))
    if row is None:
        return None
    expires = _aware(row.expires_at)
    if expires <= datetime.now(UTC):
        return None
    account = session.get(Account, row.username)
    if account is None or not account.active:
        return None
    return TokenCheck(_principal(account), expires, account.token_generation or 0)


_GENERATION = (
    sa.select(Account.active, Account.token_generation)
    .join(Token, Token.username == Account.username)
    .where(Account.username == sa.bindparam("username"), Token.token_sha256 == sa.bindparam("sha256"))
)
"""Built once: it is read on every request, and building a statement costs more than running it."""


def generation_of(session: Session | sa.Connection, username: str, token_sha256: str) -> int | None:
    """The account's token generation while it is active and the token (by its SHA-256) is still its own
    (``None`` once the account is disabled or gone, or the token signed out)."""
    row = session.execute(_GENERATION, {"username": username, "sha256": token_sha256}).first()
    return (row.token_generation or 0) if row is not None and row.active else None


def sign_out(session: Session, token: str) -> None:
    session.execute(sa.delete(Token).where(Token.token_sha256 == _digest(token)))
