"""A settlement in plain words, for a household: what each payer paid and why, in short sentences.

The clerk's trace (:mod:`yibao.settlement.trace`) says every step with its codes; :func:`explain` says the same
settlement as a family reads it on the slip (本次结算说明) and in the policy leaflet's worked examples
(:mod:`yibao.leaflet`), so the two never word a rule differently. Every number comes from the settlement's own
fields and trace steps: nothing is computed again here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields

from yibao.core.i18n import t
from yibao.core.money import fmt_percent, fmt_yuan
from yibao.settlement.model import Settlement, TraceStep


@dataclass(frozen=True)
class Figures:
    """The amounts of one settlement a plain explanation speaks of (fen, national names)."""

    medfee_sumamt: int
    fulamt_ownpay_amt: int
    overlmt_selfpay: int
    preselfpay_amt: int
    inscp_scp_amt: int
    act_pay_dedc: int
    hifp_pay: int
    hifmi_pay: int
    maf_pay: int
    oth_pay: int
    psn_part_amt: int

    @classmethod
    def of(cls, settled: object) -> Figures:
        """The figures of anything carrying these fields: a :class:`Settlement`, a ledger entry."""
        return cls(**{f.name: int(getattr(settled, f.name)) for f in fields(cls)})


def yuan(fen: int, lang: str) -> str:
    """An amount as a household reads it: ``1,234.56 元`` / ``1,234.56 yuan``."""
    return fmt_yuan(fen) + t(lang, " 元", " yuan")


def points(bp: int, lang: str) -> str:
    """Percentage points: ``5 个百分点`` / ``5 percentage points``."""
    number = fmt_percent(bp).removesuffix("%")
    return t(lang, f"{number} 个百分点", f"{number} percentage points")


def _steps(trace: Iterable[TraceStep], tier: str) -> list[TraceStep]:
    return [s for s in trace if s.tier == tier]


def _first(steps: Sequence[TraceStep], *keys: str) -> TraceStep | None:
    return next((s for s in steps if s.key in keys), None)


def _capped(steps: Sequence[TraceStep]) -> TraceStep | None:
    """The cap step when the cap cut the payment (computed more than was paid)."""
    cap = _first(steps, "cap")
    return cap if cap is not None and int(cap.args["raw_fen"]) > int(cap.args["pay_fen"]) else None


def _ratios(steps: Sequence[TraceStep], lang: str) -> str:
    """The ratios of the band segments paid on, in order, without repeats: ``60%、65%`` / ``60%, 65%``."""
    seen = dict.fromkeys(fmt_percent(int(s.args["ratio_bp"])) for s in steps if s.key == "segment" and s.args["amount_fen"])
    return t(lang, "、", ", ").join(seen)


def _outside(f: Figures, lang: str) -> list[str]:
    out = f.fulamt_ownpay_amt + f.overlmt_selfpay + f.preselfpay_amt
    if not out:
        return [t(lang, f"这些费用都在医保报销范围内（{yuan(f.inscp_scp_amt, lang)}）。",
                  f"All of it is within what insurance covers ({yuan(f.inscp_scp_amt, lang)}).")]  # fmt: skip
    return [
        t(
            lang,
            f"其中 {yuan(out, lang)} 是目录外、超限价或需要先自付的费用，医保不报销；医保报销范围内的费用是 "
            f"{yuan(f.inscp_scp_amt, lang)}。",
            f"Of this, {yuan(out, lang)} is outside the insurance list, over the price limit or paid first by you: "
            f"insurance does not pay it. The part insurance covers is {yuan(f.inscp_scp_amt, lang)}.",
        )
    ]


def _basic(f: Figures, steps: Sequence[TraceStep], lang: str) -> list[str]:
    if not steps:
        return []
    out: list[str] = []
    first = _first(steps, "place_selfpay_first")
    if first is not None:
        amount = yuan(int(first.args["amount_fen"]), lang)
        out.append(t(lang, f"异地就医未备案，先由个人自付 {amount}。",
                     f"Care away from home without a filing: you pay {amount} first."))  # fmt: skip
    full = _first(steps, "full_pay", "full_pay_outside_cap")
    if full is not None:
        amount = yuan(int(full.args["amount_fen"]), lang)
        out.append(t(lang, f"目录内甲类药品 {amount} 全部报销。", f"Listed class-A drugs of {amount} are paid in full."))
    ratio = _first(steps, "ratio")
    rate = fmt_percent(int(ratio.args["ratio_bp"])) if ratio is not None else ""
    dedc = yuan(f.act_pay_dedc, lang)
    if f.hifp_pay == 0 and f.act_pay_dedc:
        out.append(t(lang, f"基本医保：费用没有超过起付线 {dedc}，这次不报销。",
                     f"Basic insurance: the cost did not pass the deductible of {dedc}; it pays nothing this time."))  # fmt: skip
        return out
    pay = yuan(f.hifp_pay, lang)
    if f.act_pay_dedc:
        out.append(t(lang, f"基本医保报销 {pay}：先扣除起付线 {dedc}，超过起付线的部分按 {rate} 报销。",
                     f"Basic insurance pays {pay}: the first {dedc} is the deductible; above it, {rate} is paid."))  # fmt: skip
    else:
        out.append(t(lang, f"基本医保报销 {pay}：不扣起付线，按 {rate} 报销。",
                     f"Basic insurance pays {pay}: no deductible, {rate} of the cost."))  # fmt: skip
    if ratio is not None and int(ratio.args.get("add_bp", 0)) > 0:
        more = int(ratio.args["add_bp"])
        out.append(t(lang, f"按您的身份多报销 {points(more, lang)}（已算在 {rate} 里）。",
                     f"Your identity adds {points(more, lang)} (included in {rate})."))  # fmt: skip
    pot = _first(steps, "capitation")
    if pot is not None:
        out += _township_pot(pot, lang)
    capped = _capped(steps)
    if capped is not None:
        cap = yuan(int(capped.args["cap_fen"]), lang)
        out.append(t(lang, f"已到基本医保一年最多报销的 {cap}，超出的部分不再报销。",
                     f"Basic insurance has reached its yearly maximum of {cap}; it pays no more."))  # fmt: skip
    return out


def _township_pot(pot: TraceStep, lang: str) -> list[str]:
    """门诊统筹人头定额: the township's hospital and clinics count one yearly limit together; above it some identities
    go on item by item."""
    limit, before = yuan(int(pot.args["limit_fen"]), lang), yuan(int(pot.args["paid_before_fen"]), lang)
    out = [t(lang, f"在本镇卫生院和村卫生室看门诊，两处合并计算，一年最多报销 {limit}（今年此前已报销 {before}）。",
             f"Outpatient care at your township health centre and village clinics counts together: at most {limit} a "
             f"year (already paid this year before this bill: {before}).")]  # fmt: skip
    item = int(pot.args["item_fen"])
    if item:
        more = yuan(item, lang)
        out.append(t(lang, f"超过这个限额的部分，按您的身份继续按实际费用报销，这次 {more}。",
                     f"Above that limit your identity is paid on by the actual items: {more} this time."))  # fmt: skip
    return out


def _critical(f: Figures, steps: Sequence[TraceStep], lang: str) -> list[str]:
    if not steps or _first(steps, "not_applicable"):
        return []
    out: list[str] = []
    threshold = _first(steps, "threshold_gross", "threshold_above_deductible", "threshold")
    line = yuan(int(threshold.args["deductible_fen"]), lang) if threshold is not None else ""
    tilt = _first(steps, "tilt")
    if f.hifmi_pay == 0:
        total = _first(steps, "cumulative")
        so_far = yuan(int(total.args["after_fen"]), lang) if total is not None else ""
        out.append(t(lang, f"大病保险：今年自付累计 {so_far}，没有超过起付线 {line}，这次不报销。",
                     f"Critical illness insurance: your own share this year, {so_far}, has not passed its deductible "
                     f"of {line}, so it pays nothing this time."))  # fmt: skip
    else:
        pay, rates = yuan(f.hifmi_pay, lang), _ratios(steps, lang)
        out.append(t(lang, f"大病保险再报销 {pay}：一年内自付累计超过 {line}的部分，按 {rates} 报销。",
                     f"Critical illness insurance pays {pay} more: of your own share this year above {line}, "
                     f"{rates} is paid."))  # fmt: skip
    if tilt is not None:
        out.append(_tilt_sentence(tilt, lang))
    return out


def _tilt_sentence(tilt: TraceStep, lang: str) -> str:
    pct, add, no_cap = int(tilt.args["pct_bp"]), int(tilt.args["add_bp"]), bool(tilt.args["no_cap"])
    zh: list[str] = []
    en: list[str] = []
    if pct != 10_000:
        zh.append("起付线减半" if pct == 5_000 else f"起付线按 {fmt_percent(pct)} 计")
        en.append("the deductible halved" if pct == 5_000 else f"the deductible at {fmt_percent(pct)}")
    if add:
        zh.append(f"报销比例提高 {points(add, 'zh')}")
        en.append(f"ratios {points(add, 'en')} higher")
    if no_cap:
        zh.append("不设封顶线")
        en.append("no yearly maximum")
    return t(lang, "您的身份享受大病保险倾斜：" + "、".join(zh) + "。", "Your identity gets better terms: " + ", ".join(en) + ".")


def _assisted(pay_fen: int, steps: Sequence[TraceStep], lang: str, names: tuple[str, str]) -> list[str]:
    """Medical assistance or tilted assistance: threshold, ratio, yearly limit."""
    if not steps or _first(steps, "not_applicable"):
        return []
    zh_name, en_name = names
    threshold = _first(steps, "threshold", "threshold_income")
    line = int(threshold.args["deductible_fen"]) if threshold is not None else 0
    ratio = _first(steps, "flat_ratio")
    rate = fmt_percent(int(ratio.args["ratio_bp"])) if ratio is not None else ""
    if pay_fen == 0:
        if line:
            return [t(lang, f"{zh_name}：今年剩下的自付费用还没有超过 {yuan(line, lang)}，这次不支付。",
                      f"{en_name}: what you still paid this year has not passed {yuan(line, lang)}, so it pays nothing "
                      "this time.")]  # fmt: skip
        return []
    pay = yuan(pay_fen, lang)
    if line:
        out = [t(lang, f"{zh_name}再支付 {pay}：剩下的自付费用一年内超过 {yuan(line, lang)}的部分，按 {rate} 支付。",
                 f"{en_name} pays {pay} more: {rate} of what you still paid this year above {yuan(line, lang)}.")]  # fmt: skip
    else:
        out = [t(lang, f"{zh_name}再支付 {pay}：剩下的自付费用按 {rate} 支付，不设起付线。",
                 f"{en_name} pays {pay} more: {rate} of what you still paid, with no deductible.")]  # fmt: skip
    capped = _capped(steps)
    if capped is not None:
        cap = yuan(int(capped.args["cap_fen"]), lang)
        out.append(t(lang, f"已到{zh_name}一年最多支付的 {cap}。", f"{en_name} has reached its yearly limit of {cap}."))
    return out


def explain_figures(f: Figures, trace: Sequence[TraceStep], lang: str = "zh") -> list[str]:
    """The settlement in short plain sentences, Chinese (default) or English (never mixed)."""
    out = [t(lang, f"这次看病医疗费用共 {yuan(f.medfee_sumamt, lang)}。", f"This bill came to {yuan(f.medfee_sumamt, lang)}.")]
    out += _outside(f, lang)
    out += _basic(f, _steps(trace, "basic"), lang)
    out += _critical(f, _steps(trace, "critical_illness"), lang)
    out += _assisted(f.maf_pay, _steps(trace, "assistance"), lang, ("医疗救助", "Medical assistance"))
    out += _assisted(f.oth_pay, _steps(trace, "tilted"), lang, ("倾斜救助", "Tilted assistance"))
    funds = f.hifp_pay + f.hifmi_pay + f.maf_pay + f.oth_pay
    out.append(
        t(
            lang,
            f"各项合计报销 {yuan(funds, lang)}，个人负担 {yuan(f.psn_part_amt, lang)}。",
            f"Together they pay {yuan(funds, lang)}; you pay {yuan(f.psn_part_amt, lang)}.",
        )
    )
    return out


def explain(settlement: Settlement, lang: str = "zh") -> list[str]:
    """:func:`explain_figures` of a settlement just made (its figures and its trace)."""
    return explain_figures(Figures.of(settlement), settlement.trace, lang)
