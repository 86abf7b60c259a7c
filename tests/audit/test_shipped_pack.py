"""The shipped audit pack: it loads, covers every rule type, and every number says where it comes from."""

from __future__ import annotations

import csv
from decimal import Decimal
from importlib import resources

import yaml

from yibao.audit.knowledge import TABLES
from yibao.audit.pack import PACKS_DIR, WORKFLOW_STEPS, load_audit_pack
from yibao.audit.types import RULE_TYPES
from yibao.core import vocab
from yibao.core.settings import DEFAULT_AUDIT_PACK

RAW = yaml.safe_load((PACKS_DIR / f"{DEFAULT_AUDIT_PACK}.yaml").read_text(encoding="utf-8"))


def test_loads_with_every_rule_type() -> None:
    pack = load_audit_pack(DEFAULT_AUDIT_PACK)
    assert {r.type for r in pack.rules} == set(RULE_TYPES)
    assert len({r.code for r in pack.rules}) == len(pack.rules)
    for r in pack.rules:
        assert r.family in vocab.AUDIT_FAMILIES and r.window in vocab.AUDIT_WINDOWS
        assert r.insutypes is not None and set(r.insutypes) <= set(vocab.INSUTYPES)
        assert r.name_zh and all("\u4e00" <= ch <= "\u9fff" for ch in r.name_zh[:2])
    assert set(pack.workflow_days) == set(WORKFLOW_STEPS)


def test_every_rule_parameter_and_time_limit_has_provenance() -> None:
    for n, rule in enumerate(RAW["rules"], start=1):
        assert rule.get("source") or rule.get("assumed"), f"rule row {n}"
        # every parameter of the type is written out, with its own source or reason
        assert set(rule.get("params", {})) == set(RULE_TYPES[rule["type"]].params), rule["code"]
        for name, leaf in rule.get("params", {}).items():
            assert "value" in leaf and (leaf.get("source") or leaf.get("assumed")), (rule["code"], name)
    for step, leaf in RAW["workflow"].items():
        assert leaf.get("source") or leaf.get("assumed"), step
    for table in RAW["knowledge"]:
        leaf = RAW["knowledge_provenance"][table]
        assert leaf.get("source") or leaf.get("assumed"), table


def test_knowledge_names_only_catalogue_items() -> None:
    kb = load_audit_pack(DEFAULT_AUDIT_PACK).knowledge
    assert set(RAW["knowledge"]) == set(TABLES)
    assert 100 <= len(kb.catalogue) <= 300
    code_columns = {"med_list_codg", "main_codg", "sub_codg", "bundle_codg", "part_codg", "requires_codg"}
    for name in TABLES:
        for row in kb.table(name):
            for col in code_columns & set(row):
                assert row[col] is None or row[col] in kb.catalogue, (name, row)


def test_bundled_sample_items_are_known_and_within_standard() -> None:
    """The sample fee lines (``yibao demo``) are in the catalogue; only the policy's ceiling flags one."""
    kb = load_audit_pack(DEFAULT_AUDIT_PACK).knowledge
    path = resources.files("yibao") / "data" / "sample_fee_lines.csv"
    with path.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            item = kb.catalogue[row["med_list_codg"]]
            if item["std_pric"] is not None:
                assert Decimal(row["pric"]) * 100 <= item["std_pric"], row
