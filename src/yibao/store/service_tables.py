"""Tables of the settlement service: institutions, visits, fee lines, the append-only ledger,
year-to-date accumulators, processed messages (exactly once), staff accounts and tokens."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, Index, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from yibao.store.tables import Base, UtcDateTime


class Institution(Base):
    """定点医药机构."""

    __tablename__ = "institution"

    fixmedins_code: Mapped[str] = mapped_column(String(32), primary_key=True)
    fixmedins_name: Mapped[str] = mapped_column(String(128))
    hosp_lv: Mapped[int] = mapped_column(Integer)
    """1 乡镇/一级, 2 县级/二级, 3 市级及以上/三级."""
    place: Mapped[str] = mapped_column(String(16), default="in_county")
    """in_county / out_of_county / cross_region, seen from the county the service runs for."""
    admdvs: Mapped[str | None] = mapped_column(String(16))
    township: Mapped[str | None] = mapped_column(String(64))
    """The township group (乡镇, as ``person.township`` names it) of a township hospital (镇卫生院) and its village
    clinics (村卫生室), which share one outpatient capitation pot (migration 0314); NULL for other institutions."""


class Visit(Base):
    """就诊: an outpatient registration (2201) or an admission (2401)."""

    __tablename__ = "visit"

    mdtrt_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    psn_no: Mapped[str] = mapped_column(String(32))
    fixmedins_code: Mapped[str] = mapped_column(ForeignKey("institution.fixmedins_code"), index=True)
    insutype: Mapped[str] = mapped_column(String(3))
    med_type: Mapped[str] = mapped_column(String(8))
    ipt_otp_no: Mapped[str | None] = mapped_column(String(40))
    begntime: Mapped[date] = mapped_column(Date)
    endtime: Mapped[date | None] = mapped_column(Date)
    dise_codg: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    """registered / admitted / discharged / settled / cancelled."""
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())
    recorded_by: Mapped[str] = mapped_column(String(64))


class FeeLineRow(Base):
    """费用明细 uploaded by a HIS (2204/2301); cancelled lines stay, marked."""

    __tablename__ = "fee_line"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mdtrt_id: Mapped[str] = mapped_column(ForeignKey("visit.mdtrt_id"), index=True)
    feedetl_sn: Mapped[str] = mapped_column(String(40))
    med_list_codg: Mapped[str] = mapped_column(String(64))
    med_list_name: Mapped[str | None] = mapped_column(String(128))
    chrgitm_lv: Mapped[str] = mapped_column(String(2))
    det_item_fee_sumamt: Mapped[int] = mapped_column(BigInteger)
    cnt: Mapped[str] = mapped_column(String(24))
    """Decimal count as text (exact)."""
    pric: Mapped[int | None] = mapped_column(BigInteger)
    fee_ocur_date: Mapped[date | None] = mapped_column(Date)
    """``fee_ocur_time``'s day (费用发生时间); None when the HIS did not send it (the visit's first day then)."""
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)
    setl_id: Mapped[str | None] = mapped_column(String(40))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())
    recorded_by: Mapped[str] = mapped_column(String(64))


class LedgerEntry(Base):
    """The append-only settlement ledger: a settlement, or the reversal of one (never updated).

    On PostgreSQL it is partitioned by ``year`` (migration 0316, :mod:`yibao.store.ledger_partitions`): its unique keys
    (``setl_id``, ``reverses``, ``(mdtrt_id, visit_seq)``) are held by the plain table ``ledger_key`` beside it, written
    by a trigger with each row; the table declared here is SQLite's, and the columns of both."""

    __tablename__ = "ledger"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    """64-bit on PostgreSQL (migration 0317); SQLite's ``INTEGER PRIMARY KEY`` is its 64-bit rowid (autoincrement)."""
    setl_id: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(8))
    """settle / reverse / apply (依申请救助) / backpay (补差: a correction of a settlement after a late identity)."""
    reverses: Mapped[str | None] = mapped_column(String(40), unique=True)
    """For a reversal: the setl_id it reverses (unique: a settlement is reversed at most once)."""
    reason: Mapped[str | None] = mapped_column(String(255))
    corrects: Mapped[str | None] = mapped_column(String(40), index=True)
    """For a back-pay (``backpay``, migration 0308): the setl_id of the settlement it corrects; its amounts and
    ``consumed`` are the differences, ``identity`` the identity it was settled again under."""
    mdtrt_id: Mapped[str | None] = mapped_column(String(40), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    psn_no: Mapped[str] = mapped_column(String(32))
    fixmedins_code: Mapped[str | None] = mapped_column(String(32), index=True)
    year: Mapped[int] = mapped_column(Integer)
    setl_date: Mapped[date] = mapped_column(Date)
    insutype: Mapped[str] = mapped_column(String(3))
    med_type: Mapped[str] = mapped_column(String(8))
    line: Mapped[str] = mapped_column(String(32))
    identity: Mapped[str] = mapped_column(String(32))
    dise_codg: Mapped[str | None] = mapped_column(String(32))
    """病种/诊断编码 the settlement was made for (typed at the counter, sent with the claim or the visit; migration
    0311, NULL on older rows and when none was given)."""
    dise_name: Mapped[str | None] = mapped_column(String(128))
    """病种/诊断名称 as given with the code (NULL when none was)."""
    major_dise_flag: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """The claim was for a 重特大疾病 (the assistance tiers' ``major`` terms; migration 0313, false on older rows)."""
    hosp_lv: Mapped[int | None] = mapped_column(Integer)
    """The hospital level the claim was settled at (1 乡镇/一级, 2 县级/二级, 3 市级及以上/三级)."""
    place: Mapped[str | None] = mapped_column(String(16))
    """in_county / out_of_county / cross_region, as settled."""
    pack_id: Mapped[str] = mapped_column(String(64))
    medfee_sumamt: Mapped[int] = mapped_column(BigInteger)
    fulamt_ownpay_amt: Mapped[int] = mapped_column(BigInteger)
    overlmt_selfpay: Mapped[int] = mapped_column(BigInteger)
    preselfpay_amt: Mapped[int] = mapped_column(BigInteger)
    inscp_scp_amt: Mapped[int] = mapped_column(BigInteger)
    act_pay_dedc: Mapped[int] = mapped_column(BigInteger)
    hifp_pay: Mapped[int] = mapped_column(BigInteger)
    pool_prop_selfpay: Mapped[int] = mapped_column(BigInteger)
    hifmi_pay: Mapped[int] = mapped_column(BigInteger)
    maf_pay: Mapped[int] = mapped_column(BigInteger)
    oth_pay: Mapped[int] = mapped_column(BigInteger)
    fund_pay_sumamt: Mapped[int] = mapped_column(BigInteger)
    psn_part_amt: Mapped[int] = mapped_column(BigInteger)
    acct_pay: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    """The part of ``psn_part_amt`` the personal account paid (个人账户支出; migration 0302, 0 on older rows): the
    entry's ``consumed.acct_paid``; the person paid ``psn_part_amt - acct_pay`` in cash (``psn_cash_pay``)."""
    captn_pay: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    """The part of ``hifp_pay`` paid by head from a township's capitation pot (按人头付费; migration 0314, 0 on older
    rows); the rest of ``hifp_pay`` was settled item by item."""
    captn_town: Mapped[str | None] = mapped_column(String(64))
    """The capitation township whose pot the settlement drew on (NULL: not under capitation)."""
    consumed: Mapped[str] = mapped_column(Text)
    """The accumulators this entry consumed (negative for a reversal), JSON."""
    setldetail: Mapped[str] = mapped_column(Text)
    fee_results: Mapped[str] = mapped_column(Text)
    trace: Mapped[str] = mapped_column(Text)
    msgid: Mapped[str | None] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())
    recorded_by: Mapped[str] = mapped_column(String(64))
    visit_seq: Mapped[int | None] = mapped_column(Integer)
    """For a settlement of a visit: which of the visit's settlements it is (1, then 2 once the first was reversed …).
    Unique per visit (``ux_ledger_visit_seq``): two settlements of one visit written at the same time both
    count the settlements before them and take the same number, and the database keeps only one."""

    __table_args__ = (
        Index("ix_ledger_person_year", "person_id", "year"),
        Index("ix_ledger_date", "setl_date"),
        Index("ix_ledger_captn_town", "captn_town", "setl_date"),
        Index("ux_ledger_visit_seq", "mdtrt_id", "visit_seq", unique=True),
    )


class AssistanceApplication(Base):
    """依申请救助: an application decided. Its ledger row (kind ``apply``, the same ``setl_id``) holds the pay
    (``maf_pay``), what it consumed (``maf_paid``), the trace, who decided and when; this row holds the window and
    the bills counted, so that a later application of the person counts none of them again while it stands."""

    __tablename__ = "assistance_application"

    setl_id: Mapped[str] = mapped_column(ForeignKey("ledger.setl_id"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    applied_on: Mapped[date] = mapped_column(Date)
    window_from: Mapped[date] = mapped_column(Date)
    """The look-back window is ``window_from`` .. ``applied_on`` (inclusive)."""
    base: Mapped[int] = mapped_column(BigInteger)
    """The policy-range self-pay left by every payer on the bills counted."""
    yearly_limit: Mapped[int | None] = mapped_column(BigInteger)
    """The deciding category's yearly assistance limit (``None``: none), shared with the counter's ``maf_pay``."""
    paid_before: Mapped[int] = mapped_column(BigInteger)
    """Assistance paid in the year before the application (``maf_paid``)."""
    claims: Mapped[str] = mapped_column(Text)
    """The ``setl_id`` of every bill counted, JSON."""


class YearToDateRow(Base):
    """A person's accumulators for a year, kept beside the ledger in the same transaction (the lock row)."""

    __tablename__ = "year_to_date"

    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=0)


class Message(Base):
    """A processed request (national msgid or REST idempotency key) and its answer: exactly once."""

    __tablename__ = "message"

    msgid: Mapped[str] = mapped_column(String(64), primary_key=True)
    infno: Mapped[str] = mapped_column(String(16))
    sender: Mapped[str] = mapped_column(String(64))
    request_sha256: Mapped[str] = mapped_column(String(64))
    response: Mapped[str] = mapped_column(Text)
    effect: Mapped[str | None] = mapped_column(String(80))
    """What it did, for 2601 reversal by msgid (e.g. "settle:S..." or "visit:M...")."""
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Account(Base):
    """A staff member or an institution's system: who may do what."""

    __tablename__ = "account"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    """clerk 经办 / auditor 审核 / monitoring 监测 / analyst 分析 / admin 管理 / institution 定点机构."""
    password_hash: Mapped[str] = mapped_column(String(255))
    fixmedins_code: Mapped[str | None] = mapped_column(String(32))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())
    recorded_by: Mapped[str] = mapped_column(String(64))
    token_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Counts the account's revocations (a password changed, the account disabled): a server process that
    trusts a token it checked earlier compares this number before it trusts it again."""
    changed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    """When the password or the active flag last changed, and by whom."""
    changed_by: Mapped[str | None] = mapped_column(String(64))
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    """The password was set by an administrator as a temporary one: the holder must choose their own before
    anything else (the window sends them to 修改密码; the API refuses every other call)."""


class AccountEvent(Base):
    """Something done to an account, by whom and when: created, disabled, enabled, role changed, password reset by an
    administrator or changed by its holder (never the password itself)."""

    __tablename__ = "account_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(ForeignKey("account.username"), index=True)
    action: Mapped[str] = mapped_column(String(16))
    """create / disable / enable / role / reset / password."""
    detail: Mapped[str] = mapped_column(String(255), default="", server_default="")
    """What changed, in codes (``clerk -> auditor``, ``temporary``)."""
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())
    recorded_by: Mapped[str] = mapped_column(String(64))


class ReconcileRun(Base):
    """A 3202 对明细账 done in the window: the scope, the hospital's file, and the answer (its differences), so that
    the auditor can download them as a workbook and the bureau sees who reconciled what and when."""

    __tablename__ = "reconcile_run"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fixmedins_code: Mapped[str] = mapped_column(String(32), index=True)
    begin: Mapped[date] = mapped_column(Date)
    end: Mapped[date] = mapped_column(Date)
    insutype: Mapped[str | None] = mapped_column(String(8))
    clr_type: Mapped[str | None] = mapped_column(String(8))
    file_name: Mapped[str] = mapped_column(String(255))
    result: Mapped[str] = mapped_column(Text)
    """JSON: the 3202 answer (:func:`yibao.app.reconcile.detail_output`)."""
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())
    recorded_by: Mapped[str] = mapped_column(String(64))


class Token(Base):
    """A sign-in: only the SHA-256 of the token is stored; it expires."""

    __tablename__ = "token"

    token_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(ForeignKey("account.username"), index=True)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class SignInFailures(Base):
    """Failed sign-ins, counted per user name (``scope`` account) and per client address (``scope`` address),
    in the database so that every server process sees the same count and the same lock."""

    __tablename__ = "sign_in_failures"

    scope: Mapped[str] = mapped_column(String(8), primary_key=True)
    """account / address."""
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    """The user name as typed, or the client's address."""
    failures: Mapped[int] = mapped_column(Integer)
    """Failed sign-ins since the count last started (a correct password starts its user name's count again)."""
    last_at: Mapped[datetime] = mapped_column(UtcDateTime())
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime())


class FundBudgetRow(Base):
    """基金预算: a fund's budget for one month of a year (fen), as it stands; every change is a
    :class:`FundBudgetChange` row beside it, written in the same transaction."""

    __tablename__ = "fund_budget"

    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    fund: Mapped[str] = mapped_column(String(16), primary_key=True)
    """basic 基本医保统筹基金 / critical 大病保险 / assistance 医疗救助基金 (:data:`yibao.rules.budget.FUNDS`)."""
    month: Mapped[int] = mapped_column(Integer, primary_key=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    source: Mapped[str] = mapped_column(String(16))
    """entered / imported / derived (:data:`yibao.core.vocab.BUDGET_SOURCES`)."""
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())
    recorded_by: Mapped[str] = mapped_column(String(64))


class FundBudgetChange(Base):
    """One change of a month's budget: the amount before (none: new) and after, how, who and when."""

    __tablename__ = "fund_budget_change"
    __table_args__ = (Index("ix_fund_budget_change_year", "year", "fund", "month"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    year: Mapped[int] = mapped_column(Integer)
    fund: Mapped[str] = mapped_column(String(16))
    month: Mapped[int] = mapped_column(Integer)
    before: Mapped[int | None] = mapped_column(BigInteger)
    after: Mapped[int] = mapped_column(BigInteger)
    source: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(String(255), default="")
    """The file imported, or the derivation's figures."""
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())
    recorded_by: Mapped[str] = mapped_column(String(64))


class CapitationScore(Base):
    """A township's year-end performance score (门诊统筹人头定额考核, 0-100; migration 0315): the latest row of a township
    and year counts; earlier rows stay as the record of who changed it."""

    __tablename__ = "capitation_score"
    __table_args__ = (Index("ix_capitation_score_township_year", "township", "year"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    township: Mapped[str] = mapped_column(String(64))
    year: Mapped[int] = mapped_column(Integer)
    score: Mapped[int] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(String(255), default="")
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())
    recorded_by: Mapped[str] = mapped_column(String(64))
