"""Every pack parameter has a name in Chinese and English (:mod:`yibao.policy.labels`), and ``yibao policy
show`` prints it beside the key path with the value's source; the window's policy page takes the same words."""

from __future__ import annotations

import typing
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from pydantic import BaseModel
from typer.testing import CliRunner

from yibao.core.vocab import IDENTITIES
from yibao.entrypoints.cli import output
from yibao.entrypoints.cli.main import app as cli_app
from yibao.entrypoints.web import policy_view
from yibao.policy import labels, load_pack, shipped_packs
from yibao.policy.schema import Policy


@pytest.fixture
def wide(monkeypatch: pytest.MonkeyPatch) -> None:
    """A console wide enough that no table cell of ``policy show`` is wrapped (whatever the terminal)."""
    monkeypatch.setattr(output.console, "_width", 2000)


def _models_in(annotation: Any) -> Iterator[type[BaseModel]]:
    """The pydantic models an annotation holds (``X``, ``X | None``, ``dict[str, X]``, ``tuple[X, ...]``, ``Annotated``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
        return
    for arg in typing.get_args(annotation):
        yield from _models_in(arg)


def schema_fields() -> dict[str, set[str]]:
    """Every field of the pack schema below the sections, with the models that have it (walked from Policy)."""
    fields: dict[str, set[str]] = {}
    seen: set[type[BaseModel]] = set()

    def walk(model: type[BaseModel]) -> None:
        if model in seen:
            return
        seen.add(model)
        for name, info in model.model_fields.items():
            if model is not Policy:
                fields.setdefault(name, set()).add(model.__name__)
            for sub in _models_in(info.annotation):
                walk(sub)

    walk(Policy)
    return fields


def test_the_walk_reaches_the_nested_models() -> None:
    fields = schema_fields()
    # BenefitLine (dict values), IdentityOverride (dict values inside a line), RatioBand (tuple items),
    # Tilt (optional), Subsidy (dict values inside Premium), WarningRule (dict values inside Monitoring)
    assert {"BenefitLine"} <= fields["cap_group"]
    assert fields["no_cap"] == {"IdentityOverride", "Tilt"}
    assert fields["add"] == {"RatioBand"}
    assert fields["share"] == {"Subsidy"}
    assert fields["push_to"] == {"WarningRule"}


def test_every_schema_field_has_a_label() -> None:
    missing = sorted(
        f"{name} ({', '.join(sorted(models))})" for name, models in schema_fields().items() if name not in labels.KEYS
    )
    assert not missing, "pack parameters without a label in yibao/policy/labels.py KEYS: " + "; ".join(missing)
    sections = [name for name in Policy.model_fields if name not in labels.SECTIONS]
    assert not sections, f"policy sections without a label in yibao/policy/labels.py SECTIONS: {sections}"


def test_labels_are_said_in_both_languages_and_distinct() -> None:
    for table in (labels.KEYS, labels.SECTIONS):
        for key, (zh, en) in table.items():
            assert zh.strip() and en.strip(), key
    chinese = [zh for zh, _ in labels.KEYS.values()]
    assert len(chinese) == len(set(chinese)), "two keys share a Chinese name"


def test_every_leaf_of_every_shipped_pack_is_named_in_words() -> None:
    for name in shipped_packs():
        pack = load_pack(name)
        for path in pack.leaves:
            words = labels.path_label(pack, path, "zh").split(" · ")
            # every part of the path is said in Chinese words: no schema field is shown as its key
            assert len(words) == len(path) and not set(words) & set(schema_fields()), (name, path, words)


def test_the_window_and_the_command_share_the_labels() -> None:
    pack = load_pack("yunnan-lincang-2023")
    rows = {r.path: r for r in policy_view.parameters(pack, date(2023, 6, 1), "zh")}
    row = rows["monitoring.rules.lincang_7000.confirmed_identity"]
    assert row.label == labels.path_label(pack, ("monitoring", "rules", "lincang_7000", "confirmed_identity"), "zh")
    assert row.label.endswith(" · 认定存在风险后登记的身份")
    assert row.value == IDENTITIES["jiance"][0]  # the category by its name, not its code
    assert row.assumed is not None and "认定存在返贫致贫风险" in row.assumed


@pytest.mark.usefixtures("wide")
def test_policy_show_prints_the_chinese_name_beside_the_path_with_its_source() -> None:
    run = CliRunner().invoke(cli_app, ["policy", "show", "chongqing-jiangjin-2023"])
    assert run.exit_code == 0, run.output
    line = next(s for s in run.output.splitlines() if "lines.two_diseases.full_pay_in_cap" in s)
    assert "基本医保待遇 · 门诊“两病”用药（集采药品推荐目录） · 全额支付计入封顶线" in line
    assert "002_3ab2c641ca26771d.txt" in line and "否" in line
    assumed = next(s for s in run.output.splitlines() if "monitoring.rules.jiangjin_return_risk.threshold " in s + " ")
    assert "监测预警 · 预警规则 · " in assumed and "起付标准" in assumed and "假设：" in assumed


@pytest.mark.usefixtures("wide")
def test_policy_show_in_english() -> None:
    run = CliRunner().invoke(cli_app, ["policy", "show", "chongqing-jiangjin-2023", "--lang", "en"])
    assert run.exit_code == 0, run.output
    line = next(s for s in run.output.splitlines() if "lines.two_diseases.full_pay_in_cap" in s)
    assert "basic insurance lines · hypertension and diabetes outpatient drugs (centrally-procured list)" in line
    assert "full payment counted in the cap" in line and "no" in line
    assert "全额支付计入封顶线" not in run.output


@pytest.mark.usefixtures("wide")
@pytest.mark.parametrize("name", shipped_packs())
def test_policy_show_names_every_leaf_of_every_shipped_pack(name: str) -> None:
    pack = load_pack(name)
    run = CliRunner().invoke(cli_app, ["policy", "show", name, "--date", pack.valid_from.isoformat()])
    assert run.exit_code == 0, run.output
    rows = {line.split("│")[2].strip(): line.split("│")[1].strip() for line in run.output.splitlines() if line.count("│") > 3}
    for path in pack.leaves:
        key = ".".join(path)
        assert key in rows, key
        assert rows[key] == labels.path_label(pack, path, "zh"), key
