"""Policy what-if: pick a pack and a reform (an example overlay, or a few parameters edited), run both on a
synthetic county and see the comparison (spending by payer, self-pay and monitoring, by identity)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from yibao.app import whatif as wr
from yibao.app.auth import Principal
from yibao.core.errors import InputError, InputErrors
from yibao.core.money import fmt_yuan
from yibao.core.vocab import field_label
from yibao.entrypoints.web import policy_view as pv
from yibao.entrypoints.web.bill import error_text
from yibao.entrypoints.web.charts import Bar, relative_bars
from yibao.entrypoints.web.deps import pack_of
from yibao.entrypoints.web.forms import Posted, clean
from yibao.entrypoints.web.pages_home import PAYER_CSS
from yibao.entrypoints.web.render import page_lang, render, translator
from yibao.entrypoints.web.session import page_user
from yibao.policy.overlay import apply_overlay
from yibao.policy.pack import PolicyPack
from yibao.whatif.report import TEXT, section

router = APIRouter()

WHATIF = page_user("policy.whatif")
PERSONS = (1_000, 50_000)
DEFAULTS = {"persons": "20000", "seed": "1", "overlay": ""}
FUND_PAYERS = ("hifp_pay", "hifmi_pay", "maf_pay", "oth_pay")
UNIT_ERRORS = {
    "yuan": ("应为金额（元），不小于 0，至多两位小数", "An amount in yuan, 0 or more, two decimals at most"),
    "percent": ("应为 0 至 100 之间的百分比，至多两位小数", "A percentage from 0 to 100, two decimals at most"),
}


@router.get("/whatif", response_class=HTMLResponse)
def whatif_page(request: Request, who: Annotated[Principal, Depends(WHATIF)]) -> HTMLResponse:
    lang = page_lang(request)
    errors: dict[str, str] = {}
    values = {"pack": clean(request.query_params.get("pack")) or pack_of(request).pack_id}
    pack = _pack(request, values, errors, lang)
    values |= DEFAULTS | {k.name: v for k, v in wr.offered(pack)}
    return _page(request, pack, values, errors, status_code=422 if errors else 200)


@router.post("/whatif/run", response_class=HTMLResponse)
def run(request: Request, who: Annotated[Principal, Depends(WHATIF)], form: Posted) -> HTMLResponse:
    lang = page_lang(request)
    t = translator(lang)
    names = ("pack", "persons", "seed", "overlay", *(k.name for k in wr.KNOBS))
    values = {name: clean(form.get(name), 20 if name != "pack" else 64) for name in names}
    errors: dict[str, str] = {}
    pack = _pack(request, values, errors, lang)
    persons = _int(values, "persons", PERSONS, errors, lang)
    seed = _int(values, "seed", (0, 9_999), errors, lang)
    reform_pack = None if "pack" in errors else _reform(pack, values, who.username, errors, lang)
    if reform_pack is None or persons is None or seed is None:
        if not errors:
            errors["form"] = t("请至少修改一个参数，或选择示例方案", "Change at least one parameter, or choose an example reform")
        return _page(request, pack, values, errors, status_code=422)
    try:
        outcome = wr.run(pack, reform_pack, persons, seed, lang)
    except (InputError, InputErrors) as e:
        return _page(request, pack, values, {"form": _brief(e, lang)}, status_code=422)
    return _page(request, pack, values, {}, outcome=outcome, reform=reform_pack)


@router.get("/whatif/report/{token}", response_model=None)
def report(request: Request, token: str, who: Annotated[Principal, Depends(WHATIF)]) -> Response:
    path = wr.report_path(token) if wr.REPORT.match(token) else None
    if path is None or not path.is_file():
        t = translator(page_lang(request))
        return render(request, "not_found.html.j2", {"what": t("测算报告（已过期）", "report (expired)"), "key": token[:40]}, 404)
    return FileResponse(path, media_type="text/html; charset=utf-8", headers={"Cache-Control": "no-store"})


def _pack(request: Request, values: dict[str, str], errors: dict[str, str], lang: str) -> PolicyPack:
    try:
        return pv.pack_named(values["pack"], pack_of(request))
    except InputError as e:
        errors["pack"] = error_text(e, lang)
        return pack_of(request)


def _int(values: dict[str, str], name: str, bounds: tuple[int, int], errors: dict[str, str], lang: str) -> int | None:
    text = values[name].replace(",", "")
    low, high = bounds
    if text.isdigit() and low <= int(text) <= high:
        return int(text)
    errors[name] = translator(lang)(f"应为 {low:,} 至 {high:,} 之间的整数", f"A whole number from {low:,} to {high:,}")
    return None


def _reform(pack: PolicyPack, values: dict[str, str], user: str, errors: dict[str, str], lang: str) -> PolicyPack | None:
    """The pack with the chosen example overlay or the edited parameters; ``None`` with errors beside the fields."""
    t = translator(lang)
    known = wr.examples()
    if values["overlay"]:
        overlay = known.get(values["overlay"])
        if overlay is None:
            errors["overlay"] = t("未知的示例方案", "Unknown example reform")
            return None
    else:
        overlay, bad = wr.overlay_from_form(pack, values, user)
        for name, unit in bad.items():
            errors[name] = t(*UNIT_ERRORS[unit])
        if overlay is None:
            return None
    try:
        return apply_overlay(pack, overlay)
    except InputErrors as e:
        errors["form"] = e.render(lang)
        return None


def _brief(e: InputError | InputErrors, lang: str) -> str:
    """The first problem and how many there are (a pack that cannot settle a county fails on every such claim)."""
    errors = e.errors if isinstance(e, InputErrors) else [e]
    t = translator(lang)
    head = t("该政策包无法结算模拟县的单据：", "The pack cannot settle the county's claims: ")
    more = t(f"（共 {len(errors):,} 处）", f" ({len(errors):,} in all)") if len(errors) > 1 else ""
    return f"{head}{errors[0].render(lang)}{more}"


def _payer_bars(outcome: wr.Outcome, lang: str) -> list[Bar]:
    t = TEXT[lang]
    items = []
    for row in outcome.cmp.by_payer.filter(outcome.cmp.by_payer["payer"].is_in(FUND_PAYERS)).iter_rows(named=True):
        name = field_label(row["payer"], lang)
        for side in ("baseline", "reform"):
            cls = PAYER_CSS[row["payer"]] if side == "reform" else "p-self"
            items.append((f"{name} · {t[side]}", int(row[side]), fmt_yuan(int(row[side])), cls))
    return relative_bars(items)


def _page(
    request: Request,
    pack: PolicyPack,
    values: dict[str, str],
    errors: dict[str, str],
    *,
    outcome: wr.Outcome | None = None,
    reform: PolicyPack | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    lang = page_lang(request)
    t = translator(lang)
    examples = wr.examples()
    context: dict[str, Any] = {
        "values": values,
        "errors": errors,
        "pack": pack,
        "choices": pv.pack_choices(pack_of(request), lang),
        "knobs": wr.offered(pack),
        "examples": [("", t("（不用示例，按下列参数调整）", "(none: use the parameters below)"))]
        + [(name, o.title_zh if lang == "zh" else o.title_en) for name, o in examples.items()],
        "year": pack.valid_from.year,
        "outcome": outcome,
        "reform_title": pv.title(reform, lang) if reform else "",
        "sections": [],
        "payer_bars": [],
    }
    if outcome is not None:
        text = TEXT[lang]
        cmp = outcome.cmp
        context["sections"] = [
            section(text["payers"], cmp.by_payer, lang),
            section(text["summary"], cmp.summary, lang),
            section(text["identity"], cmp.by_identity, lang),
        ]
        context["payer_bars"] = _payer_bars(outcome, lang)
        change = dict(zip(cmp.by_payer["payer"], cmp.by_payer["change"], strict=True))
        context["change"] = {"funds": int(change["fund_pay_sumamt"]), "self_pay": int(change["psn_part_amt"])}
    return render(request, "whatif.html.j2", context, status_code=status_code)
