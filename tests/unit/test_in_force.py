"""Which pack is in force (policy/in_force.py) and the configuration it reads (core/settings.py)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from yibao.core.errors import InputErrors
from yibao.core.settings import DEFAULT_POLICY, Settings
from yibao.policy.in_force import configured_pack, covered_day, pack_in_force, policy_or_first
from yibao.policy.pack import load_pack

HUAIBEI = load_pack("anhui-huaibei-2022")
HAINAN = load_pack("hainan-2023")


def test_settings_read_the_environment_with_one_default_each() -> None:
    assert Settings.from_env({}) == Settings("sqlite:///yibao.db", "anhui-huaibei-2022", False)
    env = {"YIBAO_DATABASE_URL": "sqlite:///x.db", "YIBAO_POLICY": "hainan-2023", "YIBAO_SCHEDULE": "1"}
    assert Settings.from_env(env) == Settings("sqlite:///x.db", "hainan-2023", True)
    assert Settings.from_env({"YIBAO_SCHEDULE": "no", "YIBAO_POLICY": ""}).policy == DEFAULT_POLICY
    assert Settings.from_env({"YIBAO_SCHEDULE": "no"}).schedule is False


@given(
    st.sampled_from(["sqlite:///a.db", "postgresql+psycopg://u@h/db"]),
    st.sampled_from(["hainan-2023", DEFAULT_POLICY]),
    st.booleans(),
)
def test_settings_round_trip_through_the_environment(url: str, policy: str, schedule: bool) -> None:
    s = Settings(url, policy, schedule)
    assert Settings.from_env(s.environ()) == s


def test_configured_pack_is_the_named_one_else_the_environment_s(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("YIBAO_POLICY", raising=False)
    assert configured_pack().pack_id == "anhui-huaibei-2022"
    monkeypatch.setenv("YIBAO_POLICY", "hainan-2023")
    assert configured_pack().pack_id == "hainan-2023"
    assert configured_pack("shandong-zibo-2020").pack_id == "shandong-zibo-2020"
    monkeypatch.setenv("YIBAO_POLICY", "no-such-pack")
    with pytest.raises(InputErrors, match="no-such-pack"):
        configured_pack()


def test_the_recorded_pack_wins_then_the_configured_one() -> None:
    assert pack_in_force(["hainan-2023"], HUAIBEI) is not None
    assert pack_in_force(["hainan-2023"], HUAIBEI).pack_id == "hainan-2023"  # type: ignore[union-attr]
    assert pack_in_force(["anhui-huaibei-2022"], HUAIBEI) is HUAIBEI  # the configured pack itself, not a copy
    assert pack_in_force([None, "no-such-pack", "hainan-2023"]).pack_id == "hainan-2023"  # type: ignore[union-attr]
    assert pack_in_force(["no-such-pack"], HUAIBEI) is HUAIBEI
    assert pack_in_force([None]) is None
    assert pack_in_force([]) is None


@given(st.dates(date(2000, 1, 1), date(2040, 12, 31)))
def test_covered_day_is_the_day_or_the_nearest_the_pack_covers(day: date) -> None:
    for pack in (HUAIBEI, HAINAN):
        got = covered_day(pack, day)
        assert pack.covers(got)
        assert got == day if pack.covers(day) else got in (pack.valid_from, pack.valid_to)
        if not pack.covers(day):
            inside = got + timedelta(days=1 if day < pack.valid_from else -1)
            assert abs((got - day).days) < abs((inside - day).days)


@given(st.dates(date(2000, 1, 1), date(2040, 12, 31)))
def test_policy_or_first_is_the_policy_on_the_day_else_on_the_first_day(day: date) -> None:
    for pack in (HUAIBEI, HAINAN):
        expected = pack.at(day) if pack.covers(day) else pack.at(pack.valid_from)
        assert policy_or_first(pack, day) is expected


def test_the_service_builds_itself_from_the_configuration(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What ``yibao serve`` runs: database and pack from the environment the command sets."""
    from yibao.entrypoints.http import app_from_settings

    monkeypatch.setenv("YIBAO_DATABASE_URL", f"sqlite:///{tmp_path / 'yibao.db'}")
    monkeypatch.setenv("YIBAO_POLICY", "hainan-2023")
    monkeypatch.setenv("YIBAO_SCHEDULE", "0")
    app = app_from_settings()
    assert app.state.pack.pack_id == "hainan-2023"
    assert app.state.db.engine.url.database == str(tmp_path / "yibao.db")
    assert "ledger" in sa.inspect(app.state.db.engine).get_table_names()  # migrated
    app.state.db.engine.dispose()
