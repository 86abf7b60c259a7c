"""Database tables (SQLAlchemy 2). Amounts are integer fen; every write records who and when.

Identities are never overwritten: a change ends the old row (``valid_to`` plus who ended it,
when, and by which import) and starts a new one, so "what was this person on date D?" always
has an answer.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import BigInteger, Date, DateTime, Dialect, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


class Base(DeclarativeBase):
    pass


class UtcDateTime(TypeDecorator[datetime]):
    """A recorded moment (``TIMESTAMP WITH TIME ZONE``), always read back as an aware UTC time.

    SQLite gives stored times back without their zone and PostgreSQL in the session's zone; through this type both
    answer ``2022-06-20T03:20:00+00:00``, so every API time carries its offset on either database. Every recorded
    time of the tables uses it (a test checks that no bare ``DateTime`` column is left)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        moment: datetime = value
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class Person(Base):
    __tablename__ = "person"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    psn_no: Mapped[str] = mapped_column(String(32), unique=True)
    certno: Mapped[str] = mapped_column(String(18), unique=True)
    psn_name: Mapped[str] = mapped_column(String(64))
    gend: Mapped[str] = mapped_column(String(1))
    brdy: Mapped[date] = mapped_column(Date)
    hh_no: Mapped[str | None] = mapped_column(String(32))
    county: Mapped[str | None] = mapped_column(String(64))
    township: Mapped[str | None] = mapped_column(String(64))
    village: Mapped[str | None] = mapped_column(String(64))
    insutype: Mapped[str] = mapped_column(String(3), default="390")
    psn_type: Mapped[str | None] = mapped_column(String(8))
    emp_status: Mapped[str | None] = mapped_column(String(16))
    emp_tier: Mapped[str | None] = mapped_column(String(16))
    death_date: Mapped[date | None] = mapped_column(Date)
    """The day of death when the registry recorded it (audit rule 死亡后就医)."""
    merged_into: Mapped[int | None] = mapped_column(Integer)
    """Set when a reviewed 同人异号 pair was merged and this record absorbed (migration 0307): the surviving
    person's id (no foreign key: SQLite cannot add one to ``person`` in place). The record stays (its ID number
    still finds the survivor in later imports); it holds nothing."""
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())
    recorded_by: Mapped[str] = mapped_column(String(64))

    identities: Mapped[list[Identity]] = relationship(back_populates="person", order_by="Identity.valid_from")

    __table_args__ = (Index("ix_person_name_brdy_village", "psn_name", "brdy", "village"), Index("ix_person_hh_no", "hh_no"))


class ImportBatch(Base):
    """One import of a bureau's file: what came in, what it changed, who ran it."""

    __tablename__ = "import_batch"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    source_bureau: Mapped[str] = mapped_column(String(32))
    file_name: Mapped[str] = mapped_column(String(255))
    file_sha256: Mapped[str] = mapped_column(String(64), index=True)
    rows_total: Mapped[int] = mapped_column(Integer)
    rows_rejected: Mapped[int] = mapped_column(Integer, default=0)
    report: Mapped[str] = mapped_column(Text)
    """The change report as JSON."""
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())
    recorded_by: Mapped[str] = mapped_column(String(64))


class Identity(Base):
    __tablename__ = "identity"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    category: Mapped[str] = mapped_column(String(32))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    source_bureau: Mapped[str] = mapped_column(String(32))
    source_file: Mapped[str | None] = mapped_column(String(255))
    source_row: Mapped[int | None] = mapped_column(Integer)
    import_id: Mapped[int | None] = mapped_column(ForeignKey("import_batch.id"))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())
    recorded_by: Mapped[str] = mapped_column(String(64))
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    ended_by: Mapped[str | None] = mapped_column(String(64))
    ended_import_id: Mapped[int | None] = mapped_column(ForeignKey("import_batch.id"))

    person: Mapped[Person] = relationship(back_populates="identities")


class Conflict(Base):
    """Records that look like one person under different ID numbers: flagged for review, not merged."""

    __tablename__ = "conflict"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    import_id: Mapped[int | None] = mapped_column(ForeignKey("import_batch.id"))
    kind: Mapped[str] = mapped_column(String(32))
    certno: Mapped[str] = mapped_column(String(18))
    other_certno: Mapped[str] = mapped_column(String(18))
    psn_name: Mapped[str] = mapped_column(String(64))
    brdy: Mapped[date] = mapped_column(Date)
    village: Mapped[str | None] = mapped_column(String(64))
    source_file: Mapped[str | None] = mapped_column(String(255))
    source_row: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="open")
    """open, kept (reviewed: two people) or merged; each decision is a :class:`ConflictDecision`."""
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())
    recorded_by: Mapped[str] = mapped_column(String(64))

    __table_args__ = (UniqueConstraint("kind", "certno", "other_certno", name="uq_conflict_pair"),)


class ConflictDecision(Base):
    """A review decision on a :class:`Conflict` (migration 0307): kept apart, merged, or an earlier decision undone.
    Rows are never changed: the conflict's history is its decisions in order."""

    __tablename__ = "conflict_decision"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conflict_id: Mapped[int] = mapped_column(ForeignKey("conflict.id"), index=True)
    action: Mapped[str] = mapped_column(String(16))
    """keep / merge / undo."""
    survivor_certno: Mapped[str | None] = mapped_column(String(18))
    absorbed_certno: Mapped[str | None] = mapped_column(String(18))
    moved: Mapped[str] = mapped_column(Text, default="{}")
    """For a merge: the rows moved from the absorbed person to the survivor, JSON ``{table: [ids]}``."""
    reason: Mapped[str] = mapped_column(String(255))
    decided_at: Mapped[datetime] = mapped_column(UtcDateTime())
    decided_by: Mapped[str] = mapped_column(String(64))


class ImportChange(Base):
    """One named line of an import's change report (migration 0307): a person added, a person's place filled in, an
    identity added, ended or changed (``before`` → ``after``), a look-alike flagged."""

    __tablename__ = "import_change"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("import_batch.id"), index=True)
    change: Mapped[str] = mapped_column(String(16))
    """person_added / person_updated / added / ended / changed / conflict."""
    certno: Mapped[str] = mapped_column(String(18))
    psn_name: Mapped[str] = mapped_column(String(64))
    category: Mapped[str | None] = mapped_column(String(32))
    before: Mapped[str | None] = mapped_column(String(255))
    after: Mapped[str | None] = mapped_column(String(255))
    source_row: Mapped[int | None] = mapped_column(Integer)


class ChronicFiling(Base):
    """门诊慢特病备案: in force at once from ``begin``."""

    __tablename__ = "chronic_filing"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    dise_codg: Mapped[str] = mapped_column(String(32))
    dise_name: Mapped[str | None] = mapped_column(String(128))
    fixmedins_code: Mapped[str | None] = mapped_column(String(32))
    """The institution whose qualified doctor diagnosed it."""
    doctor: Mapped[str | None] = mapped_column(String(64))
    begin: Mapped[date] = mapped_column(Date)
    end: Mapped[date | None] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(16), default="", server_default="")
    """The pack's list the disease stands in (migration 0305): ``chronic`` 门诊慢性病, ``special`` 门诊特殊病, ``""``
    filed before the lists."""
    backdate_reason: Mapped[str | None] = mapped_column(String(255))
    """Why ``begin`` is before the day it was filed (required then; migration 0305)."""
    signed_changed_on: Mapped[date | None] = mapped_column(Date)
    """The day the signed institutions were last changed (changeable once a month, seed 004; migration 0305)."""
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())
    recorded_by: Mapped[str] = mapped_column(String(64))


class ScreeningRecord(Base):
    """病情信息表 (seed 004): a person examined in the chronic-disease screening who does not qualify for a filing,
    as the medical professional wrote it; kept with the household (migration 0305)."""

    __tablename__ = "screening_record"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    hh_no: Mapped[str | None] = mapped_column(String(32), index=True)
    """The person's household when examined."""
    dise_codg: Mapped[str | None] = mapped_column(String(32))
    dise_name: Mapped[str | None] = mapped_column(String(128))
    condition: Mapped[str] = mapped_column(String(500))
    """病情: what was found and why it does not meet the filing conditions."""
    fixmedins_code: Mapped[str] = mapped_column(String(32))
    doctor: Mapped[str] = mapped_column(String(64))
    examined_on: Mapped[date] = mapped_column(Date)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())
    recorded_by: Mapped[str] = mapped_column(String(64))


class CrossFiling(Base):
    """异地就医备案."""

    __tablename__ = "cross_filing"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    mdtrtarea_admvs: Mapped[str | None] = mapped_column(String(16))
    """Where care will be given (admin division code)."""
    reason: Mapped[str | None] = mapped_column(String(64))
    begin: Mapped[date] = mapped_column(Date)
    end: Mapped[date | None] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(16), default="", server_default="")
    """The filing's kind (:data:`yibao.settlement.model.FILING_KINDS`): ``long_term`` 异地长期居住, ``referral`` 转诊,
    ``temporary`` 临时外出就医, ``""`` none stated (migration 0304); a pack's place for a cross-region claim
    goes by it."""
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())
    recorded_by: Mapped[str] = mapped_column(String(64))


class ResidentTier(Base):
    """A resident's contribution tier (居民医保缴费档次: 1 一档, 2 二档, Chongqing) from ``begin`` to ``end``:
    chosen when paying for a year, so usually one row per year (migration 0301)."""

    __tablename__ = "resident_tier"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    tier: Mapped[int] = mapped_column(Integer)
    begin: Mapped[date] = mapped_column(Date)
    end: Mapped[date | None] = mapped_column(Date)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())
    recorded_by: Mapped[str] = mapped_column(String(64))


class InstitutionChoice(Base):
    """An institution a person chose, with its dates (migration 0301): ``designated`` (selected for residents'
    general outpatient), ``linked`` (linked with it), ``signed`` (门诊慢性病签约医疗机构; seed 004: one hospital and
    one township health centre, changeable monthly)."""

    __tablename__ = "institution_choice"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    fixmedins_code: Mapped[str] = mapped_column(String(32))
    role: Mapped[str] = mapped_column(String(16))
    filing_id: Mapped[int | None] = mapped_column(ForeignKey("chronic_filing.id"))
    """A ``signed`` institution chosen on a chronic filing (migration 0305)."""
    begin: Mapped[date] = mapped_column(Date)
    end: Mapped[date | None] = mapped_column(Date)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())
    recorded_by: Mapped[str] = mapped_column(String(64))


class FamilyDoctorContract(Base):
    """A family-doctor contract (家庭医生签约服务) with its dates (migration 0301)."""

    __tablename__ = "family_doctor_contract"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    fixmedins_code: Mapped[str | None] = mapped_column(String(32))
    """The contracted doctor's institution: recorded and shown, not settled on. Seed 004's signed institutions
    (门诊慢性病签约医疗机构, a hospital and a township health centre the family doctor guides the person to) are
    the person's ``signed`` institution choices, which ``signed_only`` lines go by; no seed ties family-doctor
    terms to the doctor's own institution (a pack that wants them only at the selected institution writes
    ``family_doctor: true, institution: designated`` in one ``person_terms`` entry)."""
    begin: Mapped[date] = mapped_column(Date)
    end: Mapped[date | None] = mapped_column(Date)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())
    recorded_by: Mapped[str] = mapped_column(String(64))


class PersonalAccount(Base):
    """An employee's personal account (个人账户) balance for a year, before the year's claims (migration 0302): the
    settlement's one read gives the latest row of the claim's year to the core as ``Person.acct_balance``; each
    claim's account payment counts in the year's ``acct_paid`` accumulator. Rows are never changed: a corrected
    balance is a new row."""

    __tablename__ = "personal_account"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    year: Mapped[int] = mapped_column(Integer)
    balance_fen: Mapped[int] = mapped_column(BigInteger)
    source: Mapped[str] = mapped_column(String(255))
    """Where the balance came from: ``people.csv row 3``, ``command line``, …"""
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())
    recorded_by: Mapped[str] = mapped_column(String(64))

    __table_args__ = (Index("ix_personal_account_person_year", "person_id", "year"),)


class Enrolment(Base):
    """A person's enrolment for one year and scheme, and who pays the premium."""

    __tablename__ = "enrolment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    insutype: Mapped[str] = mapped_column(String(3))
    psn_insu_stas: Mapped[str] = mapped_column(String(1))
    """0 not enrolled, 1 normal, 2 suspended, 4 terminated."""
    special_status: Mapped[str | None] = mapped_column(String(32))
    """deceased / military / prison / other_province: counts as covered or exempt."""
    evidence: Mapped[str | None] = mapped_column(String(255))
    premium: Mapped[int] = mapped_column(BigInteger, default=0)
    individual: Mapped[int] = mapped_column(BigInteger, default=0)
    assistance_subsidy: Mapped[int] = mapped_column(BigInteger, default=0)
    fiscal_subsidy: Mapped[int] = mapped_column(BigInteger, default=0)
    subsidy_category: Mapped[str | None] = mapped_column(String(32))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())
    recorded_by: Mapped[str] = mapped_column(String(64))
    policy_pack: Mapped[str | None] = mapped_column(String(64))
    """The pack whose premium and subsidies priced this row (migration 0002)."""
    cutoff_date: Mapped[date | None] = mapped_column(Date)
    """The day whose identities decided ``subsidy_category`` (migration 0002)."""

    __table_args__ = (
        Index("ix_enrolment_year_person", "year", "person_id"),
        Index("ix_enrolment_year_insutype", "year", "insutype"),
    )
