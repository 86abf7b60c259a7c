"""Configuration: the environment variables yibao reads, each with its one default.

``YIBAO_DATABASE_URL`` the database (an SQLite file ``yibao.db`` in the working folder by default);
``YIBAO_POLICY`` the policy pack in force (a shipped pack's name or a pack file);
``YIBAO_SCHEDULE`` ``1`` to run the monthly monitoring while the service serves;
``YIBAO_SECURE_COOKIES`` ``1`` to mark the session cookie ``Secure`` on every answer (it is whenever the
request came over HTTPS); ``YIBAO_TRUST_PROXY`` ``1`` when a reverse proxy in front of yibao sets
``X-Forwarded-Proto`` and ``X-Forwarded-For`` (only then are they believed);
``YIBAO_SIGN_IN_FAILURES`` (5), ``YIBAO_SIGN_IN_ADDRESS_FAILURES`` (30) and ``YIBAO_SIGN_IN_LOCK_MINUTES`` (15):
so many failed sign-ins in a row for one user name, or from one address, lock it for so many minutes.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_DATABASE_URL = "sqlite:///yibao.db"
DEFAULT_POLICY = "anhui-huaibei-2022"
"""The shipped pack yibao settles with unless ``YIBAO_POLICY`` (or a ``--policy`` option) names another."""
DEFAULT_AUDIT_PACK = "yibao-audit-2023"
"""The shipped audit rule pack unless ``YIBAO_AUDIT_PACK`` (or an ``--audit-pack`` option) names another."""

DATABASE_ENV = "YIBAO_DATABASE_URL"
POLICY_ENV = "YIBAO_POLICY"
SCHEDULE_ENV = "YIBAO_SCHEDULE"
SECURE_COOKIES_ENV = "YIBAO_SECURE_COOKIES"
TRUST_PROXY_ENV = "YIBAO_TRUST_PROXY"
SIGN_IN_FAILURES_ENV = "YIBAO_SIGN_IN_FAILURES"
SIGN_IN_ADDRESS_FAILURES_ENV = "YIBAO_SIGN_IN_ADDRESS_FAILURES"
SIGN_IN_LOCK_MINUTES_ENV = "YIBAO_SIGN_IN_LOCK_MINUTES"
TRUE = ("1", "true", "yes", "on")


def _flag(env: Mapping[str, str], name: str) -> bool:
    return env.get(name, "").strip().lower() in TRUE


def _count(env: Mapping[str, str], name: str, default: int) -> int:
    """A whole number of at least 1 from ``name``, else ``default`` when unset; anything else is refused."""
    text = env.get(name, "").strip()
    if not text:
        return default
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"{name} must be a whole number of at least 1, not {text!r}")
    return int(text)


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    policy: str = DEFAULT_POLICY
    schedule: bool = False
    secure_cookies: bool = False
    trust_proxy: bool = False
    sign_in_failures: int = 5
    sign_in_address_failures: int = 30
    sign_in_lock_minutes: int = 15

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return cls(
            database_url=env.get(DATABASE_ENV) or DEFAULT_DATABASE_URL,
            policy=env.get(POLICY_ENV) or DEFAULT_POLICY,
            schedule=_flag(env, SCHEDULE_ENV),
            secure_cookies=_flag(env, SECURE_COOKIES_ENV),
            trust_proxy=_flag(env, TRUST_PROXY_ENV),
            sign_in_failures=_count(env, SIGN_IN_FAILURES_ENV, cls.sign_in_failures),
            sign_in_address_failures=_count(env, SIGN_IN_ADDRESS_FAILURES_ENV, cls.sign_in_address_failures),
            sign_in_lock_minutes=_count(env, SIGN_IN_LOCK_MINUTES_ENV, cls.sign_in_lock_minutes),
        )

    def environ(self) -> dict[str, str]:
        """The variables that make :meth:`from_env` answer these settings (for a server started by the CLI)."""
        return {
            DATABASE_ENV: self.database_url,
            POLICY_ENV: self.policy,
            SCHEDULE_ENV: "1" if self.schedule else "0",
            SECURE_COOKIES_ENV: "1" if self.secure_cookies else "0",
            TRUST_PROXY_ENV: "1" if self.trust_proxy else "0",
            SIGN_IN_FAILURES_ENV: str(self.sign_in_failures),
            SIGN_IN_ADDRESS_FAILURES_ENV: str(self.sign_in_address_failures),
            SIGN_IN_LOCK_MINUTES_ENV: str(self.sign_in_lock_minutes),
        }


def policy_name() -> str:
    """The configured pack: ``YIBAO_POLICY``, else :data:`DEFAULT_POLICY`."""
    return Settings.from_env().policy


def database_url() -> str:
    """The configured database: ``YIBAO_DATABASE_URL``, else :data:`DEFAULT_DATABASE_URL`."""
    return Settings.from_env().database_url


UPLOAD_BYTES_ENV = "YIBAO_UPLOAD_MAX_BYTES"
UPLOAD_ROWS_ENV = "YIBAO_UPLOAD_MAX_ROWS"
UPLOAD_CELLS_ENV = "YIBAO_UPLOAD_MAX_CELLS"
HSA_BYTES_ENV = "YIBAO_HSA_MAX_BYTES"
HSA_FEE_LINES_ENV = "YIBAO_HSA_MAX_FEE_LINES"


@dataclass(frozen=True)
class Limits:
    """How much one request may ask of the service (each has its variable; the defaults suit a county).

    ``YIBAO_UPLOAD_MAX_BYTES`` (50 MB) a file uploaded in the web window; ``YIBAO_UPLOAD_MAX_ROWS``
    (500,000) and ``YIBAO_UPLOAD_MAX_CELLS`` (10,000,000) one sheet of an uploaded bureau file, as its
    ``<dimension>`` declares it (checked before a row is read) or as read; ``YIBAO_HSA_MAX_BYTES``
    (8 MB) one national-interface message; ``YIBAO_HSA_MAX_FEE_LINES`` (2,000) the fee lines of one
    2301/2204 upload (a HIS uploads more in several messages).
    """

    upload_bytes: int = 50 * 1024 * 1024
    upload_rows: int = 500_000
    upload_cells: int = 10_000_000
    hsa_bytes: int = 8 * 1024 * 1024
    hsa_fee_lines: int = 2_000

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Limits:
        env = os.environ if environ is None else environ
        return cls(
            upload_bytes=_count(env, UPLOAD_BYTES_ENV, cls.upload_bytes),
            upload_rows=_count(env, UPLOAD_ROWS_ENV, cls.upload_rows),
            upload_cells=_count(env, UPLOAD_CELLS_ENV, cls.upload_cells),
            hsa_bytes=_count(env, HSA_BYTES_ENV, cls.hsa_bytes),
            hsa_fee_lines=_count(env, HSA_FEE_LINES_ENV, cls.hsa_fee_lines),
        )
