"""Random audit inputs for the differential test: people, claims with fee lines, knowledge and a pack.

Everything is drawn from small universes so that rules actually meet: a few people, three
institutions of different levels, admissions and outpatient visits and pharmacy purchases that
overlap and share days over about two months, fee lines from a handful of items (one never in any
table), knowledge rows for every table of :data:`yibao.audit.knowledge.TABLES` (generated from
the column kinds, so a table added later is covered too) and a pack enabling every rule type that
has both a scalar and a columnar form, with random attributes and parameters.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from yibao.audit.columnar import COLUMNAR
from yibao.audit.knowledge import ITEM_KINDS, TABLES, WINDOWS, Column
from yibao.audit.model import MILLI, AuditClaim, AuditLine, PersonFacts
from yibao.audit.pack import AuditPack
from yibao.audit.scalar import SCALAR
from yibao.audit.types import RULE_TYPES
from yibao.core import vocab

from .util import pack, rule

BASE = date(2022, 1, 20)
ITEMS = ("A01", "A02", "B01", "B02", "C01", "Z99")
"""Z99 is never in a table."""
TABLE_ITEMS = ITEMS[:-1]
INSTITUTIONS = {"H1": 1, "H2": 2, "H3": 3}
MED_TYPES = ("11", "14", "21", "21", "41")
DISEASES = ("", "I10.x01", "I10.x02", "I11.9", "J18.9", "E11.9")
DISE_PREFIXES = ("I10", "I1", "J18", "E11")
SCENARIOS = ("inpatient", "outpatient", "pharmacy")
INSUTYPES = ("390", "310")

KEYS: dict[str, tuple[str, ...]] = {
    "frequency_limits": ("med_list_codg", "window"),
    "duplicate_pairs": ("main_codg", "sub_codg"),
    "bundles": ("bundle_codg", "part_codg"),
    "indications": ("med_list_codg", "dise_prefix"),
}
"""Each table's key (rows with the same key would contradict each other); otherwise its first column,
or every column for a table that may hold several rows per item (``requirements``)."""
ALL_COLUMNS = frozenset({"requirements"})


@dataclass(frozen=True)
class Case:
    pack: AuditPack
    claims: tuple[AuditClaim, ...]
    """In ``seq`` order."""
    people: tuple[PersonFacts, ...]


def _units(thousandths: int) -> str:
    return str(Decimal(thousandths) / MILLI)


def _cell(col: Column) -> st.SearchStrategy[Any]:
    """A raw cell (as a pack or workbook gives it) for ``col``, by its kind and name."""
    name = col.name
    cell: st.SearchStrategy[Any]
    if col.kind == "code":
        cell = st.sampled_from(DISE_PREFIXES) if "dise" in name else st.sampled_from(TABLE_ITEMS)
    elif col.kind == "text":
        cell = st.sampled_from(("甲", "乙"))
    elif col.kind == "kind":
        cell = st.sampled_from(ITEM_KINDS)
    elif col.kind == "fen":
        cell = st.integers(0, 1500).map(lambda fen: str(Decimal(fen) / 100))
    elif col.kind == "count":
        cell = st.sampled_from((0, 500, 1000, 1500, 2000, 3000, 5000)).map(_units)
    elif col.kind == "int":
        cell = st.integers(1, 3) if "hosp_lv" in name else st.integers(0, 6) if "days" in name else st.integers(0, 90)
    elif col.kind == "codes":
        pool = INSUTYPES if "insutype" in name else ("11", "14", "21", "41")
        cell = st.lists(st.sampled_from(pool), min_size=1, max_size=2, unique=True).map(",".join)
    elif col.kind == "gend":
        cell = st.sampled_from(tuple(vocab.GENDERS))
    elif col.kind == "window":
        cell = st.sampled_from(WINDOWS)
    else:  # pragma: no cover - a new column kind: fail loudly so the generator is taught it
        raise AssertionError(f"gen: no strategy for column kind {col.kind!r}")
    return cell if col.required else st.none() | cell


@st.composite
def knowledge(draw: st.DrawFn) -> dict[str, list[dict[str, Any]]]:
    """Rows for every knowledge table, no two rows of a table with the same key."""
    out: dict[str, list[dict[str, Any]]] = {}
    for name, table in TABLES.items():
        cols = [c.name for c in table.columns]
        key = cols if name in ALL_COLUMNS else KEYS.get(name, (cols[0],))
        row = st.fixed_dictionaries({c.name: _cell(c) for c in table.columns})
        out[name] = draw(st.lists(row, max_size=5, unique_by=lambda r, k=tuple(key): tuple(r[c] for c in k)))  # type: ignore[misc]
    return out


def both_forms() -> list[str]:
    """The rule types with a scalar and a columnar form that can run at settlement (stage ``during``)."""
    return sorted(t for t in SCALAR.keys() & COLUMNAR.keys() if "during" in RULE_TYPES[t].stages)


@st.composite
def _rule(draw: st.DrawFn, n: int, rtype: str) -> dict[str, Any]:
    params = {
        name: {"value": draw(st.integers(0, max(4, 2 * default))), "assumed": "generated"}
        for name, default in RULE_TYPES[rtype].params.items()
        if isinstance(default, int) and not isinstance(default, bool)
    }
    extra: dict[str, Any] = {}
    if draw(st.booleans()):
        extra["insutypes"] = draw(st.lists(st.sampled_from(INSUTYPES), min_size=1, max_size=2, unique=True))
    if draw(st.booleans()):
        extra["hosp_lvs"] = draw(st.lists(st.sampled_from((1, 2, 3)), min_size=1, max_size=3, unique=True))
    return rule(
        f"R{n:02d}",
        rtype,
        family=draw(st.sampled_from(tuple(vocab.AUDIT_FAMILIES))),
        result=draw(st.sampled_from(("violation", "suspicious"))),
        window=draw(st.sampled_from(tuple(vocab.AUDIT_WINDOWS))),
        scenarios=draw(st.lists(st.sampled_from(SCENARIOS), min_size=1, max_size=3, unique=True)),
        stages=["during", *(s for s in RULE_TYPES[rtype].stages if s != "during" and draw(st.booleans()))],
        params=params,
        **extra,
    )


@st.composite
def audit_pack(draw: st.DrawFn) -> AuditPack:
    rules = [draw(_rule(n, t)) for n, t in enumerate(both_forms(), start=1)]
    ceilings = draw(st.dictionaries(st.sampled_from(TABLE_ITEMS), st.integers(0, 1200), max_size=3))
    return pack(rules, draw(knowledge()), price_ceilings=ceilings)


@st.composite
def people(draw: st.DrawFn) -> tuple[PersonFacts, ...]:
    n = draw(st.integers(1, 3))
    return tuple(
        PersonFacts(
            f"P{i}",
            draw(st.sampled_from(tuple(vocab.GENDERS))),
            date(draw(st.integers(1930, 2021)), draw(st.integers(1, 12)), draw(st.integers(1, 28))),
            draw(st.none() | st.integers(0, 60).map(lambda d: BASE + timedelta(days=d))),
        )
        for i in range(1, n + 1)
    )


@st.composite
def _line(draw: st.DrawFn, sn: str, beg: date, length: int) -> AuditLine:
    day = beg + timedelta(
        days=draw(st.integers(-1, length + 1)) if draw(st.integers(0, 9)) == 0 else draw(st.integers(0, length))
    )
    cnt = draw(st.sampled_from((500, 1000, 1000, 2000, 3000)))
    pric = draw(st.sampled_from((50, 100, 200, 1000)))
    return AuditLine(sn, draw(st.sampled_from(ITEMS)), day, cnt, pric, cnt * pric // MILLI)


@st.composite
def _claim(draw: st.DrawFn, n: int, persons: tuple[PersonFacts, ...]) -> tuple[date, AuditClaim]:
    """Claim ``C<n>`` with ``seq`` 0 (numbered later, in settlement order) and its settlement day."""
    med_type = draw(st.sampled_from(MED_TYPES))
    beg = BASE + timedelta(days=draw(st.integers(0, 45)))
    length = draw(st.integers(0, 12)) if med_type == "21" else 0
    inst = draw(st.sampled_from(tuple(INSTITUTIONS)))
    cid = f"C{n:02d}"
    lines = tuple(draw(_line(f"{cid}-{i}", beg, length)) for i in range(draw(st.integers(0, 4))))
    end = beg + timedelta(days=length)
    setl = end + timedelta(days=draw(st.integers(0, 3)))
    c = AuditClaim(
        cid, 0, draw(st.sampled_from(persons)).psn_no, inst, INSTITUTIONS[inst], draw(st.sampled_from(INSUTYPES)), med_type,
        beg, end, setl, draw(st.sampled_from(DISEASES)), lines,
    )  # fmt: skip
    return setl, c


@st.composite
def cases(draw: st.DrawFn) -> Case:
    """A pack, claims numbered 1, 2, … in settlement order (ties in random order), and their people."""
    persons = draw(people())
    drawn = [draw(_claim(n, persons)) for n in range(1, draw(st.integers(1, 14)) + 1)]
    ties = draw(st.permutations(range(len(drawn))))
    order = sorted(range(len(drawn)), key=lambda i: (drawn[i][0], ties[i]))
    claims = tuple(
        AuditClaim(**{**{k: getattr(drawn[i][1], k) for k in AuditClaim.__dataclass_fields__}, "seq": s})
        for s, i in enumerate(order, start=1)
    )
    return Case(draw(audit_pack()), claims, persons)
