"""The ``yibao`` command line.

Building it loads only Typer, Rich and :mod:`yibao.core`: each command imports the services, the database, Polars
and the policy engine it runs in its own body, so ``yibao --help`` and every command start fast
(``tests/unit/test_cli_startup.py`` holds this).
"""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.panel import Panel
from rich.table import Table

from yibao.core.errors import InputError, InputErrors
from yibao.core.i18n import t as _t
from yibao.core.money import fmt_yuan
from yibao.core.settings import DEFAULT_POLICY
from yibao.core.vocab import AMOUNT_FIELDS, CHRGITM_LV, field_label, label
from yibao.entrypoints.cli.output import NOTHING_WRITTEN, console, refuse

if TYPE_CHECKING:
    from yibao.policy.pack import PolicyPack
    from yibao.settlement.model import Claim, Person, Settlement


app = typer.Typer(help="yibao：基本医保、大病保险、医疗救助一站式结算 / one-stop three-tier settlement", no_args_is_help=True)


Lang = Annotated[str, typer.Option("--lang", help="zh（默认）或 en", envvar="YIBAO_LANG")]
PolicyOpt = Annotated[str, typer.Option("--policy", "-p", help="政策包文件或内置名称 / pack file or shipped name")]
PeopleOpt = Annotated[Path, typer.Option("--people", help="人员 CSV / people CSV")]
FeeOpt = Annotated[Path | None, typer.Option("--fee-lines", help="费用明细 CSV（可选）/ fee lines CSV")]


def _fail(exc: InputError | InputErrors, lang: str) -> typer.Exit:
    return refuse(exc, lang, NOTHING_WRITTEN)


def _load(policy: str, lang: str) -> PolicyPack:
    from yibao.policy.pack import load_pack

    try:
        return load_pack(policy)
    except (InputError, InputErrors) as exc:
        raise _fail(exc, lang) from None


def settle_file(pack: PolicyPack, people: dict[str, Person], claims: list[Claim], claims_file: str) -> list[Settlement]:
    """Settle every person's claims in date order; errors name the claims file row."""
    from yibao.settlement.settle import settle_sequence

    rows = {c.claim_id: i for i, c in enumerate(claims, start=2)}
    by_person: dict[str, list[Claim]] = defaultdict(list)
    for c in claims:
        by_person[c.psn_no].append(c)
    out: list[Settlement] = []
    errors: list[InputError] = []
    for psn_no, own in by_person.items():
        try:
            out.extend(settle_sequence(pack, people[psn_no], own))
        except InputError as exc:
            claim_id = exc.where.removeprefix("claim ").split(" ")[0]
            row = rows.get(claim_id)
            where = f"{claims_file} row {row} (claim {claim_id})" if row else exc.where
            errors.append(replace(exc, where=where))
    if errors:
        raise InputErrors(errors)
    return out


def _read_inputs(
    people: Path, claims: Path, fee_lines: Path | None, only: str | None = None
) -> tuple[dict[str, Person], list[Claim]]:
    from yibao.interfaces.claim_csv import read_claims, read_fee_lines, read_people

    persons = read_people(people)
    lines = read_fee_lines(fee_lines) if fee_lines else None
    return persons, read_claims(claims, persons, lines, only)


def _settlement_table(items: list[Settlement], people: dict[str, Person], lang: str) -> Table:
    from yibao.policy.categories import identity_label

    cols = ["claim_id", "psn_name", "identity", "medfee_sumamt", "hifp_pay", "hifmi_pay", "maf_pay", "oth_pay", "psn_part_amt"]
    short = {
        "medfee_sumamt": ("总费用", "total"),
        "hifp_pay": ("基本医保", "basic"),
        "hifmi_pay": ("大病保险", "crit. ill."),
        "maf_pay": ("医疗救助", "assist."),
        "oth_pay": ("倾斜救助", "tilted"),
        "psn_part_amt": ("个人负担", "patient"),
        "claim_id": ("单号", "claim"),
        "psn_name": ("姓名", "name"),
        "identity": ("身份", "identity"),
    }
    table = Table(title=_t(lang, "一站式结算结果（元）", "One-stop settlement (yuan)"), show_lines=False)
    for c in cols:
        table.add_column(
            _t(lang, *short[c]),
            justify="right" if c.endswith(("amt", "pay")) else "left",
            no_wrap=True,
            min_width=6 if c in ("claim_id", "psn_name") else None,
        )
    totals: dict[str, int] = defaultdict(int)
    for s in items:
        row: list[str] = []
        for c in cols:
            if c == "psn_name":
                row.append(people[s.psn_no].psn_name or s.psn_no)
            elif c == "identity":
                row.append(identity_label(s.identity, lang, short=True))
            elif c.endswith(("amt", "pay")):
                totals[c] += getattr(s, c)
                row.append(fmt_yuan(getattr(s, c)))
            else:
                row.append(str(getattr(s, c)))
        table.add_row(*row)
    table.add_section()
    table.add_row(_t(lang, "合计", "Total"), "", "", *[fmt_yuan(totals[c]) for c in cols[3:]])
    return table


@app.command()
def settle(
    claims: Annotated[Path, typer.Argument(help="结算单 CSV / claims CSV")],
    policy: PolicyOpt,
    people: PeopleOpt,
    fee_lines: FeeOpt = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="输出 .csv 或 .json")] = Path("settlements.csv"),
    lang: Lang = "zh",
) -> None:
    """按日期顺序逐人结算全部单据，输出每一级支付 / settle every claim, per person in date order."""
    from yibao.interfaces.settlement_csv import write_settlements

    pack = _load(policy, lang)
    try:
        persons, items = _read_inputs(people, claims, fee_lines)
        settled = settle_file(pack, persons, items, claims.name)
    except (InputError, InputErrors) as exc:
        raise _fail(exc, lang) from None
    write_settlements(out, settled, lang)
    console.print(_settlement_table(settled, persons, lang))
    console.print(_t(lang, f"已写入 {out}（{len(settled)} 笔）", f"Wrote {out} ({len(settled)} settlements)"))


def explain_settlement(s: Settlement, person: Person, lang: str) -> None:
    from yibao.policy.categories import identity_label
    from yibao.settlement.trace import render

    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column(justify="right")
    for name in (n for n in AMOUNT_FIELDS if n != "pool_prop_selfpay"):
        head.add_row(field_label(name, lang) + f" [dim]{name}[/]", fmt_yuan(getattr(s, name)))
    who = f"{person.psn_name or person.psn_no} · {identity_label(s.identity, lang)} · {s.setl_date.isoformat()}"
    console.print(Panel(head, title=f"{_t(lang, '结算单', 'Settlement')} {s.claim_id}", subtitle=who))
    if s.fee_results:
        fees = Table(title=_t(lang, "费用明细", "Fee lines"))
        for col in (
            "feedetl_sn",
            "med_list_codg",
            "chrgitm_lv",
            "det_item_fee_sumamt",
            "fulamt_ownpay_amt",
            "overlmt_selfpay",
            "preselfpay_amt",
            "inscp_scp_amt",
        ):
            heads = {
                "feedetl_sn": _t(lang, "序号", "#"),
                "med_list_codg": _t(lang, "目录编码", "code"),
                "chrgitm_lv": _t(lang, "等级", "class"),
                "det_item_fee_sumamt": _t(lang, "金额", "amount"),
            }
            fees.add_column(
                heads.get(col) or field_label(col, lang),
                justify="right" if col.endswith("amt") or col.endswith("selfpay") else "left",
            )
        for f in s.fee_results:
            fees.add_row(
                f.feedetl_sn,
                f.med_list_codg + (" ★" if f.full_pay else ""),
                label(CHRGITM_LV, f.chrgitm_lv, lang),
                *(
                    fmt_yuan(v)
                    for v in (f.det_item_fee_sumamt, f.fulamt_ownpay_amt, f.overlmt_selfpay, f.preselfpay_amt, f.inscp_scp_amt)
                ),
            )
        console.print(fees)
    steps = Table(title=_t(lang, "计算过程", "How it was computed"), show_lines=False, expand=True)
    steps.add_column(_t(lang, "环节", "Step"), style="cyan", no_wrap=True)
    steps.add_column(_t(lang, "说明", "Detail"))
    last = None
    for tier, text in render(s.trace, lang):
        if last is not None and tier != last:
            steps.add_section()
        steps.add_row(tier if tier != last else "", text)
        last = tier
    console.print(steps)


@app.command()
def explain(
    claims: Annotated[Path, typer.Argument(help="结算单 CSV / claims CSV")],
    claim: Annotated[str, typer.Option("--claim", "-c", help="要解释的结算单号 / claim id")],
    policy: PolicyOpt,
    people: PeopleOpt,
    fee_lines: FeeOpt = None,
    lang: Lang = "zh",
) -> None:
    """逐步解释一笔结算：起付线、分段、比例、封顶线、结果 / show one claim's trace."""
    from yibao.interfaces.claim_csv import claim_person

    pack = _load(policy, lang)
    try:
        psn_no = claim_person(claims, claim)  # only this person's claims are read and settled, in date order
        if psn_no is None:
            raise InputError(claims.name, "claim_id", claim, "a claim id present in the file")
        persons, own = _read_inputs(people, claims, fee_lines, only=psn_no)
        target = next(c for c in own if c.claim_id == claim)
        settled = {s.claim_id: s for s in settle_file(pack, persons, own, claims.name)}
    except (InputError, InputErrors) as exc:
        raise _fail(exc, lang) from None
    explain_settlement(settled[claim], persons[target.psn_no], lang)


def _sample(name: str) -> Path:
    return Path(str(resources.files("yibao") / "data" / name))


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", "-o")] = Path("out/demo-settlements.csv"),
    lang: Lang = "zh",
) -> None:
    """用安徽淮北2022政策结算示例单据 / settle the bundled sample under the Anhui 2022 pack."""
    from yibao.interfaces.settlement_csv import write_settlements
    from yibao.policy.pack import load_pack

    pack = load_pack(DEFAULT_POLICY)  # the bundled sample is priced with the default pack
    persons, items = _read_inputs(_sample("sample_people.csv"), _sample("sample_claims.csv"), _sample("sample_fee_lines.csv"))
    settled = settle_file(pack, persons, items, "sample_claims.csv")
    write_settlements(out, settled, lang)
    console.print(_settlement_table(settled, persons, lang))
    biggest = max(settled, key=lambda s: s.medfee_sumamt)
    explain_settlement(biggest, persons[biggest.psn_no], lang)
    console.print(
        _t(
            lang,
            f"示例数据：{_sample('sample_claims.csv').parent}；结果已写入 {out}",
            f"Sample data: {_sample('sample_claims.csv').parent}; results written to {out}",
        ),
        markup=False,
    )
    again = (
        f"yibao explain {_sample('sample_claims.csv')} --claim {biggest.claim_id} -p {DEFAULT_POLICY} "
        f"--people {_sample('sample_people.csv')} --fee-lines {_sample('sample_fee_lines.csv')}"
    )
    said = _t(lang, f"逐步解释其中一笔：{again}", f"To explain one of them step by step: {again}")
    console.print(said, markup=False, soft_wrap=True)


def main() -> None:  # pragma: no cover - console entry
    os.environ.setdefault("PYTHONIOENCODING", "utf-8")
    app()


def _register() -> None:
    """Every sub-command, listed once (the modules import this one for ``app``, so they load here)."""
    from yibao.entrypoints.cli import (
        accounts,
        assistance,
        audit,
        backpay,
        batch,
        budget,
        capitation,
        conflicts,
        enrol,
        leaflet,
        monitor,
        partitions,
        people,
        policy,
        registry,
        report,
        slip,
        synth,
    )
    from yibao.entrypoints.cli.audit_cases import register as register_audit_cases
    from yibao.entrypoints.cli.audit_rules import register as register_audit_rules
    from yibao.entrypoints.cli.audit_run import register as register_audit_run
    from yibao.entrypoints.cli.personal_account import register as register_personal_account

    app.add_typer(policy.policy_app, name="policy")
    app.add_typer(people.person_app, name="person")
    app.add_typer(people.filing_app, name="filing")
    app.command("serve")(people.serve)
    app.command("verify")(people.verify)
    accounts.register(app)
    app.command("batch")(batch.batch)
    app.command("compare")(batch.compare_cmd)
    app.command("slip")(slip.slip)
    app.command("leaflet")(leaflet.leaflet)
    app.add_typer(assistance.assistance_app, name="assistance")
    app.add_typer(backpay.backpay_app, name="backpay")
    app.command("report")(report.report)
    app.add_typer(budget.budget_app, name="budget")
    app.add_typer(capitation.capitation_app, name="capitation")
    app.add_typer(registry.import_app, name="import")
    app.add_typer(conflicts.conflicts_app, name="conflicts")
    register_personal_account(people.filing_app, registry.import_app)
    enrol.register(app)
    monitor.register(app)
    partitions.register(app)
    app.command("synth")(synth.synth)
    app.add_typer(audit.audit_app, name="audit")
    register_audit_run(audit.audit_app)
    register_audit_rules(audit.audit_app)
    register_audit_cases(audit.audit_app)


_register()
