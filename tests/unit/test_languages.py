"""Each word once, in one language: Chinese output holds no English word, English output no Chinese.

Every code table, every trace step, every error message, every workbook header and every page of the
window is said in both languages and each string's script is checked. Allowed in Chinese: codes and
identifiers (anything with a digit, ``_``, ``.``, ``-`` or ``:`` inside, such as ``hifp_pay``, ``P0001``,
``policy.lines``, ``--month``), the formats, units and national names in :data:`LATIN_OK`, codes in
backquotes in a message and inside ``<code>`` on a page. Allowed in either: the demo county's own names
(people, places, institutions, users), which are data.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator
from functools import cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "yibao"

CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]")
TOKEN = re.compile(r"[A-Za-z0-9_.\-/:\[\]]*[A-Za-z][A-Za-z0-9_.\-/:\[\]']*")
CODE = re.compile(r"`[^`]*`")
"""A code in a message, as messages write one: ```yibao synth```, ```pack```."""
LATIN_OK = frozenset(
    {
        *("ID", "PDF", "A4", "CSV", "csv", "Excel", "xlsx", "YAML", "JSON", "Parquet", "HIS", "GB", "URL", "yibao", "PNG"),
        *("SVG", "A", "B"),  # A and B: the two policies compared
        *("YYYY", "MM", "DD", "Qn", "HH", "mm", "ss", "yyyy", "dd", "X", "Q", "ms", "NUL", "zh", "en"),
        *("insutype", "certno", "infno", "msgid", "feedetail", "input", "detail"),  # national interface names
        "English",  # the language switch names the other language in its own words
    }
)
"""Formats, units and names of things that have no Chinese name of their own."""


def english_words(text: str) -> list[str]:
    """Latin words in ``text`` that are neither codes nor in :data:`LATIN_OK`."""
    words = []
    for token in TOKEN.findall(CODE.sub(" ", text)):
        token = token.rstrip(".:/-'").lstrip(":/'")
        if not token or re.search(r"[0-9_.\-/:\[]", token) or token in LATIN_OK:
            continue  # a code, an option (--month), a path or a listed word
        words.append(token)
    return words


def without(text: str, names: list[str]) -> str:
    for name in names:
        text = text.replace(name, "0")  # a code-like stand-in: a path with a user's name in it stays one code
    return text


def mixed(strings: Iterable[str], lang: str, data: Iterable[str] = ()) -> list[str]:
    """The strings that are not purely in ``lang`` (``data``: names shown as they are, taken out first)."""
    names = sorted((n for n in data if n), key=len, reverse=True)
    if lang == "zh":
        return [s for s in strings if english_words(without(s, names))]
    return [s for s in strings if CJK.search(without(s, names))]


def test_the_checks_can_fail() -> None:
    assert mixed(["无“chronic”病种备案，按“outpatient”结算"], "zh") == ["无“chronic”病种备案，按“outpatient”结算"]
    assert mixed(["应为：a date the pack covers"], "zh")
    assert mixed(["low-income and 脱贫 people"], "en")
    assert mixed(["field core 的值"], "zh") and mixed(["expected 日期"], "en")
    assert not mixed(["基本医保统筹支付 hifp_pay 1,234.56 元（A4，PDF）", "结算单 P0001 policy.lines.inpatient"], "zh")
    assert not mixed(["patient pays 1,234.56 yuan (杨桂芳)"], "en", ["杨桂芳"])


# ---------------------------------------------------------------------------------------------
# Pages of the window
# ---------------------------------------------------------------------------------------------


class _Texts(HTMLParser):
    """Each text of a page: text nodes and the attributes people read (title, placeholder, alt, aria-label).

    Left out: scripts, styles, codes (``<code>``), a chart's metadata, and what the page quotes verbatim from
    a file (``translate="no"``: a policy pack's sources and notes, written in the pack's own words).
    """

    SKIP = frozenset({"script", "style", "code", "kbd", "samp", "metadata"})
    VOID = frozenset({"br", "img", "input", "meta", "link", "hr", "wbr", "source", "col", "area", "base", "embed"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []
        self.skipping: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIP or (dict(attrs).get("translate") == "no" and tag not in self.VOID):
            self.skipping.append(tag)
        for name, value in attrs:
            if name in ("title", "placeholder", "alt", "aria-label") and value:
                self.texts.append(value)

    def handle_endtag(self, tag: str) -> None:
        if self.skipping and self.skipping[-1] == tag:
            self.skipping.pop()

    def handle_data(self, data: str) -> None:
        if not self.skipping and data.strip():
            self.texts.append(data.strip())


def page_texts(html: str) -> list[str]:
    parser = _Texts()
    parser.feed(html)
    return parser.texts


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    from tests.browser.conftest import DEMO_PERSONS

    from yibao.app.demo import ensure_demo
    from yibao.entrypoints.http import create_app
    from yibao.store.db import Database

    db = Database.open(f"sqlite:///{tmp_path_factory.mktemp('languages') / 'demo.db'}")
    ensure_demo(db, persons=DEMO_PERSONS)
    yield Demo(create_app(db), db)
    db.engine.dispose()


class Demo:
    """The demo county's window, and the county's own names (data, not words of the window)."""

    def __init__(self, app: Any, db: Any) -> None:
        import sqlalchemy as sa

        from yibao.store.service_tables import Account, Institution, LedgerEntry
        from yibao.store.tables import Person

        self.app, self.db = app, db
        with db.unit_of_work() as s:
            people = s.execute(sa.select(Person.psn_no, Person.psn_name, Person.county, Person.township, Person.village)).all()
            institutions = s.scalars(sa.select(Institution.fixmedins_name)).all()
            self.setl_id = s.scalar(sa.select(LedgerEntry.setl_id).where(LedgerEntry.kind == "settle").limit(1))
            self.psn_no = s.scalar(sa.select(LedgerEntry.psn_no).where(LedgerEntry.kind == "settle").limit(1))
            users = [n for row in s.execute(sa.select(Account.username, Account.display_name)) for n in row]
        self.names = {n for row in people for n in row[1:] if n} | {n for n in institutions if n} | {"中文"}
        """Names of people, townships, villages and institutions, and of the language switch: shown as they are."""
        self.names |= {*users, "demo"}  # user names ("demo" loaded the county)


def _client(demo: Demo, user: str, lang: str) -> Any:
    from tests.browser.test_access import signed_in

    client = signed_in(demo.app, user)
    client.get(f"/lang/{lang}", follow_redirects=False)
    return client


PAGES = {
    "admin": ("/", "/persons?q=1", "/persons/{psn_no}", "/settlements/{setl_id}", "/imports", "/policy",
              "/policy/compare", "/whatif", "/settlements/NOPE", "/counter", "/accounts", "/account/password", "/budget"),
    "clerk": ("/counter", "/counter?person={psn_no}", "/settlements/{setl_id}", "/persons/{psn_no}/assistance",
              "/persons/{psn_no}/assistance?on=2022-12-31", "/enrolment", "/enrolment?view=gaps",
              "/enrolment?view=ledger", "/enrolment?township=无此乡"),
    "monitor": ("/warnings", "/warnings/1", "/reports", "/reports?month=2022-06", "/audit/institutions",
                "/audit/institutions?month=2022-06&level=1", "/audit/institutions/H53090200001?year=2022"),
    "auditor": ("/suspects", "/suspects?status=open", "/suspects/1",
                "/audit/rules", "/audit/rules/GL004", "/audit/knowledge", "/reconcile", "/reconcile/detail",
                "/reconcile?fixmedins_code=H53090200001&begin=2022-06-01&end=2022-06-30&his_medfee_sumamt=1.00"
                "&his_fund_pay_sumamt=1.00&his_fixmedins_setl_cnt=1", "/reconcile/verify?run=1",
                "/reconcile/daily?begin=2022-06-01&end=2022-06-30"),
}  # fmt: skip
"""Every page of the window, by a role that may see it (``NOPE``: the not-found page; ``/counter`` for admin: refused)."""


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_page_in_one_language(demo: Demo, lang: str) -> None:
    problems = []
    for user, paths in PAGES.items():
        client = _client(demo, user, lang)
        for path in paths:
            url = path.format(setl_id=demo.setl_id, psn_no=demo.psn_no)
            r = client.get(url)
            assert r.status_code in (200, 403, 404), (url, r.status_code)
            bad = mixed(page_texts(r.text), lang, demo.names)
            problems += [f"{url}: {text}" for text in bad if f"{url}: {text}" not in problems]
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------------------------------------
# Code tables
# ---------------------------------------------------------------------------------------------


def _said_tables() -> dict[str, Any]:
    """Every table of (zh, en) words: the vocabulary's and the labels kept beside the code that uses them."""
    from yibao.app.auth import ROLES
    from yibao.core import vocab
    from yibao.entrypoints.web.render import NAV
    from yibao.policy import labels as policy_labels
    from yibao.reports import catalogue, cells
    from yibao.rules import visit_lifecycle
    from yibao.settlement import trace
    from yibao.whatif import report

    return {
        **{f"vocab.{name}": table for name, table in vocab.TABLES.items()},
        "identity_short": {c: (zh, vocab.IDENTITIES[c][1]) for c, zh in vocab.IDENTITY_SHORT.items()},
        "roles": ROLES,
        "nav": {item.path: (item.zh, item.en) for item in NAV},
        "trace.REASONS": trace.REASONS,
        **{f"report {r.name}": _report_words(r) for r in catalogue.CATALOGUE},
        "reports.SPECIAL_ROWS": cells.SPECIAL_ROWS,
        "whatif.COLUMNS": report.COLUMNS,
        "whatif.MEASURES": report.MEASURES,
        "whatif.TEXT": {k: (report.TEXT["zh"][k], report.TEXT["en"][k]) for k in report.TEXT["zh"]},
        "policy.labels.SECTIONS": policy_labels.SECTIONS,
        "policy.labels.KEYS": policy_labels.KEYS,
        "policy.labels.TERMS": policy_labels.TERMS,
        "visit steps": {k: (a.zh, a.en) for k, a in visit_lifecycle.ACTIONS.items()},
        "visit refusals": {k: (a.needs_zh, a.needs_en) for k, a in visit_lifecycle.ACTIONS.items()},
    }


def _report_words(report: Any) -> dict[str, Any]:
    """A report's title, note, column headers and row items."""
    words = {"title": report.title, "note": report.note}
    for c in report.columns:
        words[c.name] = (c.zh, c.en)
        words |= {f"{c.name}.{code}": said for code, said in c.words.items()}
    return words


def test_every_code_label_in_one_language() -> None:
    problems = []
    for name, table in _said_tables().items():
        for code, (zh, en) in table.items():
            problems += [f"{name}[{code}] zh: {zh}" for zh in mixed([zh], "zh")]
            problems += [f"{name}[{code}] en: {en}" for en in mixed([en], "en")]
    assert not problems, "\n".join(problems)


def test_one_wording_per_code() -> None:
    """The slip, the trace and the pages say a code the same way: the vocabulary's words."""
    from yibao.core import vocab
    from yibao.settlement.trace import _format_arg

    for lang in ("zh", "en"):
        for code, said in vocab.HOSP_LEVELS.items():
            assert _format_arg("level", int(code), lang) == said[lang == "en"]
        for code, said in vocab.RATIO_PLACES.items():
            assert _format_arg("place", code, lang) == said[lang == "en"]
        for code, said in vocab.IDENTITIES.items():
            assert _format_arg("identity", code, lang) == said[lang == "en"]


# ---------------------------------------------------------------------------------------------
# Traces: settle claims that take every step, in both languages
# ---------------------------------------------------------------------------------------------


def _a(value: Any) -> dict[str, Any]:
    return {"value": value, "assumed": "test"}


def _tilted_policy() -> Any:
    """A policy whose lines give the steps the shipped packs leave out: a deductible and a ratio an identity
    changes, yearly and per admission, a chronic line falling back without a filing, and listed drugs paid in full
    within a line's cap (the shipped Jiangjin pack pays them outside it)."""
    from yibao.policy.pack import pack_from_mapping

    tilt = {"tekun": {"deductible_pct": _a(50), "ratio_add": _a(10)}}
    lines = {
        "inpatient": {"label_zh": "普通住院", "label_en": "inpatient", "insutype": "390", "med_types": ["21"],
                      "deductible_kind": "admission", "deductible": _a(1000), "ratio": _a(60), "identity_overrides": tilt,
                      "person_terms": {"over_70": {"age_from": _a(70), "ratio_add": _a(5)},
                                       "tier_2": {"resident_tier": 2, "cap": _a(200000)}}},
        "chronic": {"label_zh": "门诊慢特病", "label_en": "chronic outpatient", "insutype": "390", "med_types": ["14"],
                    "requires_filing": True, "signed_only": True, "fallback": "outpatient", "ratio": _a(70)},
        "two_diseases": {"label_zh": "门诊“两病”用药", "label_en": "two-disease drugs", "insutype": "390",
                         "med_types": ["11"], "diseases": ["E11"], "ratio": _a(50), "full_pay_items": ["X001"]},
        "outpatient": {"label_zh": "普通门诊统筹", "label_en": "general outpatient pooling", "insutype": "390",
                       "med_types": ["11", "14"], "deductible_kind": "year", "deductible": _a(100), "ratio": _a(50),
                       "identity_overrides": tilt},
    }  # fmt: skip
    bands = _a([{"start": 0, "ratio": 50}])
    later = {  # the later tiers' steps: an in-catalogue base, a second critical-illness block, major-disease terms
        "critical_illness": {"lines": ["inpatient"], "deductible": _a(0), "band_basis": "gross", "bands": bands,
                             "base": "in_catalogue"},
        "large_amount": {"insutypes": ["310"], "lines": ["inpatient"], "deductible": _a(0), "band_basis": "gross",
                         "bands": bands},
        "assistance": {"lines": ["inpatient"], "major_diseases": ["I10"], "limit": _a(1000), "per_capita_income": _a(20000),
                       "categories": {"tekun": {"deductible_income_share": _a(10), "ratio": _a(50),
                                                "major": {"ratio": _a(80)}}}},
        "tilted_assistance": {"lines": ["inpatient"], "categories": ["tekun"], "threshold": _a(0), "ratio": _a(10),
                              "cap": _a(100)},
    }  # fmt: skip
    policy = {"identity_priority": ["tekun"], "fee": {"class_b_selfpay_first": _a(0)}, "lines": lines, **later}
    return pack_from_mapping({"pack": "t", "valid_from": "2022-01-01", "valid_to": "2022-12-31", "policy": policy}, "t.yaml")


def _items_places_policy() -> Any:
    """A line with the item-class and place rules (issue 15, features 5 and 9): 乙类 at its own ratio, a fixed
    share of an implant, and unfiled cross-region care with its own deductible and a self-pay-first share."""
    from yibao.policy.pack import pack_from_mapping

    inpatient = {
        "label_zh": "普通住院", "label_en": "inpatient", "insutype": "390", "med_types": ["21"],
        "deductible_kind": "admission", "deductible": _a(500), "deductible_by_place": _a({"cross_unfiled": 800}),
        "place_selfpay_first": _a({"cross_unfiled": 10}), "ratio": _a(60), "class_b_ratio": _a(50),
        "fixed_share_items": ["IMPL"], "fixed_share": _a(70),
    }  # fmt: skip
    policy = {"identity_priority": [], "fee": {"class_b_selfpay_first": _a(10)}, "lines": {"inpatient": inpatient}}
    return pack_from_mapping({"pack": "t", "valid_from": "2022-01-01", "valid_to": "2022-12-31", "policy": policy}, "t.yaml")


def _account_policy() -> Any:
    """Employee lines whose share the personal account pays (issue 15, feature 13): all of it, or in-catalogue."""
    from yibao.policy.pack import pack_from_mapping

    base = {"label_zh": "职工", "label_en": "employee", "insutype": "310", "ratio": _a(50)}
    lines = {
        "emp_inpatient": base | {"med_types": ["21"], "personal_account": "all"},
        "emp_opd": base | {"med_types": ["11"], "personal_account": "in_catalogue"},
        "emp_first": base | {"med_types": ["13"], "personal_account": "all", "account_first": True},
    }
    policy = {"identity_priority": [], "fee": {"class_b_selfpay_first": _a(10)}, "lines": lines}
    return pack_from_mapping({"pack": "t", "valid_from": "2022-01-01", "valid_to": "2022-12-31", "policy": policy}, "t.yaml")


def _periods_policy(feature_12: bool = False) -> Any:
    """Lines with the basic tier's periods and ceilings (issue 15, features 1 and 2): a deductible per claim,
    per month and off the payment, a quarterly cap, cost ceilings counted above the deductible and gross;
    ``feature_12``: the monthly deductible at the highest level attended, the inpatient one waived for I10,
    a combined cap for two filed diseases."""
    from yibao.policy.pack import pack_from_mapping

    tilt = {"tekun": {"deductible_pct": _a(50)}}
    base = {"insutype": "390", "ratio": _a(50), "identity_overrides": tilt}
    lines = {
        "inpatient": base | {"label_zh": "普通住院", "label_en": "inpatient", "med_types": ["21"], "deductible_kind": "claim",
                             "deductible": _a(100), "cost_ceiling": _a(1000)},
        "chronic": base | {"label_zh": "门诊慢特病", "label_en": "chronic outpatient", "med_types": ["14"],
                           "deductible_kind": "month", "deductible": _a(100), "cap": _a(100), "cap_period": "quarter",
                           "cost_ceiling": _a(1000), "cost_ceiling_basis": "gross"},
        "outpatient": base | {"label_zh": "普通门诊统筹", "label_en": "general outpatient pooling", "med_types": ["11"],
                              "deductible_kind": "year", "deductible": _a(100), "deductible_on": "payment"},
    }  # fmt: skip
    policy = {"identity_priority": ["tekun"], "fee": {"class_b_selfpay_first": _a(0)}, "lines": lines}
    if feature_12:
        lines["chronic"]["deductible_level"] = "highest"
        lines["inpatient"]["deductible_waived_for"] = ["I10"]
        policy["combined_caps"] = {"both": {"lines": ["chronic"], "diseases": ["I10", "E11"], "cap": _a(150)}}
    return pack_from_mapping({"pack": "t", "valid_from": "2022-01-01", "valid_to": "2022-12-31", "policy": policy}, "t.yaml")


def _settlements() -> Iterator[Any]:
    """Every shipped pack settling a synthetic county of its year, and the tilted policy's three claims."""
    from collections import defaultdict
    from dataclasses import replace
    from datetime import date

    from yibao import synth
    from yibao.core.errors import InputError
    from yibao.core.identities import IdentityPeriod
    from yibao.policy.pack import load_pack, shipped_packs
    from yibao.settlement.model import ChronicFiling, Claim, Person, PolicyRangeSummary, ResidentTierPeriod
    from yibao.settlement.settle import settle_sequence

    for name in shipped_packs():
        pack = load_pack(name)
        people, claims = synth.to_people_and_claims(synth.generate(400, pack.valid_from.year, 1))
        by_person = defaultdict(list)
        for c in claims:
            by_person[c.psn_no].append(c)
        for psn_no, own in by_person.items():
            try:
                yield from settle_sequence(pack, people[psn_no], own)
            except InputError:
                continue  # claims a pack has no line for; the others are settled
    day = date(2022, 5, 1)
    tiers = (ResidentTierPeriod(2, date(2022, 1, 1)),)  # and aged 72: the inpatient line's person terms
    held = (IdentityPeriod("tekun", date(2020, 1, 1)),)
    tekun = Person("T1", identities=held, birth_date=date(1950, 3, 1), resident_tiers=tiers)
    claims = [
        Claim(f"T{m}", "T1", day, m, 2, "in_county", "I10", summary=PolicyRangeSummary(500_000)) for m in ("21", "11", "14")
    ]
    yield from settle_sequence(_tilted_policy(), tekun, claims)
    filed = Person("T2", chronic_filings=(ChronicFiling("I10", date(2022, 1, 1)),), birth_date=date(1960, 1, 1))
    elsewhere = Claim("T2-14", "T2", day, "14", 2, "in_county", "I10", summary=PolicyRangeSummary(100_000), fixmedins_code="H9")
    yield from settle_sequence(_tilted_policy(), filed, [elsewhere])  # filed, but not at a signed institution
    ordinary = Person("T1")
    for who in (tekun, ordinary):
        yield from settle_sequence(_periods_policy(), who, [replace(c, claim_id=c.claim_id + "P") for c in claims])
    from yibao.settlement.model import ChronicFiling

    filed = replace(ordinary, chronic_filings=(ChronicFiling("I10", date(2022, 1, 1)), ChronicFiling("E11", date(2022, 1, 1))))
    yield from settle_sequence(_periods_policy(True), filed, [replace(c, claim_id=c.claim_id + "H") for c in claims])
    from yibao.settlement.model import AuditRefusal, FeeLine  # a line the audit refused at the counter

    lines = (FeeLine("1", "X001", 10_000, "01"), FeeLine("2", "X002", 5_000, "02"))
    refusal = AuditRefusal("2", "GL001", ("超限定性别", "restricted to the other gender"))
    refused = Claim("T9", "T1", day, "11", 2, "in_county", "I10", lines, audit_refused=(refusal,))
    listed = Claim("T8", "T1", day, "11", 2, "in_county", "E11", lines[:1])
    yield from settle_sequence(_tilted_policy(), tekun, [refused, listed])
    flagged = Claim("T11", "T1", day, "21", 2, "in_county", "J06", summary=PolicyRangeSummary(500_000), major_dise_flag=True)
    yield from settle_sequence(_tilted_policy(), tekun, [flagged])  # 重特大疾病 by the claim's flag
    items = (FeeLine("1", "A1", 100_000, "01"), FeeLine("2", "B1", 50_000, "02"), FeeLine("3", "IMPL", 200_000, "02"))
    unfiled = Claim("T10", "T2", day, "21", 2, "cross_region", "", items)  # an implant, cross-region without a filing
    yield from settle_sequence(_items_places_policy(), Person("T2"), [unfiled])
    employee = Person("E1", "310", emp_status="in_service", acct_balance=30_000)
    acct_claims = [Claim(f"E{m}", "E1", day, m, 2, summary=PolicyRangeSummary(100_000, 20_000)) for m in ("21", "11", "13")]
    yield from settle_sequence(_account_policy(), employee, acct_claims)
    from types import SimpleNamespace

    from yibao.policy.overlay import apply_overlay, overlay_from_mapping
    from yibao.settlement.application import assist_on_application

    on_application = {"categories": ["tekun"], "window_months": _a(12), "deductible": _a(0), "ratio": _a(50), "limit": _a(1)}
    changes = {"assistance.on_application": on_application}
    applying = apply_overlay(_tilted_policy(), overlay_from_mapping({"overlay": "a", "changes": changes}, "a"))
    bills = list(settle_sequence(applying, tekun, claims))
    zibo = load_pack("shandong-zibo-2020")  # 门诊统筹人头定额: by head within the limit, item by item above it
    poor = Person("Z1", identities=(IdentityPeriod("pinkun", date(2019, 1, 1)),), township="南定镇")
    for who in (poor, Person("Z2", township="南定镇")):
        visits = [
            Claim(
                f"{who.psn_no}-{n}", who.psn_no, date(2020, 3, n), "11", 1, summary=PolicyRangeSummary(30_000), township="南定镇"
            )
            for n in (1, 2, 3)
        ]
        yield from settle_sequence(zibo, who, visits)
    yield SimpleNamespace(claim_id="application", trace=assist_on_application(applying.at(day), tekun, bills, day).trace)


def test_every_trace_step_in_one_language() -> None:
    from yibao.settlement.trace import MESSAGES, _variant, render

    seen: set[str] = set()
    problems = []
    for s in _settlements():
        seen |= {_variant(step) for step in s.trace}
        for lang in ("zh", "en"):
            for tier, text in render(s.trace, lang):
                problems += [f"{s.claim_id} {lang}: {x}" for x in mixed([tier, text], lang) if x not in problems]
    assert seen == set(MESSAGES), f"steps no claim took: {sorted(set(MESSAGES) - seen)}"
    assert not problems, "\n".join(problems[:50])


# ---------------------------------------------------------------------------------------------
# Error messages: every InputError the code raises, rendered in both languages
# ---------------------------------------------------------------------------------------------

SAMPLE = "2022"
"""What fills a hole of a message (a year, a count, an id: the words around it are what is checked)."""

QUOTED = frozenset(
    {
        "exactly one of `source: <seed file or public document>` or `assumed: <reason>`",
        "`from` dates rising strictly",
        "{} (values in force on {})",
    }
)
"""What a policy pack file's values must be: quoted from the pack's English schema for its author, in both
languages (tests/unit/test_pack_loading.py asserts those words in the Chinese message too)."""

COMPUTED = {
    "' / '.join(ROLES)": "the role codes an account may take",
    "' / '.join(allowed)": "the codes a CSV column takes",
    "c.reason": "a bad cell's reason, written in both languages by the row validator (reason / reason_en)",
    "expected": "a parameter: the claims CSV's column formats (checked below)",
    "expected + (f' ({detail})' if detail else '')": "a claims CSV column's format and what was wrong with it (checked below)",
    "str(e['msg'])": "FastAPI's words for a request field (checked below)",
    "str(err['msg'])": "FastAPI's words for a form field (checked below)",
    "str(exc)": "a resident ID number's check (core/idcard.py, checked below)",
    "a.needs_en.format(status=status or 'none')": "a visit step's refusal, in both languages (visit_lifecycle.ACTIONS)",
    "refused.en": "a worked case's check, written in both languages (policy/cases.py Refused.zh / Refused.en)",
    "str(err['msg']).removeprefix('Value error, ')": "a worked case file's schema: quoted for its author, as a pack's",
    "'an amount in yuan >= 0' if col.kind == 'fen' else 'a count >= 0'": "a knowledge cell's amount or count (both below)",
    "'at most 2 decimals (fen)' if col.kind == 'fen' else 'at most 3 decimals'": "a knowledge cell's decimals (both below)",
}
"""Expectations the code computes rather than writes, and where their words are checked."""


def _sample(node: ast.expr | None) -> str | None:
    """A string expression with its holes filled by :data:`SAMPLE`; ``None`` if it is not written out."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(str(v.value) if isinstance(v, ast.Constant) else SAMPLE for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _sample(node.left), _sample(node.right)
        return None if left is None and right is None else (left or SAMPLE) + (right or SAMPLE)
    return None


def _template(node: ast.expr) -> str:
    text = _sample(node)
    return ast.unparse(node) if text is None else re.sub(re.escape(SAMPLE), "{}", text)


@cache
def _modules() -> tuple[tuple[str, ast.Module, dict[str, ast.expr], dict[str, list[ast.Call]]], ...]:
    """Each source file parsed and walked once: (its path under ``src/yibao``, its tree, the strings its names are
    assigned, its calls by the called name)."""
    out = []
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        assigned: dict[str, ast.expr] = {}
        calls: dict[str, list[ast.Call]] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and _sample(node.value) is not None:
                assigned.update((t.id, node.value) for t in node.targets if isinstance(t, ast.Name))
            elif isinstance(node, ast.Call):
                f = node.func
                called = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
                calls.setdefault(called, []).append(node)
        out.append((str(path.relative_to(SRC)), tree, assigned, calls))
    return tuple(out)


@cache
def _calls(name: str) -> tuple[tuple[str, ast.Call], ...]:
    """Every call of ``name``; an argument naming a variable is replaced by the string last assigned to it."""
    found = []
    for path, _tree, assigned, calls in _modules():
        for node in calls.get(name, []):
            node.args = [assigned.get(a.id, a) if isinstance(a, ast.Name) else a for a in node.args]
            for k in node.keywords:
                k.value = assigned.get(k.value.id, k.value) if isinstance(k.value, ast.Name) else k.value
            found.append((f"{path}:{node.lineno}", node))
    return tuple(found)


def _places() -> set[str]:
    """Every ``where`` the code writes: in the raise, or in a ``where`` variable or parameter."""
    out: set[str] = set()
    for _path, tree, _assigned, _calls_by_name in _modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id in ("where", "WHERE") for t in node.targets):
                out.add(_sample(node.value) or "")
            if isinstance(node, ast.arguments):
                named = [*node.posonlyargs, *node.args][-len(node.defaults) :] if node.defaults else []
                out |= {_sample(d) or "" for a, d in zip(named, node.defaults, strict=True) if a.arg == "where"}
    for _, call in [*_calls("InputError"), *_calls("NotFound")]:
        out.add(_sample(call.args[0] if call.args else None) or "")
    return out - {""}


def _errors() -> Iterator[tuple[str, Any]]:
    from yibao.core.errors import InputError

    for site, call in [*_calls("InputError"), *_calls("NotFound")]:
        if len(call.args) < 4:
            continue
        expected = call.args[3]
        if _template(expected) in QUOTED:
            continue
        text = _sample(expected)
        if text is None:
            assert ast.unparse(expected) in COMPUTED, f"{site}: {ast.unparse(expected)}: say where its words are checked"
            continue
        extra = {k.arg: _sample(k.value) or "" for k in call.keywords if k.arg in ("expected_zh", "expected_en")}
        extra |= dict(zip(("expected_zh", "expected_en"), (_sample(a) or "" for a in call.args[4:6]), strict=False))
        yield site, InputError("claim 2022", "psn_no", SAMPLE, text, **extra)


def _computed_expectations() -> Iterator[tuple[str, str]]:
    """The words the code passes into expectations: core checks' ValueErrors, column formats, FastAPI's words."""
    for module in ("core/idcard.py", "core/money.py", "interfaces/claim_csv.py", "core/identities.py"):
        for site, call in _calls("ValueError"):
            text = _sample(call.args[0]) if call.args else None
            if site.startswith(module) and text is not None and "needs" not in text:  # "needs": a programming error
                yield site, text
    for site, call in _calls("parse"):
        if site.startswith("interfaces/claim_csv.py") and len(call.args) >= 3 and (text := _sample(call.args[2])):
            yield site, text
            yield site, f"{text} (expected an amount in yuan, got '1.234')"
    for message in (
        "Field required", "Input should be a valid integer, unable to parse string as an integer",
        "String should have at most 64 characters", "Input should be greater than or equal to 0",
        "Input should be 'zh' or 'en'", "Input should be a valid date or datetime, input is too short",
        "Extra inputs are not permitted", "Input should be a valid number, unable to parse string as a number",
    ):  # fmt: skip
        yield "FastAPI", message
    for text in ("an amount in yuan >= 0", "a count >= 0", "at most 2 decimals (fen)", "at most 3 decimals"):
        yield "audit/knowledge.py", text  # a knowledge cell's checks (COMPUTED)


def test_every_error_message_in_one_language() -> None:
    from yibao.core.errors import expected_in, where_in

    problems = []
    checked = 0
    for site, error in _errors():
        checked += 1
        problems += [f"{site} zh: {m}" for m in mixed([error.render("zh")], "zh")]
        problems += [f"{site} en: {m}" for m in mixed([error.render("en")], "en")]
    for site, text in _computed_expectations():
        problems += [f"{site} zh: {m}" for m in mixed([expected_in(text, "zh")], "zh")]
        problems += [f"{site} en: {m}" for m in mixed([expected_in(text, "en")], "en")]
    for where in _places():
        problems += [f"where zh: {m}" for m in mixed([where_in(where, "zh")], "zh")]
        problems += [f"where en: {m}" for m in mixed([where_in(where, "en")], "en")]
    assert checked > 150, checked
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------------------------------------
# Workbooks: the report workbook, the push list, the enrolment workbooks and an import's error list
# ---------------------------------------------------------------------------------------------


def workbook_texts(data: bytes | Path, sheets: Iterable[str] | None = None) -> list[str]:
    """Sheet names and every text cell (and cell comment) of a workbook."""
    import io

    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(data) if isinstance(data, bytes) else data)
    texts = []
    for ws in wb.worksheets:
        if sheets is not None and ws.title not in sheets:
            continue
        texts.append(ws.title)
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and cell.value.strip():
                    texts.append(cell.value)
                if cell.comment is not None:
                    texts.append(cell.comment.text)
    return texts


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_workbook_in_one_language(demo: Demo, lang: str, tmp_path: Path) -> None:
    from yibao.app.coverage import coverage, find_duplicates, gap_list, subsidy_budget
    from yibao.app.enrolment_workbook import write_coverage_workbook, write_gap_workbook
    from yibao.app.imports import ImportRefused, import_identities

    pack = demo.app.state.pack
    monitor = _client(demo, "monitor", lang)
    books: dict[str, list[str]] = {}
    for name, url in (
        ("report workbook", "/reports/workbook?month=2022-06"),
        ("push list", "/warnings/export.xlsx"),
        ("coverage by place", "/enrolment/coverage.xlsx?year=2022"),
        ("not enrolled", "/enrolment/gaps.xlsx?year=2022"),
        ("special-status ledger", "/enrolment/ledger.xlsx?year=2022"),
    ):
        r = monitor.get(url)
        assert r.status_code == 200 and r.content[:2] == b"PK", (url, r.status_code)
        books[name] = workbook_texts(r.content)
    budget, duplicates = subsidy_budget(demo.db, 2022, pack), find_duplicates(demo.db, 2022)
    write_coverage_workbook(tmp_path / "coverage.xlsx", coverage(demo.db, 2022), budget, duplicates, lang)
    books["coverage"] = workbook_texts(tmp_path / "coverage.xlsx")
    write_gap_workbook(tmp_path / "gaps.xlsx", gap_list(demo.db, 2022, pack=pack), lang)
    books["gap list"] = workbook_texts(tmp_path / "gaps.xlsx")
    if lang == "zh":  # the error list goes back to the bureau with its own (Chinese) workbook
        from yibao.interfaces.workbooks.identity_files import ERROR_SHEET

        bad = tmp_path / "minzheng-bad.xlsx"
        bad.write_bytes((Path(__file__).resolve().parents[2] / "examples" / "workbooks" / bad.name).read_bytes())
        try:
            report = import_identities(demo.db, bad, "民政", skip_bad=True, dry_run=True, out_dir=tmp_path)
            rejects = Path(report.rejects_file or "")
        except ImportRefused as refused:
            rejects = Path(refused.error_file or "")
        books["import errors"] = workbook_texts(rejects, sheets={ERROR_SHEET})
    evidence = _special_status_evidence(demo)  # recorded as the bureau wrote it: data, not the workbook's words
    problems = [f"{name}: {text}" for name, texts in books.items() for text in mixed(texts, lang, demo.names | evidence)]
    assert all(books.values()), [name for name, texts in books.items() if not texts]
    assert not problems, "\n".join(dict.fromkeys(problems))


def _special_status_evidence(demo: Demo) -> set[str]:
    import sqlalchemy as sa

    from yibao.store.tables import Enrolment

    with demo.db.reading() as s:
        return {str(e) for e in s.scalars(sa.select(Enrolment.evidence).where(Enrolment.evidence.is_not(None)))}


FORMS = {
    "a preview with its trace": {"medfee_sumamt": "8000"},
    "a bill refused field by field": {"medfee_sumamt": "-1", "setl_date": "2022-13-01", "fl0_amt": "10"},
    "a bill the policy refuses": {"medfee_sumamt": "8000", "med_type": "99"},
}
"""Counter forms a clerk sends: the answer is a page with a trace, or with what each field should be."""


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_counter_answers_in_one_language(demo: Demo, lang: str) -> None:
    from tests.browser.test_access import BILL, assisted, csrf_of

    clerk = _client(demo, "clerk", lang)
    token = csrf_of(clerk.get("/").text)
    problems = []
    for what, changes in FORMS.items():
        r = clerk.post("/counter/preview", data=BILL | {"person": assisted(demo.app), "csrf": token} | changes)
        assert r.status_code in (200, 422), (what, r.status_code)
        problems += [f"{what}: {text}" for text in mixed(page_texts(r.text), lang, demo.names)]
    assert not problems, "\n".join(dict.fromkeys(problems))
