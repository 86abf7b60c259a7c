"""A finding's message and its rule type's name, in Chinese (default) and English."""

from __future__ import annotations

from yibao.audit.messages import message, render, rule_label
from yibao.audit.model import Finding
from yibao.audit.types import RULE_TYPES


def _f(rtype: str, args: dict[str, str | int], result: str = "violation") -> Finding:
    return Finding("R1", rtype, result, "S1", (), 0, (), args)  # type: ignore[arg-type]


def test_rule_labels() -> None:
    assert rule_label("split_admission") == "分解住院"
    assert rule_label("split_admission", "en") == "re-admission soon after discharge"
    assert rule_label("no_such_type", "zh") == "no_such_type"
    assert all(rule_label(k) != rule_label(k, "en") for k in RULE_TYPES)


def test_amounts_in_fen_are_shown_in_yuan() -> None:
    f = _f("price_ceiling", {"item": "X1", "pric_fen": 123456, "ceiling_fen": 5})
    assert message(f) == "X1 单价 1,234.56元 高于限价 0.05元，超出部分自费"
    assert message(f, "en") == "X1 unit price 1,234.56 yuan is above the ceiling 0.05 yuan; the excess is self-paid"


def test_windows_are_named_from_the_vocabulary() -> None:
    f = _f("frequency_limit", {"item": "X1", "window": "month", "cnt": "5", "limit": "4"})
    assert message(f) == "X1 在自然月内累计 5 次，超过上限 4 次"
    assert message(f, "en") == "X1: 5 times in the calendar month, above the limit 4"


def test_episode_messages() -> None:
    args: dict[str, str | int] = {"gap": 0, "days": 15, "group": "I10", "prev": "A1"}
    assert message(_f("split_admission", args)) == "出院 0 天后再次入院（15 天内，同病种 I10），前次住院 A1"
    assert (
        message(_f("split_admission", {**args, "group": "", "missing": "dise_codg"}, "unevaluable"))
        == "出院 0 天后再次入院（15 天内），前次住院 A1；缺少诊断编码，无法判断是否同病种"
    )
    assert message(_f("bed_hanging", {"n": 2, "dates": "2022-03-03, 2022-03-05"})) == (
        "住院期间 2 天在其他机构门诊或购药（2022-03-03, 2022-03-05）"
    )
    assert message(_f("same_day_visits", {"n": 2, "others": "C1"}), "en") == "visit number 2 of the day (already: C1)"


def test_unevaluable_and_missing_arguments_are_said() -> None:
    f = _f("diagnosis_mismatch", {"item": "X1", "indications": "J45*", "dise_codg": ""}, "unevaluable")
    assert message(f) == "无法判断（缺少所需数据）：X1 的适应症为 J45*，本次诊断 无"
    assert message(f, "en") == "cannot evaluate (data missing): X1 is indicated for J45*; the diagnosis is none"
    assert render("after_death", {"day": "2022-03-12"}) == "就医日期 2022-03-12 晚于死亡日期 —"
    assert render("no_such_type", {}) == "no_such_type"
