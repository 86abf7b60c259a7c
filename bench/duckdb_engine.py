"""The same settlement rules in DuckDB SQL: what an analyst would otherwise write.

``settle_duckdb(pack, input_dir)`` reads the synthetic county's Parquet files
(``claims``, ``people``, ``identities``, ``chronic_filings``, ``cross_filings``) with
``read_parquet`` and settles every claim with SQL; Python turns the resolved policies
(``pack.at(date)`` on each change date) into small parameter tables and writes the SQL text.
Every policy choice in those tables comes from the policy's own rules, the ones ``settle`` and
the batch engine ask (``deductible_for``, ``ratio_bands_for``, ``cap_for``, ``tier_applies``,
``benefit_line``, :func:`yibao.policy.deciding.identity_ranks`), so the SQL is only the
arithmetic over a county's claims. The result agrees with
:func:`yibao.settlement.batch.engine.settle_batch` to the fen (``python bench/duckdb_engine.py
--check`` checks it on a synthetic county; tests/integration/test_duckdb_agreement.py in CI).

How the rules map to SQL:

* period: a CASE over the pack's change dates; identity: join the identities valid on the
  claim date to a ``(period, category) -> rank`` table and keep the best rank
  (``arg_min``), ``ordinary`` otherwise;
* benefit line: chronic filings by a semi-join, then a ``par_choice`` table with the line of
  each distinct (period, scheme, status, med_type, disease, filing) among the claims
  (:meth:`Policy.benefit_line`, once per combination), joined back;
* admission ordinal, the yearly deductible base and the critical-illness / assistance /
  tilted-assistance bases: window sums ``OVER (PARTITION BY person, year ORDER BY
  setl_date, file row)``; bands with GREATEST/LEAST; rounding half up with integer
  arithmetic, ``(2 * num + den) // (2 * den)``;
* caps count payments. Within a person-year (and cap group) where the cap never changes,
  paid-so-far is ``LEAST(cap, cumulative raw)``; where it changes (an identity change adding
  or removing a critical-illness tilt, a dated parameter) the claims are cut into runs of
  equal cap and ``paid = GREATEST(p0, LEAST(cap, p0 + run cumulative raw))`` with ``p0``
  carried from run to run by a recursive CTE (as in batch.py).
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from yibao.core.identities import CATEGORIES, ORDINARY
from yibao.core.money import BP
from yibao.policy.deciding import identity_ranks
from yibao.policy.pack import PolicyPack, load_pack
from yibao.policy.schema import LEVELS, PLACE_PARENT, PLACES, TIER_NAMES, Policy

INF = 1 << 60
CATS: tuple[str, ...] = tuple(CATEGORIES)
CAT = {c: i for i, c in enumerate(CATS)}
TIERS: tuple[str, ...] = ("unit", "individual_1", "individual_2")  # index 3: no tier
INSUTYPES = ("390", "310")
OUT_COLUMNS = ("claim_id", "hifp_pay", "hifmi_pay", "maf_pay", "oth_pay", "psn_part_amt", "act_pay_dedc")
ORDER = "ORDER BY d, rid"


def _rnd(num: str) -> str:
    """``num / BP`` rounded half up: :func:`yibao.core.money.half_up` in integer SQL."""
    return f"((2 * ({num}) + {BP}) // {2 * BP})"


def _clamp(expr: str) -> str:
    return f"LEAST(GREATEST({expr}, 0), {BP})"


def _banded(lo: str, hi: str, starts: list[str], ratios: list[str]) -> str:
    """Σ over marginal bands of overlap([lo, hi), band) x ratio, rounded once."""
    terms = []
    for b, (s, r) in enumerate(zip(starts, ratios, strict=True)):
        end = starts[b + 1] if b + 1 < len(starts) else str(INF)
        terms.append(f"GREATEST(LEAST({hi}, {end}) - GREATEST({lo}, {s}), 0) * {_clamp(r)}")
    return _rnd(" + ".join(terms))


def _sql_list(values: Any) -> str:
    return ", ".join("'" + str(v).replace("'", "''") + "'" for v in values)


# ---------------------------------------------------------------- parameter tables


def _pad(rows: list[list[int]]) -> tuple[int, list[list[int]]]:
    width = max(len(r) for r in rows)
    return width, [r + [INF] * (width - len(r)) for r in rows]


def _fen(cap: int | None) -> int:
    return INF if cap is None else cap


TIER_SHORT = {"critical_illness": "ci", "assistance": "ma", "tilted_assistance": "ta"}


def _refuse_unsupported(policies: list[Policy]) -> None:
    """This comparator settles yearly deductibles and caps on the base only: packs using deductibles per
    claim, month or quarter, deductibles off the payment, monthly/quarterly caps or cost ceilings are refused."""
    for pol in policies:
        if pol.combined_caps:
            raise ValueError("combined_caps: the DuckDB comparator has no combined caps; settle this pack with the batch engine")
        for key, line in pol.lines.items():
            used = {
                "deductible_kind": line.deductible_kind not in ("none", "admission", "year"),
                "deductible_on": line.deductible_on != "base",
                "deductible_level": line.deductible_level != "claim",
                "deductible_waived_for": bool(line.deductible_waived_for),
                "cap_period": line.cap_period != "year",
                "cost_ceiling": line.cost_ceiling is not None,
            }
            for name, unsupported in used.items():
                if unsupported:
                    raise ValueError(
                        f"lines.{key}.{name}: the DuckDB comparator settles yearly deductibles and caps on the base "
                        "without cost ceilings only; settle this pack with the batch engine"
                    )


def _param_tables(policies: list[Policy], line_keys: list[str]) -> tuple[dict[str, pl.DataFrame], int, int]:
    """Small parameter tables keyed by period ``p``, line ``l``, category ``cat``, place, level, tier,
    filled from the policy's own rules (``deductible_for``, ``ratio_bands_for``, ``cap_for``,
    ``tier_applies``, ``cap_for`` and ``bands_for`` of the tiers): the SQL only does arithmetic."""
    _refuse_unsupported(policies)
    groups: dict[str, int] = {}

    def gid(name: str) -> int:
        return groups.setdefault(name, len(groups))

    line_rows: list[dict[str, Any]] = []
    line_starts: list[list[int]] = []
    basic_rows: list[dict[str, Any]] = []
    width = max((len(ln.ratio_bands) for pol in policies for ln in pol.lines.values()), default=1) or 1
    for p, pol in enumerate(policies):
        for key, line in pol.lines.items():
            lid = line_keys.index(key)
            line_rows.append({
                "p": p, "l": lid,
                "kind": {"none": 0, "admission": 1, "year": 2}[line.deductible_kind],
                "cap_grp": gid("cap:" + line.cap_key(key)),
                "ded_grp": gid("ded:" + line.deductible_key(key)),
                "full_pay": bool(line.full_pay_items),
                "full_outside": line.full_pay_kind == 2,
                "by_tier": line.needs_emp_tier,
            })  # fmt: skip
            line_starts.append([b.start for b in line.ratio_bands] or [0])
            for cat in CATS:
                caps = {f"cap{t}": _fen(line.cap_for(cat, tier)) for t, tier in enumerate((*TIERS, None))}
                applies = {
                    f"{TIER_SHORT[name]}_{ins}": pol.tier_applies(name, key, ins, cat) for name in TIER_NAMES for ins in INSUTYPES
                }
                for lv in LEVELS:
                    ded = {f"ded{o}": line.deductible_for(cat, lv, o) for o in (1, 2, 3)}
                    for pl_i, place in enumerate(PLACES):
                        ratios = [r for _, r in line.ratio_bands_for(cat, place, lv)]
                        ratios += [0] * (width - len(ratios))
                        basic_rows.append({
                            "p": p, "l": lid, "cat": CAT[cat], "place": pl_i, "lv": lv,
                            **{f"br{b}": r for b, r in enumerate(ratios)}, **ded, **caps, **applies,
                        })  # fmt: skip
    _, padded = _pad(line_starts)
    for row, starts in zip(line_rows, padded, strict=True):
        for b, s in enumerate(starts):
            row[f"bs{b}"] = s

    tier_rows: list[dict[str, Any]] = []
    ci_starts = [[b.start for b in pol.critical_illness.bands] if pol.critical_illness else [0] for pol in policies]
    ci_width, ci_padded = _pad(ci_starts)
    for p, pol in enumerate(policies):
        ci, ma, ta = pol.critical_illness, pol.assistance, pol.tilted_assistance
        for cat in CATS:
            materms = ma.terms_for(cat) if ma is not None and cat in ma.categories else None
            taterms = ta.terms_for(cat) if ta is not None and cat in ta.categories else None
            ci_ratios = [r for _, r in ci.bands_for(cat)] if ci else [0]
            tier_rows.append({
                "p": p, "cat": CAT[cat],
                "ci_ded": ci.deductible_for(cat) if ci else 0,
                "ci_cap": _fen(ci.cap_for(cat)) if ci else INF,
                "ci_above": ci is not None and ci.band_basis == "above_deductible",
                "ma_ded": materms.threshold if materms else 0,
                "ma_ratio": materms.ratio if materms else 0,
                "ma_cap": materms.cap if materms else INF,
                "ta_thr": taterms.threshold if taterms else 0,
                "ta_ratio": taterms.ratio if taterms else 0,
                "ta_cap": taterms.cap if taterms else INF,
                **{f"cbs{b}": s for b, s in enumerate(ci_padded[p])},
                **{f"cbr{b}": r for b, r in enumerate(ci_ratios + [0] * (ci_width - len(ci_ratios)))},
            })  # fmt: skip

    rank = {"p": pl.Int64, "cat": pl.Int64, "rank": pl.Int64}
    prio_rows = [
        {"p": p, "cat": CAT[c], "rank": r}
        for p, pol in enumerate(policies)
        for c, r in identity_ranks(pol.identity_priority).items()
    ]
    tables = {
        "par_line": pl.DataFrame(line_rows),
        "par_basic": pl.DataFrame(basic_rows),
        "par_tier": pl.DataFrame(tier_rows),
        "par_prio": pl.DataFrame(prio_rows, schema=rank),
        "par_cat": pl.DataFrame({"category": list(CATS), "cat": list(range(len(CATS)))}),
    }
    return tables, width, ci_width


# ---------------------------------------------------------------- SQL text


def _period_case(starts: list[date]) -> str:
    if len(starts) == 1:
        return "0"
    whens = " ".join(f"WHEN setl_date >= DATE '{d.isoformat()}' THEN {p}" for p, d in reversed(list(enumerate(starts))))
    return f"CASE {whens} ELSE 0 END"


def _line_choices(con: duckdb.DuckDBPyConnection, policies: list[Policy], line_keys: list[str]) -> None:
    """``par_choice``: the benefit line (-1: none; -2: a filing is missing and there is no fallback)
    of every distinct (period, scheme, status, med_type, disease, filing) among the claims, chosen by
    :meth:`Policy.benefit_line` once per combination."""
    columns = ("p", "ins_key", "emp_key", "med_key", "dise", "has_filing")
    keys = con.execute(f"SELECT DISTINCT {', '.join(columns)} FROM c0f").fetchall()
    rows = []
    for p, ins, emp, med, dise, filed in keys:
        got = policies[p].benefit_line(ins, emp or None, med, dise, filed)
        rows.append((p, ins, emp, med, dise, filed, -1 if got is None else -2 if got.lacks_filing else line_keys.index(got.key)))
    schema = {
        "p": pl.Int64,
        "ins_key": pl.Utf8,
        "emp_key": pl.Utf8,
        "med_key": pl.Utf8,
        "dise": pl.Utf8,
        "has_filing": pl.Boolean,
    }
    choice = pl.DataFrame(rows, schema=schema | {"l": pl.Int64}, orient="row")
    con.register("par_choice_df", choice)
    con.execute("CREATE OR REPLACE TEMP TABLE par_choice AS SELECT * FROM par_choice_df")
    con.unregister("par_choice_df")


def _capped(con: duckdb.DuckDBPyConnection, src: str, out: str, grp: str = "0") -> None:
    """``out(rid, pay)``: what a payer with per-claim ``cap`` pays of ``raw``, counting payments
    per person-year (and ``grp``). ``src`` has rid, pid, yr, d, raw, cap (and the ``grp`` column)."""
    part = f"PARTITION BY pid, yr, {grp}"
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {out}_a AS
        SELECT rid, pid, yr, d, {grp} AS g, raw, cap,
               (SUM(raw) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW))::BIGINT AS cs,
               LAG(cap) OVER w AS prev_cap
        FROM {src}
        WINDOW w AS ({part} {ORDER})
    """)
    # person-years whose cap changes: runs of equal cap, p0 carried run to run
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {out}_chg AS
        SELECT DISTINCT pid, yr, g FROM {out}_a WHERE prev_cap IS NOT NULL AND prev_cap <> cap
    """)
    changed = con.execute(f"SELECT count(*) FROM {out}_chg").fetchone()[0]  # type: ignore[index]
    if changed:
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE {out}_b AS
            SELECT a.*, SUM(CASE WHEN prev_cap IS NULL OR prev_cap <> cap THEN 1 ELSE 0 END)
                        OVER (PARTITION BY pid, yr, g {ORDER} ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS run
            FROM {out}_a a SEMI JOIN {out}_chg USING (pid, yr, g)
        """)
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE {out}_runs AS
            WITH RECURSIVE r AS (
                SELECT pid, yr, g, run, any_value(cap) AS cap, MIN(cs - raw) AS base, MAX(cs) AS s_end
                FROM {out}_b GROUP BY pid, yr, g, run
            ), walk(pid, yr, g, run, p0) AS (
                SELECT pid, yr, g, run, 0::BIGINT FROM r WHERE run = 1
                UNION ALL
                SELECT n.pid, n.yr, n.g, n.run, GREATEST(w.p0, LEAST(pr.cap, w.p0 + pr.s_end - pr.base))
                FROM walk w
                JOIN r pr ON pr.pid = w.pid AND pr.yr = w.yr AND pr.g = w.g AND pr.run = w.run
                JOIN r n ON n.pid = w.pid AND n.yr = w.yr AND n.g = w.g AND n.run = w.run + 1
            )
            SELECT walk.*, r.base FROM walk JOIN r USING (pid, yr, g, run)
        """)
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE {out}_chg_pay AS
            SELECT rid, paid - COALESCE(LAG(paid) OVER (PARTITION BY pid, yr, g {ORDER}), 0) AS pay
            FROM (
                SELECT b.rid, b.pid, b.yr, b.g, b.d, GREATEST(r.p0, LEAST(b.cap, r.p0 + b.cs - r.base)) AS paid
                FROM {out}_b b JOIN {out}_runs r USING (pid, yr, g, run)
            )
        """)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {out} AS
        SELECT rid, LEAST(cap, cs) - LEAST(cap, cs - raw) AS pay
        FROM {out}_a {f"ANTI JOIN {out}_chg USING (pid, yr, g)" if changed else ""}
        {f"UNION ALL SELECT rid, pay FROM {out}_chg_pay" if changed else ""}
    """)
    for t in ("a", "chg", "b", "runs", "chg_pay"):
        con.execute(f"DROP TABLE IF EXISTS {out}_{t}")


def _columns(con: duckdb.DuckDBPyConnection, path: Path) -> set[str]:
    return {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet('{path}')").fetchall()}


ITEMS_PLACES = ("deductible_by_place", "place_selfpay_first", "class_b_ratio", "fixed_share_items")
"""Benefit-line parameters of issue 15 (item classes, place) this comparator does not settle."""


def _refuse_items_places(policies: list[Policy]) -> None:
    """Refuse a pack using what this engine does not settle: the line parameters of :data:`ITEMS_PLACES`,
    or ratios for the finer cross-region places that differ from their parents' (it settles every
    cross-region filing as ``cross_filed``). Emergency claims (``cross_emergency``) are refused as an
    unknown place when settling."""
    for pol in policies:
        for key, line in pol.lines.items():
            used = [name for name in ITEMS_PLACES if getattr(line, name)]
            finer = [p for p, parent in PLACE_PARENT.items() if p != "cross_emergency" and line.ratio[p] != line.ratio[parent]]
            if used or finer:
                raise ValueError(
                    f"the DuckDB engine does not settle lines.{key}: {used + [f'ratio.{p}' for p in finer]} "
                    "(use the batch engine)"
                )


def _refuse_later_tiers(policies: list[Policy]) -> None:
    """This comparator does not do some later-tier features of the pack format (nor the personal account, which
    it has no column for): it refuses such packs by name."""
    for pol in policies:
        used = ["large_amount"] if pol.large_amount is not None else []
        used += ["identity_validity"] if pol.identity_validity else []
        used += ["categories"] if pol.categories else []
        used += [f"lines.{k}.personal_account" for k, ln in pol.lines.items() if ln.personal_account != "none"]
        used += [f"lines.{k}.account_first" for k, ln in pol.lines.items() if ln.account_first]
        for name in TIER_NAMES:
            block = getattr(pol, name)
            if block is not None and block.base != "policy_range":
                used.append(f"{name}.base")
            if block is not None and (getattr(block, "major_diseases", ()) or pol.is_major(name, "", True)):
                used.append(f"{name}.major_diseases")  # or major terms a claim's major_dise_flag selects
        if used:
            raise ValueError(f"the DuckDB comparator does not do {', '.join(used)}; settle such packs with the batch engine")


def _build(con: duckdb.DuckDBPyConnection, pack: PolicyPack, input_dir: Path) -> str:
    """Create the settled table ``settled`` and return the SELECT that gives the output rows."""
    starts = pack.change_dates()
    policies = [pack.at(d) for d in starts]
    _refuse_items_places(policies)
    _refuse_later_tiers(policies)
    by_person = [
        f"lines.{k}" for pol in policies for k, ln in pol.lines.items() if ln.person_terms or ln.age_bounded or ln.signed_only
    ]
    if by_person:
        raise ValueError(
            f"the DuckDB comparator does not settle by age band or resident tier (person_terms / age_from / age_below "
            f"on {sorted(set(by_person))}); compare such packs with settle() instead"
        )
    line_keys: list[str] = []
    for pol in policies:
        line_keys += [k for k in pol.lines if k not in line_keys]
    params, width, ci_width = _param_tables(policies, line_keys)
    for name, frame in params.items():
        con.register(f"{name}_df", frame)
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM {name}_df")
        con.unregister(f"{name}_df")

    f = {name: input_dir / f"{name}.parquet" for name in ("claims", "people", "identities", "chronic_filings", "cross_filings")}
    cols = _columns(con, f["claims"])
    pcols = _columns(con, f["people"])
    scp = "inscp_scp_amt" if "inscp_scp_amt" in cols else "NULL::BIGINT"
    full = "full_pay_scp_amt" if "full_pay_scp_amt" in cols else "0::BIGINT"
    emp_status = "emp_status" if "emp_status" in pcols else "NULL::VARCHAR"
    emp_tier = "emp_tier" if "emp_tier" in pcols else "NULL::VARCHAR"
    tier_case = "CASE emp_tier " + " ".join(f"WHEN '{t}' THEN {i}" for i, t in enumerate(TIERS)) + " ELSE 3 END"

    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE people AS
        SELECT row_number() OVER () AS pid, psn_no, insutype::VARCHAR AS insutype,
               {emp_status}::VARCHAR AS emp_status, {tier_case} AS tier
        FROM (SELECT psn_no, insutype, {emp_status} AS emp_status, {emp_tier} AS emp_tier FROM read_parquet('{f["people"]}'))
    """)
    # claims: one row each; rid (the file row) breaks ties between claims of one day
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE c0 AS
        SELECT c.file_row_number AS rid, c.claim_id, pe.pid, pe.insutype, pe.emp_status, pe.tier,
               c.setl_date AS d, year(c.setl_date) AS yr, {_period_case(starts)} AS p,
               c.med_type::VARCHAR AS med_type, c.hosp_lv::INTEGER AS lv,
               COALESCE(c.place, 'in_county') AS place, COALESCE(c.dise_codg, '') AS dise,
               c.medfee_sumamt::BIGINT AS medfee,
               COALESCE(c.{scp}, c.medfee_sumamt - c.fulamt_ownpay_amt - c.overlmt_selfpay - c.preselfpay_amt)::BIGINT AS scp,
               c.{full}::BIGINT AS full_amt
        FROM read_parquet('{f["claims"]}', file_row_number = true) c
        LEFT JOIN people pe USING (psn_no)
    """)
    bad = con.execute("SELECT claim_id FROM c0 WHERE pid IS NULL LIMIT 5").fetchall()
    if bad:
        raise ValueError(f"claims of persons not in the people table: {[r[0] for r in bad]}")

    # deciding identity: best-ranked identity valid on the claim date
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE ids AS
        SELECT pe.pid, pc.cat, i.valid_from, i.valid_to
        FROM read_parquet('{f["identities"]}') i JOIN people pe USING (psn_no) JOIN par_cat pc ON pc.category = i.category
    """)
    con.execute("""
        CREATE OR REPLACE TEMP TABLE ident AS
        SELECT c.rid, arg_min(pr.cat, pr.rank) AS cat
        FROM c0 c
        JOIN ids i ON i.pid = c.pid AND i.valid_from <= c.d AND (i.valid_to IS NULL OR c.d <= i.valid_to)
        JOIN par_prio pr ON pr.p = c.p AND pr.cat = i.cat
        GROUP BY c.rid
    """)
    # chronic filings (prefix of the claim's disease, valid on the date) and cross-region filings
    filing_meds = sorted({m for pol in policies for ln in pol.lines.values() if ln.requires_filing for m in ln.med_types})
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE filed AS
        SELECT DISTINCT c.rid
        FROM c0 c
        JOIN (SELECT pe.pid, upper(f.dise_codg) AS code, f."begin" AS b, f."end" AS e
              FROM read_parquet('{f["chronic_filings"]}') f JOIN people pe USING (psn_no)) f
          ON f.pid = c.pid AND f.b <= c.d AND (f.e IS NULL OR c.d <= f.e)
        WHERE c.med_type IN ({_sql_list(filing_meds) or "NULL"}) AND c.dise <> '' AND starts_with(upper(c.dise), f.code)
    """)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE cross_filed AS
        SELECT DISTINCT c.rid
        FROM c0 c
        JOIN (SELECT pe.pid, f."begin" AS b, f."end" AS e
              FROM read_parquet('{f["cross_filings"]}') f JOIN people pe USING (psn_no)) f
          ON f.pid = c.pid AND f.b <= c.d AND (f.e IS NULL OR c.d <= f.e)
        WHERE c.place = 'cross_region'
    """)
    place_case = (
        "CASE place WHEN 'in_county' THEN 0 WHEN 'out_of_county' THEN 1 "
        "WHEN 'cross_region' THEN CASE WHEN cf.rid IS NULL THEN 3 ELSE 2 END END"
    )
    con.execute("""
        CREATE OR REPLACE TEMP TABLE c0f AS
        SELECT c0.*, COALESCE(insutype, '') AS ins_key, COALESCE(emp_status, '') AS emp_key,
               COALESCE(med_type, '') AS med_key, fd.rid IS NOT NULL AS has_filing
        FROM c0 LEFT JOIN filed fd USING (rid)
    """)
    _line_choices(con, policies, line_keys)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE c1 AS
        SELECT c.*, COALESCE(i.cat, {CAT[ORDINARY]}) AS cat, {place_case} AS place_i, ch.l
        FROM c0f c
        JOIN par_choice ch USING (p, ins_key, emp_key, med_key, dise, has_filing)
        LEFT JOIN ident i USING (rid)
        LEFT JOIN cross_filed cf USING (rid)
    """)
    bad = con.execute(f"""
        SELECT claim_id, l, med_type, place, lv, d FROM c1
        WHERE l < 0 OR place_i IS NULL OR lv NOT IN (1, 2, 3) OR d < DATE '{pack.valid_from}'
              {f"OR d > DATE '{pack.valid_to}'" if pack.valid_to else ""}
              OR EXISTS (SELECT 1 FROM par_line pl WHERE pl.p = c1.p AND pl.l = c1.l AND pl.by_tier AND c1.tier = 3)
        LIMIT 5
    """).fetchall()
    if bad:
        raise ValueError(f"claims without a benefit line, emp_tier, known place, level or a date the pack covers: {bad}")
    for name in ("c0", "c0f", "ident", "filed", "cross_filed", "ids"):
        con.execute(f"DROP TABLE {name}")

    # basic insurance: parameters, deductible (admission ordinal / yearly cumulative base)
    ded_groups = sorted({int(g) for g, k in params["par_line"].select("ded_grp", "kind").iter_rows() if k == 2})
    excl = f"OVER (PARTITION BY pid, yr {ORDER} ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)"
    in_group = "kind = 2 AND ded_grp = {g}"
    ded_before = " ".join(
        f"WHEN {in_group.format(g=g)} THEN COALESCE((SUM(CASE WHEN {in_group.format(g=g)} THEN normal END) {excl})::BIGINT, 0)"
        for g in ded_groups
    )
    by_ordinal = "CASE LEAST(adm_before, 2) WHEN 0 THEN ded1 WHEN 1 THEN ded2 ELSE ded3 END"
    ded_full = f"(CASE kind WHEN 1 THEN {by_ordinal} WHEN 2 THEN ded1 ELSE 0 END)"
    band_s = [f"bs{b}" for b in range(width)]
    shorts = [TIER_SHORT[name] for name in TIER_NAMES]
    by_key = [f"cap{t}" for t in range(len(TIERS) + 1)] + [f"{t}_{ins}" for t in shorts for ins in INSUTYPES]
    on_cols = [
        "CASE c.insutype " + " ".join(f"WHEN '{ins}' THEN pb.{t}_{ins}" for ins in INSUTYPES) + f" ELSE false END AS {t}_on"
        for t in shorts
    ]
    band_r = [f"br{b}" for b in range(width)]
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE c2 AS
        SELECT *, {_banded("dedc", "normal", band_s, band_r)} + full_pay_amt - outside_amt AS raw
        FROM (
            SELECT *,
                   CASE kind
                     WHEN 1 THEN LEAST(normal, ded_amt)
                     WHEN 2 THEN normal - (GREATEST(ded_before + normal, ded_amt) - GREATEST(ded_before, ded_amt))
                     ELSE 0 END AS dedc
            FROM (
                SELECT *, {ded_full} AS ded_amt
                FROM (
                    SELECT *,
                           COALESCE((SUM(CASE WHEN kind = 1 THEN 1 ELSE 0 END) {excl})::BIGINT, 0) AS adm_before,
                           {f"CASE {ded_before} ELSE 0 END" if ded_groups else "0"} AS ded_before
                    FROM (
                        SELECT c.rid, c.claim_id, c.pid, c.d, c.yr, c.p, c.l, c.cat, c.insutype, c.medfee, c.scp,
                               CASE WHEN pln.full_pay THEN c.full_amt ELSE 0 END AS full_pay_amt,
                               CASE WHEN pln.full_outside THEN c.full_amt ELSE 0 END AS outside_amt,
                               c.scp - CASE WHEN pln.full_pay THEN c.full_amt ELSE 0 END AS normal,
                               pln.* EXCLUDE (p, l), pb.* EXCLUDE (p, l, cat, place, lv, {", ".join(by_key)}),
                               CASE c.tier WHEN 0 THEN pb.cap0 WHEN 1 THEN pb.cap1 WHEN 2 THEN pb.cap2 ELSE pb.cap3 END AS cap,
                               {", ".join(on_cols)}
                        FROM c1 c
                        JOIN par_line pln ON pln.p = c.p AND pln.l = c.l
                        JOIN par_basic pb
                          ON pb.p = c.p AND pb.l = c.l AND pb.cat = c.cat AND pb.place = c.place_i AND pb.lv = c.lv
                    )
                )
            )
        )
    """)
    con.execute("DROP TABLE c1")
    _capped(con, "c2", "hifp", grp="cap_grp")
    # full_pay_in_cap false: the listed items are paid in full beside what the cap allowed
    con.execute(
        "CREATE OR REPLACE TEMP TABLE hifp AS SELECT h.rid, h.pay + c.outside_amt AS pay FROM hifp h JOIN c2 c USING (rid)"
    )

    # critical illness: cumulative in-year base after basic, tilt by identity, bands
    cbs = [f"cbs{b}" for b in range(ci_width)]
    cbr = [f"cbr{b}" for b in range(ci_width)]
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE ci AS
        SELECT rid, pid, yr, d, base, ci_cap AS cap,
               {_banded("lo - shift", "hi - shift", cbs, cbr)} AS raw
        FROM (
            SELECT *, GREATEST(before, ded) AS lo, GREATEST(before + base, ded) AS hi,
                   CASE WHEN ci_above THEN ded ELSE 0 END AS shift
            FROM (
                SELECT *, COALESCE((SUM(base) {excl})::BIGINT, 0) AS before, ci_ded AS ded
                FROM (
                    SELECT c.rid, c.pid, c.yr, c.d, c.scp - h.pay AS base, t.*
                    FROM c2 c JOIN hifp h USING (rid) JOIN par_tier t ON t.p = c.p AND t.cat = c.cat
                    WHERE c.ci_on
                )
            )
        )
    """)
    _capped(con, "ci", "hifmi")

    # medical assistance by category, then tilted assistance, on what is left
    def threshold_tier(on: str, left: str, thr: str, ratio: str, cap: str, out: str) -> None:
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE {out}_in AS
            SELECT rid, pid, yr, d, {cap} AS cap,
                   {_rnd(f"(GREATEST(before + base, {thr}) - GREATEST(before, {thr})) * {ratio}")} AS raw
            FROM (
                SELECT *, COALESCE((SUM(base) {excl})::BIGINT, 0) AS before
                FROM (
                    SELECT c.rid, c.pid, c.yr, c.d, {left} AS base, t.*
                    FROM c2 c JOIN hifp h USING (rid) LEFT JOIN hifmi ci USING (rid) LEFT JOIN maf m USING (rid)
                    JOIN par_tier t ON t.p = c.p AND t.cat = c.cat
                    WHERE {on}
                )
            )
        """)
        _capped(con, f"{out}_in", out)
        con.execute(f"DROP TABLE {out}_in")

    con.execute("CREATE OR REPLACE TEMP TABLE maf (rid BIGINT, pay BIGINT)")
    threshold_tier("c.ma_on", "c.scp - h.pay - COALESCE(ci.pay, 0)", "ma_ded", "ma_ratio", "ma_cap", "maf_new")
    con.execute("DROP TABLE maf")
    con.execute("ALTER TABLE maf_new RENAME TO maf")
    threshold_tier("c.ta_on", "c.scp - h.pay - COALESCE(ci.pay, 0) - COALESCE(m.pay, 0)", "ta_thr", "ta_ratio", "ta_cap", "oth")

    return """
        SELECT c.claim_id, h.pay::BIGINT AS hifp_pay, COALESCE(ci.pay, 0)::BIGINT AS hifmi_pay,
               COALESCE(m.pay, 0)::BIGINT AS maf_pay, COALESCE(o.pay, 0)::BIGINT AS oth_pay,
               (c.medfee - h.pay - COALESCE(ci.pay, 0) - COALESCE(m.pay, 0) - COALESCE(o.pay, 0))::BIGINT AS psn_part_amt,
               c.dedc::BIGINT AS act_pay_dedc
        FROM c2 c JOIN hifp h USING (rid) LEFT JOIN hifmi ci USING (rid) LEFT JOIN maf m USING (rid) LEFT JOIN oth o USING (rid)
        ORDER BY c.rid
    """


def _connect(threads: int | None, memory_limit: str | None, temp_dir: Path | None) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    if memory_limit:
        con.execute(f"SET memory_limit = '{memory_limit}'")
    if temp_dir:
        con.execute(f"SET temp_directory = '{temp_dir}'")
    con.execute("SET preserve_insertion_order = false")
    return con


def settle_duckdb(
    pack: PolicyPack, input_dir: Path, *, threads: int | None = None, memory_limit: str | None = None
) -> pl.DataFrame:
    """One row per claim (file order): claim_id and the payers' amounts in fen, computed in DuckDB SQL."""
    con = _connect(threads, memory_limit, None)
    try:
        query = _build(con, pack, Path(input_dir))
        out = pl.from_arrow(con.sql(query).to_arrow_table())
        assert isinstance(out, pl.DataFrame)
        return out
    finally:
        con.close()


def settle_duckdb_to_parquet(
    pack: PolicyPack, input_dir: Path, out: Path, *, threads: int | None = None, memory_limit: str | None = None
) -> int:
    """Parquet in, Parquet out (zstd); returns the number of claims written."""
    con = _connect(threads, memory_limit, Path(out).parent / ".duckdb-tmp")
    try:
        query = _build(con, pack, Path(input_dir))
        con.execute(f"COPY ({query}) TO '{out}' (FORMAT parquet, COMPRESSION zstd)")
        return int(con.execute("SELECT count(*) FROM c2").fetchone()[0])  # type: ignore[index]
    finally:
        con.close()


# ---------------------------------------------------------------- check against the batch engine


def compare(batch: pl.DataFrame, sql: pl.DataFrame, columns: tuple[str, ...] = OUT_COLUMNS[1:]) -> pl.DataFrame:
    """Claims whose amounts differ between two results (joined on claim_id); missing claims count as differences."""
    j = batch.select("claim_id", *columns).join(sql.select("claim_id", *columns), on="claim_id", how="full", suffix="_sql")
    diff = pl.any_horizontal(*(pl.col(c).ne_missing(pl.col(f"{c}_sql")) for c in columns))
    return j.filter(diff)


def _dated(first: int, july: int) -> list[dict[str, Any]]:
    return [
        {"from": "2022-01-01", "value": first, "assumed": "stress"},
        {"from": "2022-07-01", "value": july, "assumed": "stress"},
    ]


STRESS: dict[str, Any] = {
    # anhui-huaibei-2022 keys; tight values so that caps bind, thresholds are crossed and a dated
    # change on 1 July starts a new period (cap runs within a person-year)
    "lines.inpatient.cap": _dated(20000, 25000),
    "lines.inpatient.identity_overrides": {
        "dibao": {"deductible_pct": {"value": 50, "assumed": "stress"}, "ratio_add": {"value": 5, "assumed": "stress"},
                  "no_cap": True},
        "jiance": {"deductible_pct": {"value": 33, "assumed": "stress"}, "ratio_add": {"value": -3, "assumed": "stress"}},
    },
    "lines.inpatient.ratio_bands": {"value": [{"start": 0, "add": 0}, {"start": 3000, "add": 10}], "assumed": "stress"},
    "lines.outpatient.deductible": _dated(50, 80),
    "lines.outpatient.cap": {"value": 150, "assumed": "stress"},
    "lines.two_diseases.full_pay_items": ["X"],
    "lines.two_diseases.cap": {"value": 60, "assumed": "stress"},
    "critical_illness.deductible": {"value": 1000, "assumed": "stress"},
    "critical_illness.cap": _dated(3000, 4000),
    "critical_illness.bands": {"value": [{"start": 0, "ratio": 50}, {"start": 2000, "ratio": 60}, {"start": 6000, "ratio": 75}],
                               "assumed": "stress"},
    "critical_illness.tilt.categories": ["tekun", "fanpin"],
    "assistance.limit": _dated(2000, 2500),
    "assistance.categories.tuopin": {
        "deductible": {"value": 300, "assumed": "stress"},
        "ratio": {"value": 40, "assumed": "stress"},
    },
    "tilted_assistance.threshold": {"value": 200, "assumed": "stress"},
    "tilted_assistance.cap": {"value": 800, "assumed": "stress"},
    "tilted_assistance.categories": ["tekun", "dibao", "fanpin", "jiance", "tuopin"],
}  # fmt: skip


def _check(argv: list[str] | None = None) -> int:
    from yibao import synth
    from yibao.policy.overlay import apply_overlay, load_overlay, overlay_from_mapping
    from yibao.settlement.batch.engine import settle_batch
    from yibao.settlement.batch.io import read_input

    ap = argparse.ArgumentParser(description="Check settle_duckdb against settle_batch on a synthetic county.")
    ap.add_argument("--check", action="store_true", help="(the only mode)")
    ap.add_argument("--persons", type=int, default=50_000, help="people in the synthetic county (default 50000)")
    ap.add_argument("--seed", type=int, default=7, help="the county's seed (default 7)")
    ap.add_argument("--pack", default="anhui-huaibei-2022", help="the policy pack (default anhui-huaibei-2022)")
    ap.add_argument(
        "--dir",
        type=Path,
        default=Path("/tmp/yibao-duckdb-check"),
        help="where the county's files go (default /tmp/yibao-duckdb-check)",
    )
    ap.add_argument("--stress", action="store_true", help="tight caps and thresholds, mid-year changes")
    args = ap.parse_args(argv)
    pack = load_pack(args.pack)
    if not any(ln.insutype == "310" for d in pack.change_dates() for ln in pack.at(d).lines.values()):
        pack = apply_overlay(pack, load_overlay(Path(__file__).with_name("employee-lines.yaml")))
    if args.stress:
        pack = apply_overlay(pack, overlay_from_mapping({"overlay": "stress", "changes": STRESS}, "stress"))
    county = synth.generate(args.persons, pack.valid_from.year, args.seed)
    synth.write(county, args.dir)
    t = time.perf_counter()
    batch = settle_batch(pack, read_input(args.dir)).claims
    t_batch = time.perf_counter() - t
    t = time.perf_counter()
    sql = settle_duckdb(pack, args.dir)
    t_sql = time.perf_counter() - t
    bad = compare(batch, sql)
    print(f"{batch.height:,} claims: batch {t_batch:.2f}s, duckdb {t_sql:.2f}s; differences: {bad.height}")
    for name in OUT_COLUMNS[1:]:
        print(f"  {name:>14}: total {batch[name].sum():>16,} fen, nonzero on {int((batch[name] != 0).sum()):>8,} claims")
    if bad.height:
        print(bad.head(20))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(_check())
