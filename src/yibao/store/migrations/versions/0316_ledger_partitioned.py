"""ledger partitioned by settlement year on PostgreSQL (SQLite: unchanged)

On PostgreSQL ``ledger`` becomes ``PARTITION BY RANGE (year)`` with the same columns (its rows copied, ids and the
id sequence kept): a partition per year 2015..2035 (``ledger_y2022``) and a default partition (``ledger_default``)
for any other year; ``yibao db partitions --through 2040`` adds later years
(:mod:`yibao.store.ledger_partitions`). Every index is declared on the parent, so every partition has it: the
models' (person and year: the settle path; visit; day: monitoring and reports of a month; township and day;
corrects), and on PostgreSQL only ``setl_id`` and ``reverses`` (looked up one by one: verification, standing
settlements), institution and day (reconciliation), which replaces the models' institution index as person and
year replaces their person index (the first column of a wider index), and line and day (a report's applications for
assistance among the year's settlements). A report of a year reads its one partition whole: no index serves it
better.

A partitioned table's unique keys must contain the partition key (``year``). The ledger's were not "(key, year)"
keys, and making them so would not be the same guarantee:

- ``setl_id`` is ``prefix + recording date + random`` (:func:`yibao.app.ledger.new_setl_id`): the date is the day
  it was written, not the settlement's ``setl_date`` (a claim of 2022 loaded in 2026), so nothing ties it to a
  year; and ``assistance_application`` refers to it alone.
- ``reverses``: a reversal copies the year of what it reverses (:func:`yibao.app.ledger.reverse_settlement`), so
  ``(reverses, year)`` would be equivalent, but only while every writer does so: the application enforces it, the
  database did not.
- ``(mdtrt_id, visit_seq)``: a visit settled at the counter or through the national interface is dated by the
  visit (discharge, else registration; a reversal reopens it with the same dates), but a REST claim names a visit
  with a ``setl_date`` of its own: a visit's second settlement may fall in another year than its first, and
  ``(mdtrt_id, visit_seq, year)`` would then let two "first" settlements of one visit stand.

So they stay global, in ``ledger_key``: one plain (unpartitioned) row per ledger row with ``setl_id`` (primary
key), ``year``, ``reverses`` (unique) and ``(mdtrt_id, visit_seq)`` (unique, ``ux_ledger_visit_seq``), written by a
``BEFORE INSERT`` trigger on the ledger in the same statement (every writer: ORM, Core, the data-modifying CTE of
the settle path, COPY). ``ledger (setl_id, year)`` is a foreign key to it, so no ledger row exists without its key
row; ``assistance_application.setl_id`` now refers to ``ledger_key.setl_id``. The ledger is append-only: an UPDATE
of ``setl_id``, ``year``, ``reverses``, ``corrects``, ``mdtrt_id`` or ``visit_seq`` is refused (other columns
may be updated, as tests plant figures); deleting a ledger row frees its keys (an ``AFTER DELETE`` trigger), as on
the plain table.

Two more rules make a read of a period that names its years (:func:`yibao.store.ledger_partitions.in_years`) read
the same rows from fewer partitions, and are now the database's: ``year`` is the year of ``setl_date`` (CHECK),
and ``(reverses, year)`` and ``(corrects, year)`` are foreign keys to ``ledger_key (setl_id, year)``: a reversal or
a back-pay has the year of the entry it refers to, which exists.

Downgrade restores the plain table, its unique keys and indexes, with the rows.

Revision ID: 0316
Revises: 0315
Create Date: 2026-12-03
"""

from alembic import op

from yibao.store.ledger_partitions import DEFAULT_PARTITION, FIRST_YEAR, LAST_YEAR, create_partition_sql

revision = "0316"
down_revision = "0315"
branch_labels = None
depends_on = None

COLUMNS = (
    ("id", "integer NOT NULL DEFAULT nextval('ledger_id_seq'::regclass)"),
    ("setl_id", "varchar(40) NOT NULL"),
    ("kind", "varchar(8) NOT NULL"),
    ("reverses", "varchar(40)"),
    ("reason", "varchar(255)"),
    ("mdtrt_id", "varchar(40)"),
    ("person_id", "integer NOT NULL"),
    ("psn_no", "varchar(32) NOT NULL"),
    ("fixmedins_code", "varchar(32)"),
    ("year", "integer NOT NULL"),
    ("setl_date", "date NOT NULL"),
    ("insutype", "varchar(3) NOT NULL"),
    ("med_type", "varchar(8) NOT NULL"),
    ("line", "varchar(32) NOT NULL"),
    ("identity", "varchar(32) NOT NULL"),
    ("pack_id", "varchar(64) NOT NULL"),
    *((amount, "bigint NOT NULL") for amount in (
        "medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt", "act_pay_dedc",
        "hifp_pay", "pool_prop_selfpay", "hifmi_pay", "maf_pay", "oth_pay", "fund_pay_sumamt", "psn_part_amt",
    )),
    ("consumed", "text NOT NULL"),
    ("setldetail", "text NOT NULL"),
    ("fee_results", "text NOT NULL"),
    ("trace", "text NOT NULL"),
    ("msgid", "varchar(64)"),
    ("recorded_at", "timestamp with time zone NOT NULL"),
    ("recorded_by", "varchar(64) NOT NULL"),
    ("hosp_lv", "integer"),
    ("place", "varchar(16)"),
    ("visit_seq", "integer"),
    ("acct_pay", "bigint NOT NULL DEFAULT '0'::bigint"),
    ("corrects", "varchar(40)"),
    ("dise_codg", "varchar(32)"),
    ("dise_name", "varchar(128)"),
    ("major_dise_flag", "boolean NOT NULL DEFAULT false"),
    ("captn_pay", "bigint NOT NULL DEFAULT '0'::bigint"),
    ("captn_town", "varchar(64)"),
)  # fmt: skip
"""The ledger's columns as PostgreSQL has them after 0315, in their order (both tables are built from this)."""
_NAMES = ", ".join(name for name, _ in COLUMNS)
_DEFINITION = ",\n".join(f"{name} {sql}" for name, sql in COLUMNS)

SHARED_INDEXES = (
    ("ix_ledger_captn_town", "captn_town, setl_date"),
    ("ix_ledger_corrects", "corrects"),
    ("ix_ledger_date", "setl_date"),
    ("ix_ledger_mdtrt_id", "mdtrt_id"),
    ("ix_ledger_person_year", "person_id, year"),
)
"""The models' indexes of the ledger that both tables have."""
PLAIN_ONLY = (("ix_ledger_fixmedins_code", "fixmedins_code"), ("ix_ledger_person_id", "person_id"))
"""The models' indexes the partitioned ledger leaves out: the first column of a wider index there."""
PARTITIONED_ONLY = (
    ("ix_ledger_setl_id", "setl_id"),
    ("ix_ledger_reverses", "reverses"),
    ("ix_ledger_institution_date", "fixmedins_code, setl_date"),
    ("ix_ledger_line_date", "line, setl_date"),
)
"""Lookups the plain table's unique keys served; reconciliation's institution and day (and any query of one
institution, in place of ``ix_ledger_fixmedins_code``); a benefit line's entries of a period (the reports' 依申请救助,
a few rows among a year's settlements)."""

KEY_REFERENCES = (("ledger_key_fkey", "setl_id"), ("ledger_reverses_fkey", "reverses"), ("ledger_corrects_fkey", "corrects"))
"""Foreign keys ``(column, year)`` of the ledger to ``ledger_key (setl_id, year)``: its own key row, and the entry a
reversal or a back-pay refers to, of the same year."""
KEY_COLUMNS = ("setl_id", "year", "reverses", "mdtrt_id", "visit_seq")
GUARDED = ("setl_id", "year", "reverses", "corrects", "mdtrt_id", "visit_seq")

TRIGGER_FUNCTION = f"""
CREATE FUNCTION ledger_key_write() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        RAISE EXCEPTION USING ERRCODE = 'integrity_constraint_violation',
            MESSAGE = 'ledger ' || OLD.setl_id || ' is append-only: its keys ({", ".join(GUARDED)}) do not change';
    END IF;
    INSERT INTO ledger_key ({", ".join(KEY_COLUMNS)})
    VALUES ({", ".join("NEW." + c for c in KEY_COLUMNS)});
    RETURN NEW;
END
$$
"""
"""Writes a new ledger row's ``ledger_key`` row (its unique keys are checked there), refuses a change of its keys
(no ``%`` in it: the statement passes through the driver's parameter escaping).
``SET search_path FROM CURRENT`` (below) fixes the schema it writes to as the one it was created in, without naming it."""


FREE_FUNCTION = """
CREATE FUNCTION ledger_key_free() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF coalesce(current_setting('yibao.moving_rows', true), '') <> 'on' THEN
        DELETE FROM ledger_key WHERE setl_id = OLD.setl_id;
    END IF;
    RETURN OLD;
END
$$
"""
"""A deleted ledger row's keys are free again (as the plain table's were); not while ``yibao db partitions`` moves
rows out of the default partition (``yibao.moving_rows``), where the row lives on in its year's partition."""


def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    if not _postgresql():
        return
    op.execute(
        """
        CREATE TABLE ledger_key (
            setl_id varchar(40) NOT NULL CONSTRAINT ledger_key_pkey PRIMARY KEY,
            year integer NOT NULL,
            reverses varchar(40),
            mdtrt_id varchar(40),
            visit_seq integer,
            CONSTRAINT ledger_key_setl_id_year_key UNIQUE (setl_id, year)
        )
        """
    )
    op.execute(f"INSERT INTO ledger_key ({', '.join(KEY_COLUMNS)}) SELECT {', '.join(KEY_COLUMNS)} FROM ledger")
    op.execute("ALTER TABLE assistance_application DROP CONSTRAINT assistance_application_setl_id_fkey")
    op.execute(
        "ALTER TABLE assistance_application ADD CONSTRAINT assistance_application_setl_id_fkey "
        "FOREIGN KEY (setl_id) REFERENCES ledger_key (setl_id)"
    )
    op.execute("ALTER SEQUENCE ledger_id_seq OWNED BY NONE")
    op.execute(f"CREATE TABLE ledger_partitioned ({_DEFINITION}) PARTITION BY RANGE (year)")
    op.execute(f"CREATE TABLE {DEFAULT_PARTITION} PARTITION OF ledger_partitioned DEFAULT")
    for year in range(FIRST_YEAR, LAST_YEAR + 1):
        op.execute(create_partition_sql(year, "ledger_partitioned"))
    op.execute(f"INSERT INTO ledger_partitioned ({_NAMES}) SELECT {_NAMES} FROM ledger ORDER BY id")
    op.execute("DROP TABLE ledger")
    op.execute("ALTER TABLE ledger_partitioned RENAME TO ledger")
    op.execute("CREATE UNIQUE INDEX ux_ledger_reverses ON ledger_key (reverses) WHERE reverses IS NOT NULL")
    # the name the settle path cites: of two settlements of one visit that took one number, this refuses one
    op.execute(
        "CREATE UNIQUE INDEX ux_ledger_visit_seq ON ledger_key (mdtrt_id, visit_seq) "
        "WHERE mdtrt_id IS NOT NULL AND visit_seq IS NOT NULL"
    )
    op.execute("ALTER SEQUENCE ledger_id_seq OWNED BY ledger.id")
    op.execute("ALTER TABLE ledger ADD CONSTRAINT ledger_pkey PRIMARY KEY (id, year)")
    op.execute("ALTER TABLE ledger ADD CONSTRAINT ck_ledger_year_of_date CHECK (year = EXTRACT(YEAR FROM setl_date))")
    op.execute("ALTER TABLE ledger ADD CONSTRAINT ledger_person_id_fkey FOREIGN KEY (person_id) REFERENCES person (id)")
    for name, column in KEY_REFERENCES:
        op.execute(f"ALTER TABLE ledger ADD CONSTRAINT {name} FOREIGN KEY ({column}, year) REFERENCES ledger_key (setl_id, year)")
    for name, columns in SHARED_INDEXES + PARTITIONED_ONLY:
        op.execute(f"CREATE INDEX {name} ON ledger ({columns})")
    op.execute(TRIGGER_FUNCTION)
    op.execute("ALTER FUNCTION ledger_key_write() SET search_path FROM CURRENT")
    op.execute("CREATE TRIGGER ledger_key_insert BEFORE INSERT ON ledger FOR EACH ROW EXECUTE FUNCTION ledger_key_write()")
    op.execute(FREE_FUNCTION)
    op.execute("ALTER FUNCTION ledger_key_free() SET search_path FROM CURRENT")
    op.execute("CREATE TRIGGER ledger_key_delete AFTER DELETE ON ledger FOR EACH ROW EXECUTE FUNCTION ledger_key_free()")
    op.execute(
        f"CREATE TRIGGER ledger_key_guard BEFORE UPDATE OF {', '.join(GUARDED)} ON ledger "
        "FOR EACH ROW EXECUTE FUNCTION ledger_key_write()"
    )
    # the copied rows have no statistics yet: without them the planner takes a year's partition for a few thousand
    # rows and nests loops over it (a month's monitoring read at 1M settlements ran minutes instead of seconds);
    # autovacuum analyses the partitions later, never the partitioned parent
    op.execute("ANALYZE ledger")
    op.execute("ANALYZE ledger_key")


def downgrade() -> None:
    if not _postgresql():
        return
    op.execute("ALTER SEQUENCE ledger_id_seq OWNED BY NONE")
    op.execute(f"CREATE TABLE ledger_plain ({_DEFINITION})")
    op.execute(f"INSERT INTO ledger_plain ({_NAMES}) SELECT {_NAMES} FROM ledger ORDER BY id")
    op.execute("ALTER TABLE assistance_application DROP CONSTRAINT assistance_application_setl_id_fkey")
    op.execute("DROP TABLE ledger")
    op.execute("DROP FUNCTION ledger_key_write()")
    op.execute("DROP FUNCTION ledger_key_free()")
    op.execute("DROP TABLE ledger_key")
    op.execute("ALTER TABLE ledger_plain RENAME TO ledger")
    op.execute("ALTER SEQUENCE ledger_id_seq OWNED BY ledger.id")
    op.execute("ALTER TABLE ledger ADD CONSTRAINT ledger_pkey PRIMARY KEY (id)")
    op.execute("ALTER TABLE ledger ADD CONSTRAINT ledger_reverses_key UNIQUE (reverses)")
    op.execute("ALTER TABLE ledger ADD CONSTRAINT ledger_setl_id_key UNIQUE (setl_id)")
    op.execute("ALTER TABLE ledger ADD CONSTRAINT ledger_person_id_fkey FOREIGN KEY (person_id) REFERENCES person (id)")
    op.execute("CREATE UNIQUE INDEX ux_ledger_visit_seq ON ledger (mdtrt_id, visit_seq)")
    for name, columns in SHARED_INDEXES + PLAIN_ONLY:
        op.execute(f"CREATE INDEX {name} ON ledger ({columns})")
    op.execute(
        "ALTER TABLE assistance_application ADD CONSTRAINT assistance_application_setl_id_fkey "
        "FOREIGN KEY (setl_id) REFERENCES ledger (setl_id)"
    )
