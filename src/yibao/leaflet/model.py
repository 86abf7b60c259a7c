"""The structured leaflet: questions with their answers, and worked examples that keep their inputs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from yibao.core.identities import ORDINARY, IdentityPeriod
from yibao.settlement.model import Claim, Person, Place, PolicyRangeSummary


@dataclass(frozen=True)
class Table:
    """A small table: its header cells and rows of cells (all text)."""

    head: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Answer:
    """One question and its answer: short paragraphs, an optional table, optional points."""

    key: str
    """What it is about: who, premium, inpatient, outpatient, critical_illness, assistance, filing, cross_region,
    contacts (and capitation when the pack has it)."""
    question: str
    paragraphs: tuple[str, ...] = ()
    table: Table | None = None
    points: tuple[str, ...] = ()


EXAMPLE_PSN = "LEAFLET"
"""The synthetic person every worked example settles for."""


@dataclass(frozen=True)
class ExampleInput:
    """What a worked example settles: a synthetic person of one identity and one bill, all in the policy range."""

    identity: str
    med_type: str
    hosp_lv: int
    place: Place
    medfee_sumamt: int
    """The bill in fen (all of it within the policy range)."""
    setl_date: date

    def person(self) -> Person:
        """A resident holding the identity since the year began (a 50-year-old: lines that go by age settle)."""
        start = date(self.setl_date.year, 1, 1)
        held = () if self.identity == ORDINARY else (IdentityPeriod(self.identity, start, None, "leaflet"),)
        return Person(EXAMPLE_PSN, "390", held, birth_date=date(self.setl_date.year - 50, 1, 1))

    def claim(self) -> Claim:
        return Claim(
            f"{EXAMPLE_PSN}-{self.identity}-{self.med_type}-{self.hosp_lv}-{self.medfee_sumamt}",
            EXAMPLE_PSN,
            self.setl_date,
            self.med_type,
            self.hosp_lv,
            self.place,
            summary=PolicyRangeSummary(self.medfee_sumamt),
        )


@dataclass(frozen=True)
class Payment:
    """One row of an example's bill: a national field (``hifp_pay`` …), its plain name, the amount in fen."""

    code: str
    label: str
    fen: int


@dataclass(frozen=True)
class Example:
    """A worked example: the story, the inputs it was settled from, who paid what, and the plain explanation."""

    number: int
    title: str
    inputs: ExampleInput
    identity_label: str
    payments: tuple[Payment, ...]
    """The bill, each payer that paid, and what the person pays, in that order."""
    explanation: tuple[str, ...]


@dataclass(frozen=True)
class Contact:
    label: str
    phone: str


@dataclass(frozen=True)
class Leaflet:
    pack_id: str
    title: str
    """The leaflet's heading: the region and, for one identity, who it is for."""
    subtitle: str
    day: date
    """The day whose policy it states (examples are settled on it)."""
    lang: str
    identity: str | None
    """One identity's leaflet, or ``None``: every identity the pack names."""
    identities: tuple[tuple[str, str], ...]
    """The identities it speaks of: (code, name)."""
    answers: tuple[Answer, ...]
    examples: tuple[Example, ...]
    contacts: tuple[Contact, ...]
    footnote: str
