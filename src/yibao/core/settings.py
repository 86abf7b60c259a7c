"""Configuration: the environment variables yibao reads, each with its one default.

``YIBAO_DATABASE_URL`` the database (an SQLite file ``yibao.db`` in the working folder by default);
``YIBAO_POLICY`` the policy pack in force (a shipped pack's name or a pack file);
``YIBAO_SCHEDULE`` ``1`` to run the monthly monitoring while the service serves.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_DATABASE_URL = "sqlite:///yibao.db"
DEFAULT_POLICY = "anhui-huaibei-2022"
"""The shipped pack yibao settles with unless ``YIBAO_POLICY`` (or a ``--policy`` option) names another."""

DATABASE_ENV = "YIBAO_DATABASE_URL"
POLICY_ENV = "YIBAO_POLICY"
SCHEDULE_ENV = "YIBAO_SCHEDULE"
TRUE = ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    policy: str = DEFAULT_POLICY
    schedule: bool = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return cls(
            database_url=env.get(DATABASE_ENV) or DEFAULT_DATABASE_URL,
            policy=env.get(POLICY_ENV) or DEFAULT_POLICY,
            schedule=env.get(SCHEDULE_ENV, "").strip().lower() in TRUE,
        )

    def environ(self) -> dict[str, str]:
        """The variables that make :meth:`from_env` answer these settings (for a server started by the CLI)."""
        return {DATABASE_ENV: self.database_url, POLICY_ENV: self.policy, SCHEDULE_ENV: "1" if self.schedule else "0"}


def policy_name() -> str:
    """The configured pack: ``YIBAO_POLICY``, else :data:`DEFAULT_POLICY`."""
    return Settings.from_env().policy


def database_url() -> str:
    """The configured database: ``YIBAO_DATABASE_URL``, else :data:`DEFAULT_DATABASE_URL`."""
    return Settings.from_env().database_url
