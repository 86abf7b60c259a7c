"""A pack's worked cases: ``<pack>.cases.yaml`` beside ``<pack>.yaml``.

Each case is a person, the claims they bring in date order and, per claim, the amounts a
person worked out by hand (or a published source printed), in yuan written as strings::

    pack: anhui-huaibei-2022
    cases:
      - title: 特困人员三级医院住院
        title_en: extremely poor person, level-3 inpatient      # optional
        source: hand-computed          # or the published document the amounts come from
        working: |                     # the arithmetic; required when hand-computed
          basic: (490,000 - 1,000) x 65% = 317,850 -> cap 300,000 ...
        person:
          insutype: "390"              # default 390; employees 310 with emp_status / emp_tier
          identities: [{category: 特困, from: 2021-01-01}]
          chronic_filings: [{dise_codg: I10, from: 2023-01-01}]
          cross_region_filings: [{from: 2023-01-01, to: 2023-12-31}]
          birth_date: 1950-03-01       # for lines that go by age (person_terms, age_from / age_below)
          resident_tiers: [{tier: 二档, from: 2023-01-01, to: 2023-12-31}]   # 一档 / 二档 (or 1 / 2)
          institutions: [{fixmedins_code: H001, role: designated, from: 2023-01-01}]  # or linked / signed
          family_doctor: [{from: 2023-01-01, to: 2023-12-31}]
        claims:
          - claim_id: TK1
            setl_date: 2022-02-15
            med_type: "21"
            hosp_lv: 3
            place: in_county           # default
            fee_lines:                 # or summary: {medfee_sumamt: "...", fulamt_ownpay_amt: ..., ...}
              - {chrgitm_lv: 甲, det_item_fee_sumamt: "400000.00"}
            expect: {hifp_pay: "300000.00", hifmi_pay: "129774.75", maf_pay: "48180.20",
                     oth_pay: "1022.53", psn_part_amt: "41022.52", identity: tekun}

A category (``category``, ``identity``) is a built-in one or one the pack declares (``categories``), by its
code, Chinese or English name or an alias, as the pack itself may name it.

``expect`` needs the four payers and the patient's part; any other national amount field
(``medfee_sumamt``, ``act_pay_dedc``, ...) and the deciding ``identity`` or benefit ``line``
may be pinned too. Loading checks what can be checked without settling: amounts parse exactly
to fen, the payers and the patient add up to the bill, dates fall inside the pack. Errors
name the file, the case, the field, the value and what was expected.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from yibao.core.errors import InputError, InputErrors
from yibao.core.identities import CATEGORIES, normalise_category
from yibao.core.money import fen_to_yuan_str, yuan_to_fen
from yibao.core.vocab import AMOUNT_FIELDS
from yibao.policy import categories
from yibao.policy.pack import PACKS_DIR, PolicyPack
from yibao.policy.schema import declared_names

CASES_SUFFIX = ".cases.yaml"
HAND_COMPUTED = "hand-computed"
PAYER_PARTS = ("hifp_pay", "hifmi_pay", "maf_pay", "oth_pay", "psn_part_amt")
"""The four payers and the patient: together they are the bill."""
LEVELS = {"甲": "01", "乙": "02", "丙": "03"}
"""``chrgitm_lv`` as a case writes it -> the national code."""


class Refused(ValueError):
    """What a value should have been, in English and in Chinese; ``key`` names the field a check on a
    whole case or claim is about."""

    def __init__(self, en: str, zh: str, key: str | None = None) -> None:
        super().__init__(en)
        self.en, self.zh, self.key = en, zh, key


def _yuan_refused() -> Refused:
    return Refused(
        'yuan written as a quoted string with at most two decimals, e.g. "1234.50"',
        '用引号写出的金额（元），最多两位小数，如 "1234.50"',
    )


def _yuan(value: object) -> int:
    if not isinstance(value, str):
        raise _yuan_refused()
    try:
        fen = yuan_to_fen(value)
    except (ValueError, ArithmeticError):
        raise _yuan_refused() from None
    if fen < 0:
        raise Refused("an amount >= 0 yuan", "不小于 0 的金额（元）")
    return fen


def _day(value: object) -> date:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise Refused("a date written YYYY-MM-DD", "日期，写作 YYYY-MM-DD，例如 2022-05-01")


def _code(value: object) -> object:
    """YAML reads an unquoted ``21`` as a number; a code is text."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _category(value: object, info: ValidationInfo) -> str:
    """A built-in category or one the pack declares (:func:`cases_from_mapping` gives the declared names), by code,
    Chinese or English name or alias; refused naming the accepted codes."""
    declared: dict[str, tuple[str, ...]] = (info.context or {}).get("declared", {})
    if isinstance(value, str):
        try:
            return normalise_category(value, declared)
        except ValueError as exc:
            codes = "、".join([*CATEGORIES, *declared])
            raise Refused(str(exc), f"身份类别（代码、中文名称或别名），应为：{codes}") from None
    raise Refused("an identity category (code or Chinese name)", "身份类别（代码或中文名称）")


def _level(value: object) -> str:
    if value not in LEVELS:
        raise Refused("甲, 乙 or 丙 (class A, B or C)", "甲、乙或丙（收费项目等级）")
    return LEVELS[str(value)]


Yuan = Annotated[int, BeforeValidator(_yuan)]
Day = Annotated[date, BeforeValidator(_day)]
Code = Annotated[str, BeforeValidator(_code), Field(min_length=1)]
Category = Annotated[str, BeforeValidator(_category)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class CaseIdentity(_Strict):
    category: Category
    valid_from: Day = Field(alias="from")
    valid_to: Day | None = Field(None, alias="to")


class CaseFiling(_Strict):
    dise_codg: Code
    valid_from: Day = Field(alias="from")
    valid_to: Day | None = Field(None, alias="to")


class CasePeriod(_Strict):
    valid_from: Day = Field(alias="from")
    valid_to: Day | None = Field(None, alias="to")
    kind: Literal["", "long_term", "referral", "temporary"] = ""
    """Cross-region filings: the filing's kind (异地长期居住, 转诊, 临时外出就医; none stated: empty)."""


class CaseTier(_Strict):
    tier: Annotated[Literal[1, 2], BeforeValidator(lambda v: {"一档": 1, "二档": 2}.get(v, v) if isinstance(v, str) else v)]
    valid_from: Day = Field(alias="from")
    valid_to: Day | None = Field(None, alias="to")


class CaseInstitution(_Strict):
    fixmedins_code: Code
    role: Literal["designated", "linked", "signed"]
    valid_from: Day = Field(alias="from")
    valid_to: Day | None = Field(None, alias="to")


class CasePerson(_Strict):
    psn_no: Code | None = None
    """Defaults to ``P<case number>``."""
    insutype: Annotated[Literal["390", "310"], BeforeValidator(_code)] = "390"
    identities: tuple[CaseIdentity, ...] = ()
    chronic_filings: tuple[CaseFiling, ...] = ()
    cross_region_filings: tuple[CasePeriod, ...] = ()
    emp_status: Literal["in_service", "retired"] | None = None
    emp_tier: Literal["unit", "individual_1", "individual_2"] | None = None
    birth_date: Day | None = None
    resident_tiers: tuple[CaseTier, ...] = ()
    institutions: tuple[CaseInstitution, ...] = ()
    family_doctor: tuple[CasePeriod, ...] = ()


class CaseFeeLine(_Strict):
    chrgitm_lv: Annotated[str, BeforeValidator(_level)]
    """The national code (01/02/03); the file writes 甲/乙/丙."""
    det_item_fee_sumamt: Yuan
    med_list_codg: str = ""


class CaseSummary(_Strict):
    medfee_sumamt: Yuan
    fulamt_ownpay_amt: Yuan = 0
    overlmt_selfpay: Yuan = 0
    preselfpay_amt: Yuan = 0
    inscp_scp_amt: Yuan | None = None
    full_pay_scp_amt: Yuan = 0
    fixed_share_scp_amt: Yuan = 0
    class_b_scp_amt: Yuan = 0

    @model_validator(mode="after")
    def _parts_fit(self) -> CaseSummary:
        self_paid = self.fulamt_ownpay_amt + self.overlmt_selfpay + self.preselfpay_amt
        scp = self.inscp_scp_amt if self.inscp_scp_amt is not None else self.medfee_sumamt - self_paid
        if scp < 0 or self_paid + scp != self.medfee_sumamt:
            total = fen_to_yuan_str(self.medfee_sumamt)
            raise Refused(
                f"fulamt_ownpay_amt + overlmt_selfpay + preselfpay_amt + inscp_scp_amt = medfee_sumamt ({total} yuan)",
                f"全自费 + 超限价 + 先行自付 + 政策范围内 = 医疗总费用（{total} 元）",
            )
        return self


class Expected(_Strict):
    hifp_pay: Yuan
    hifmi_pay: Yuan
    maf_pay: Yuan
    oth_pay: Yuan
    psn_part_amt: Yuan
    medfee_sumamt: Yuan | None = None
    fulamt_ownpay_amt: Yuan | None = None
    overlmt_selfpay: Yuan | None = None
    preselfpay_amt: Yuan | None = None
    inscp_scp_amt: Yuan | None = None
    act_pay_dedc: Yuan | None = None
    pool_prop_selfpay: Yuan | None = None
    fund_pay_sumamt: Yuan | None = None
    identity: Category | None = None
    """The deciding identity (``ordinary`` for none)."""
    line: Code | None = None
    """The benefit line's key in the pack."""

    def amounts(self) -> dict[str, int]:
        """The pinned amounts in fen, in the national field order."""
        return {name: v for name in AMOUNT_FIELDS if (v := getattr(self, name)) is not None}

    def texts(self) -> dict[str, str]:
        return {name: v for name in ("identity", "line") if (v := getattr(self, name)) is not None}


class CaseClaim(_Strict):
    claim_id: Code
    setl_date: Day
    med_type: Code
    hosp_lv: Literal[1, 2, 3]
    place: Literal["in_county", "out_of_county", "cross_region", "cross_emergency"] = "in_county"
    dise_codg: str = ""
    fixmedins_code: str = ""
    fee_lines: tuple[CaseFeeLine, ...] = ()
    summary: CaseSummary | None = None
    expect: Expected

    @property
    def total(self) -> int:
        return self.summary.medfee_sumamt if self.summary else sum(f.det_item_fee_sumamt for f in self.fee_lines)

    @model_validator(mode="after")
    def _consistent(self) -> CaseClaim:
        if (self.summary is None) == (not self.fee_lines):
            raise Refused(
                "either fee_lines or a summary, not both or neither", "费用明细 fee_lines 或汇总 summary 二者之一", "fee_lines"
            )
        parts = sum(getattr(self.expect, name) for name in PAYER_PARTS)
        if parts != self.total or self.expect.medfee_sumamt not in (None, self.total):
            bill, added = fen_to_yuan_str(self.total), fen_to_yuan_str(parts)
            raise Refused(
                f"{' + '.join(PAYER_PARTS)} = the bill ({bill} yuan); they add to {added}",
                f"四方支付与个人负担之和 = 医疗总费用（{bill} 元），实为 {added} 元",
                "expect",
            )
        return self


class WorkedCase(_Strict):
    title: Annotated[str, Field(min_length=1)]
    """In Chinese."""
    title_en: str = ""
    source: Annotated[str, Field(min_length=1)]
    """The published document the amounts come from, or ``hand-computed``."""
    working: str = ""
    """The arithmetic, step by step."""
    person: CasePerson = CasePerson()
    claims: tuple[CaseClaim, ...]

    @field_validator("title")
    @classmethod
    def _chinese(cls, title: str) -> str:
        if not re.search(r"[\u4e00-\u9fff]", title):
            raise Refused("a title in Chinese", "中文标题")
        return title

    @model_validator(mode="after")
    def _shown_and_ordered(self) -> WorkedCase:
        if self.source.strip() == HAND_COMPUTED and not self.working.strip():
            raise Refused("the arithmetic, for a hand-computed case", "手算算例须写出计算过程", "working")
        if not self.claims:
            raise Refused("at least one claim", "至少一笔结算", "claims")
        days = [c.setl_date for c in self.claims]
        if days != sorted(days):
            raise Refused("claims listed in date order (setl_date rising)", "按结算日期 setl_date 先后排列的结算", "claims")
        ids = [c.claim_id for c in self.claims]
        if len(set(ids)) != len(ids):
            raise Refused("a different claim_id for every claim", "每笔结算的 claim_id 各不相同", "claims")
        return self


class PackCases(_Strict):
    pack: Code
    """The pack's name (its file name without ``.yaml``)."""
    cases: tuple[WorkedCase, ...]

    @model_validator(mode="after")
    def _some(self) -> PackCases:
        if not self.cases:
            raise Refused("at least one case", "至少一个算例", "cases")
        return self


def cases_file(pack_file_or_name: str | Path) -> Path:
    """Where a pack's cases live: ``x.cases.yaml`` beside ``x.yaml``, or beside a shipped pack."""
    path = Path(pack_file_or_name)
    if path.is_file():
        return path.with_name(path.name.removesuffix(".yaml") + CASES_SUFFIX)
    return PACKS_DIR / f"{pack_file_or_name}{CASES_SUFFIX}"


def case_where(file: str, number: int, title: str | None = None, claim: object = None) -> str:
    """``file · case n · claim id``, said in Chinese and in English (the title only in Chinese)."""
    zh = f"{file} · 算例 {number}" + (f"「{title}」" if title else "")
    en = f"{file} · case {number}"
    if claim is not None:
        zh += f" · 结算单 {claim}"
        en += f" · claim {claim}"
    return f"{zh} / {en}"


def _item(items: object, n: int) -> dict[str, Any]:
    found = items[n] if isinstance(items, list) and n < len(items) else None
    return found if isinstance(found, dict) else {}


def _located(file: str, raw: dict[str, Any], loc: tuple[int | str, ...]) -> tuple[str, tuple[int | str, ...]]:
    """Where an error is (file, case, claim) and the rest of its location."""
    if len(loc) < 2 or loc[0] != "cases" or not isinstance(loc[1], int):
        return file, loc
    case, rest = _item(raw.get("cases"), loc[1]), loc[2:]
    title = case.get("title") if isinstance(case.get("title"), str) else None
    claim = None
    if len(rest) >= 2 and rest[0] == "claims" and isinstance(rest[1], int):
        claim = _item(case.get("claims"), rest[1]).get("claim_id", f"#{rest[1] + 1}")
        rest = rest[2:]
    return case_where(file, loc[1] + 1, title, claim), rest


def _errors(exc: ValidationError, raw: dict[str, Any], file: str) -> InputErrors:
    errors = []
    for err in exc.errors():
        where, rest = _located(file, raw, tuple(err["loc"]))
        field = ""
        for part in rest:  # a dotted name, list items counted from 1
            field += f"[{part + 1}]" if isinstance(part, int) else (f".{part}" if field else str(part))
        value, refused = err.get("input"), err.get("ctx", {}).get("error")
        if not isinstance(refused, Refused):
            errors.append(InputError(where, field or "(case)", value, str(err["msg"]).removeprefix("Value error, ")))
            continue
        if refused.key is not None:  # a check on a whole case or claim, about one of its fields
            field = f"{field}.{refused.key}" if field else refused.key
            value = value.get(refused.key) if isinstance(value, dict) else None
        errors.append(InputError(where, field, value, refused.en, expected_zh=refused.zh))
    return InputErrors(errors)


def _check_against(cases: PackCases, pack: PolicyPack, file: str) -> None:
    errors = []
    if cases.pack != pack.pack_id:
        errors.append(
            InputError(
                file,
                "pack",
                cases.pack,
                f"the pack these cases are for ({pack.pack_id})",
                expected_zh=f"这些算例所属的政策包（{pack.pack_id}）",
            )
        )
    start = pack.valid_from.isoformat()
    end, end_zh = (pack.valid_to.isoformat(),) * 2 if pack.valid_to else ("open", "今")
    for n, case in enumerate(cases.cases, start=1):
        errors += [
            InputError(
                case_where(file, n, case.title, claim.claim_id),
                "setl_date",
                claim.setl_date.isoformat(),
                f"a date the pack covers ({start} .. {end})",
                expected_zh=f"政策包有效期内的日期（{start} 至 {end_zh}）",
            )
            for claim in case.claims
            if not pack.covers(claim.setl_date)
        ]
    if errors:
        raise InputErrors(errors)


def cases_from_mapping(raw: Any, file: str, pack: PolicyPack | None = None) -> PackCases:
    """Validate parsed YAML as worked cases (for ``pack`` when given); raises :class:`InputErrors`. A category
    may be one ``pack`` declares (without a pack: one the installation's packs declare), by code or name."""
    if not isinstance(raw, dict):
        raise InputErrors(
            [
                InputError(
                    file,
                    "(top level)",
                    type(raw).__name__,
                    "a mapping with pack and cases",
                    expected_zh="含 `pack` 和 `cases` 的映射",
                )
            ]
        )
    declared = pack.at(pack.valid_from).categories if pack is not None else categories.declared()
    try:
        cases = PackCases.model_validate(raw, context={"declared": declared_names(declared)})
    except ValidationError as exc:
        raise _errors(exc, raw, file) from None
    if pack is not None:
        _check_against(cases, pack, file)
    return cases


def load_cases(path: Path, pack: PolicyPack | None = None) -> PackCases:
    """Load and validate a cases file; a missing file or bad YAML is an :class:`InputErrors` too."""
    if not path.is_file():
        raise InputErrors(
            [
                InputError(
                    path.name,
                    "(file)",
                    str(path),
                    f"a worked-cases file {path.name} beside the pack",
                    expected_zh=f"政策包旁的算例文件 {path.name}",
                )
            ]
        )
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise InputErrors([InputError(path.name, "(YAML)", str(exc).splitlines()[0], "well-formed YAML")]) from None
    return cases_from_mapping(raw, path.name, pack)
