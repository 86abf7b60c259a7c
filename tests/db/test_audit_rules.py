"""The rule library: a change is in force at once, checked as the pack file is, recorded with who and why, and only
auditors and administrators may make it (app, REST and command line; SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
import typer
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from tests.accounts import seed_accounts
from tests.db.desk import bearer, desk_pack  # noqa: F401  (a fixture)
from yibao.app import audit_rules
from yibao.app.audit_pack import pack_in_force
from yibao.core.errors import InputError, NotFound
from yibao.entrypoints.cli import audit_rules as cli
from yibao.entrypoints.http import create_app
from yibao.store.audit_tables import AuditRuleChange
from yibao.store.db import Database

pytestmark = pytest.mark.usefixtures("desk_pack")


def changes(db: Database) -> list[AuditRuleChange]:
    with db.unit_of_work() as s:
        return list(s.scalars(sa.select(AuditRuleChange).order_by(AuditRuleChange.id)))


def test_a_change_is_in_force_at_once_and_recorded_with_who_and_why(db: Database) -> None:
    with db.unit_of_work() as s:
        assert pack_in_force(s).rule("ZY001").enabled
        audit_rules.change_rule(
            s, "ZY001", enabled=False, params={"days": "14"}, reason="本市口径为 14 天", by="wq", role="auditor"
        )
        s.commit()
    with db.unit_of_work() as s:
        rule = pack_in_force(s).rule("ZY001")
        assert (rule.enabled, rule.param("days"), rule.param("prefix")) == (False, 14, 3)
        assert rule.params["days"].provenance == "changed by wq"
    [c] = changes(db)
    assert (c.rule_code, c.enabled, json.loads(c.params), c.reason, c.recorded_by) == (
        "ZY001",
        False,
        {"days": 14},
        "本市口径为 14 天",
        "wq",
    )
    # a later change that only switches the rule back on keeps the earlier parameter
    with db.unit_of_work() as s:
        audit_rules.change_rule(s, "ZY001", enabled=True, reason="恢复", by="admin1", role="admin")
        s.commit()
    with db.unit_of_work() as s:
        rule = pack_in_force(s).rule("ZY001")
        assert (rule.enabled, rule.param("days")) == (True, 14)
        view = audit_rules.rule(s, "ZY001")
        assert [(p.name, p.value, p.pack_value, p.changed) for p in view.params] == [
            ("days", 14, 15, True),
            ("prefix", 3, 3, False),
        ]
        assert [c.reason for c in audit_rules.history(s, "ZY001")] == ["恢复", "本市口径为 14 天"]
    # the pack's own value again: nothing differs from the pack any more
    with db.unit_of_work() as s:
        audit_rules.change_rule(s, "ZY001", params={"days": 15}, reason="回到规则包", by="wq", role="auditor")
        s.commit()
    assert json.loads(changes(db)[-1].params) == {}
    with db.unit_of_work() as s:
        assert pack_in_force(s).rule("ZY001").params["days"].provenance.startswith("assumed: common definition")


@pytest.mark.parametrize(
    ("params", "field", "value"),
    [
        ({"days": "abc"}, "params.days", "abc"),
        ({"days": "-1"}, "params.days", -1),
        ({"days": "1.5"}, "params.days", "1.5"),
        ({"days": "1000000000000000"}, "params.days", 10**15),  # a typing error no rule could compute with
        ({"dayz": "3"}, "params.dayz", 3),
        ({"percentile": "90"}, "params.percentile", 90),  # a parameter of another rule type
    ],
)
def test_a_bad_parameter_is_refused_naming_field_and_value_and_nothing_is_written(
    db: Database, params: dict[str, str], field: str, value: object
) -> None:
    with db.unit_of_work() as s, pytest.raises(InputError) as e:
        audit_rules.change_rule(s, "ZY001", enabled=False, params=params, reason="试", by="wq", role="auditor")
    assert (e.value.field, e.value.value) == (field, value)
    assert "审核规则 ZY001" in e.value.render("zh") and repr(value) in e.value.render("zh")
    assert changes(db) == []


@pytest.mark.parametrize(
    ("code", "kwargs", "field"),
    [
        ("ZY001", {"enabled": False, "reason": "  "}, "reason"),
        ("ZY001", {"enabled": True, "reason": "无变化"}, "enabled"),  # on already, no parameter: nothing to record
        ("NOPE1", {"enabled": False, "reason": "试"}, "code"),
    ],
)
def test_a_change_without_reason_without_change_or_of_an_unknown_rule_is_refused(
    db: Database, code: str, kwargs: dict[str, object], field: str
) -> None:
    with db.unit_of_work() as s, pytest.raises(InputError) as e:
        audit_rules.change_rule(s, code, by="wq", role="auditor", **kwargs)  # type: ignore[arg-type]
    assert e.value.field == field
    assert isinstance(e.value, NotFound) == (code == "NOPE1")
    assert changes(db) == []


@pytest.mark.parametrize("role", ["clerk", "monitoring", "analyst", "institution", "nobody"])
def test_only_auditors_and_administrators_change_rules(db: Database, role: str) -> None:
    with db.unit_of_work() as s, pytest.raises(audit_rules.NotPermitted) as e:
        audit_rules.change_rule(s, "ZY001", enabled=False, reason="试", by="x", role=role)
    assert role in e.value.message("zh") and "审核或管理" in e.value.message("zh")
    assert changes(db) == []


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from([None, True, False]), st.none() | st.integers(0, 40)), min_size=1, max_size=6))
def test_any_sequence_of_changes_leaves_the_last_state_in_force(
    db: Database, steps: list[tuple[bool | None, int | None]]
) -> None:
    """The rule in force is the state the changes say, step by step; a step that changes nothing is refused."""
    enabled, days = True, 15  # the pack's
    with db.unit_of_work() as s:  # not committed: each example starts from the pack again
        for on, d in steps:
            want_on = enabled if on is None else on
            want_days = days if d is None else d
            params = {} if d is None else {"days": d}
            if (want_on, want_days) == (enabled, days):
                with pytest.raises(InputError):
                    audit_rules.change_rule(s, "ZY001", enabled=on, params=params, reason="r", by="u", role="auditor")
                continue
            audit_rules.change_rule(s, "ZY001", enabled=on, params=params, reason="r", by="u", role="auditor")
            enabled, days = want_on, want_days
            rule = pack_in_force(s).rule("ZY001")
            assert (rule.enabled, rule.param("days")) == (enabled, days)
            latest = s.scalars(sa.select(AuditRuleChange).order_by(AuditRuleChange.id.desc())).first()
            assert latest is not None and json.loads(latest.params) == ({} if days == 15 else {"days": days})


def test_the_rest_api_lists_changes_and_refuses_other_roles(db: Database) -> None:
    seed_accounts(db)
    app = create_app(db)
    client = TestClient(app)
    auditor, clerk = bearer(app, "auditor"), bearer(app, "clerk")
    rules = client.get("/api/audit/rules", headers=auditor)
    assert rules.status_code == 200
    assert [r["code"] for r in rules.json()] == ["XB001", "ZY001", "ZH001", "GP001"]
    zy = next(r for r in rules.json() if r["code"] == "ZY001")
    assert zy["params"][0] == {
        "name": "days", "value": 15, "pack_value": 15, "changed": False,
        "pack_provenance": "assumed: common definition; some cities use 14",
    }  # fmt: skip
    assert client.get("/api/audit/rules", headers=clerk).status_code == 403
    body = {"enabled": False, "params": {"days": 14}, "reason": "本市口径"}
    assert client.put("/api/audit/rules/ZY001", json=body, headers=clerk).status_code == 403
    assert changes(db) == []
    bad = client.put("/api/audit/rules/ZY001", json=body | {"params": {"days": -3}}, headers=auditor)
    assert bad.status_code == 422 and (bad.json()["field"], bad.json()["value"]) == ("params.days", "-3"), bad.text
    assert changes(db) == []
    assert client.put("/api/audit/rules/NOPE1", json=body, headers=auditor).status_code == 404
    done = client.put("/api/audit/rules/ZY001", json=body, headers=auditor)
    assert done.status_code == 200 and done.json()["enabled"] is False
    one = client.get("/api/audit/rules/ZY001", headers=auditor).json()
    assert [(h["enabled"], h["params"], h["reason"], h["recorded_by"]) for h in one["history"]] == [
        (False, {"days": 14}, "本市口径", "auditor")
    ]


def test_the_command_line_switches_a_rule_and_lists_the_library(tmp_path: Path) -> None:
    app = typer.Typer()
    cli.register(app)
    env = {"YIBAO_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "COLUMNS": "200"}
    run = CliRunner().invoke(app, ["rule", "ZY001", "--off", "--set", "days=14", "--reason", "本市口径", "--user", "wq"], env=env)
    assert run.exit_code == 0, run.output
    assert "ZY001" in run.output and "停用" in run.output and "days=14" in run.output
    bad = CliRunner().invoke(app, ["rule", "ZY001", "--set", "days=abc", "--reason", "试"], env=env)
    assert bad.exit_code == 2 and "params.days" in bad.output and "'abc'" in bad.output, bad.output
    listed = CliRunner().invoke(app, ["rules"], env=env)
    assert listed.exit_code == 0 and "ZY001" in listed.output and "days=14 *" in listed.output and "wq" in listed.output, (
        listed.output
    )
    db = Database.open(env["YIBAO_DATABASE_URL"])
    try:
        [c] = changes(db)
        assert (c.enabled, json.loads(c.params), c.recorded_by) == (False, {"days": 14}, "wq")
    finally:
        db.engine.dispose()


def test_a_change_based_on_an_older_state_of_the_rule_is_refused(db: Database) -> None:
    """Two auditors on one rule: the second, who saw the rule before the first's change, is told and undoes nothing."""
    with db.unit_of_work() as s:
        audit_rules.change_rule(s, "ZY001", params={"days": 14}, reason="甲", by="a", role="auditor", based_on=0)
        s.commit()
    [first] = changes(db)
    with db.unit_of_work() as s, pytest.raises(InputError) as e:
        audit_rules.change_rule(s, "ZY001", params={"prefix": 4}, reason="乙", by="b", role="auditor", based_on=0)
    assert (e.value.field, e.value.value) == ("based_on", 0)
    assert f"第 {first.id} 号变更，修改人 a" in e.value.render("zh")
    assert len(changes(db)) == 1
    with db.unit_of_work() as s:
        audit_rules.change_rule(s, "ZY001", params={"prefix": 4}, reason="乙", by="b", role="auditor", based_on=first.id)
        s.commit()
    assert json.loads(changes(db)[-1].params) == {"days": 14, "prefix": 4}
