"""The same settlement rules in DuckDB SQL: what an analyst would otherwise write.

``settle_duckdb(pack, input_dir)`` reads the synthetic county's Parquet files
(``claims``, ``people``, ``identities``, ``chronic_filings``, ``cross_filings``) with
``read_parquet`` and settles every claim with SQL only; Python just turns the resolved
policies (``pack.at(date)`` on each change date) into small parameter tables and writes the
SQL text. The result agrees with :func:`yibao.settlement.batch.engine.settle_batch` to the fen
(``python bench/duckdb_engine.py --check`` checks it on a synthetic county).

How the rules map to SQL:

* period: a CASE over the pack's change dates; identity: join the identities valid on the
  claim date to a ``(period, category) -> rank`` table and keep the best rank
  (``arg_min``), ``ordinary`` otherwise;
* benefit line: a CASE over the pack's lines in order (scheme, med_type, employment
  status, disease prefixes), chronic filings by a semi-join, the line's ``fallback`` when
  no filing covers the claim;
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
from yibao.policy.pack import PolicyPack, load_pack
from yibao.policy.schema import LEVELS, PLACES, Policy

INF = 1 << 60
CATS: tuple[str, ...] = tuple(CATEGORIES)
CAT = {c: i for i, c in enumerate(CATS)}
TIERS: tuple[str, ...] = ("unit", "individual_1", "individual_2")  # index 3: no tier
OUT_COLUMNS = ("claim_id", "hifp_pay", "hifmi_pay", "maf_pay", "oth_pay", "psn_part_amt", "act_pay_dedc")
ORDER = "ORDER BY d, rid"


def _rnd(num: str) -> str:
    """``num / BP`` rounded half up: yibao.core.money.round_half_up_div in integer SQL."""
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


def _pad(rows: list[list[tuple[int, int]]]) -> tuple[int, list[list[tuple[int, int]]]]:
    width = max(len(r) for r in rows)
    return width, [r + [(INF, 0)] * (width - len(r)) for r in rows]


def _param_tables(policies: list[Policy], line_keys: list[str]) -> tuple[dict[str, pl.DataFrame], int, int]:
    """Small parameter tables keyed by period ``p``, line ``l``, category ``cat``, place, level, tier."""
    groups: dict[str, int] = {}

    def gid(name: str) -> int:
        return groups.setdefault(name, len(groups))

    line_rows: list[dict[str, Any]] = []
    line_bands: list[list[tuple[int, int]]] = []
    basic_rows: list[dict[str, Any]] = []
    ded_rows: list[dict[str, Any]] = []
    for p, pol in enumerate(policies):
        for key, line in pol.lines.items():
            lid = line_keys.index(key)
            ci = pol.critical_illness
            ci_here = ci is not None and key in ci.lines
            line_rows.append({
                "p": p, "l": lid,
                "kind": {"none": 0, "admission": 1, "year": 2}[line.deductible_kind],
                "cap_grp": gid("cap:" + (line.cap_group or key)),
                "ded_grp": gid("ded:" + (line.deductible_group or key)),
                "full_pay": bool(line.full_pay_items),
                "by_tier": line.cap_by_tier is not None,
                "ci_390": ci_here and ci is not None and "390" in ci.insutypes,
                "ci_310": ci_here and ci is not None and "310" in ci.insutypes,
            })  # fmt: skip
            line_bands.append([(b.start, b.add) for b in line.ratio_bands] or [(0, 0)])
            tables = [line.deductible, line.deductible_2nd or line.deductible]
            tables.append(line.deductible_3rd or tables[1])
            for lv in LEVELS:
                ded_rows.append({"p": p, "l": lid, "lv": lv, **{f"ded{o + 1}": t[lv] for o, t in enumerate(tables)}})
            ma, ta = pol.assistance, pol.tilted_assistance
            for cat in CATS:
                ov = line.identity_overrides.get(cat)
                caps = []
                for tier in (*TIERS, None):
                    if ov is not None and ov.no_cap:
                        caps.append(INF)
                    elif line.cap_by_tier is not None and tier is not None:
                        caps.append(line.cap_by_tier[tier])
                    else:
                        caps.append(INF if line.cap is None else line.cap)
                for pl_i, place in enumerate(PLACES):
                    for lv in LEVELS:
                        basic_rows.append({
                            "p": p, "l": lid, "cat": CAT[cat], "place": pl_i, "lv": lv,
                            "ratio": line.ratio[place][lv] + (ov.ratio_add if ov else 0),
                            "ded_pct": ov.deductible_pct if ov else BP,
                            **{f"cap{t}": c for t, c in enumerate(caps)},
                            "ma_on": ma is not None and key in ma.lines and cat in ma.categories,
                            "ta_on": ta is not None and key in ta.lines and cat in ta.categories,
                        })  # fmt: skip
    width, padded = _pad(line_bands)
    for row, bands in zip(line_rows, padded, strict=True):
        for b, (s, a) in enumerate(bands):
            row[f"bs{b}"], row[f"ba{b}"] = s, a

    tier_rows: list[dict[str, Any]] = []
    ci_bands: list[list[tuple[int, int]]] = []
    for p, pol in enumerate(policies):
        ci, ma, ta = pol.critical_illness, pol.assistance, pol.tilted_assistance
        ci_bands.append([(b.start, b.ratio) for b in ci.bands] if ci else [(0, 0)])
        for cat in CATS:
            tilt = ci.tilt if ci is not None and ci.tilt is not None and cat in ci.tilt.categories else None
            macat = ma.categories.get(cat) if ma is not None else None
            tier_rows.append({
                "p": p, "cat": CAT[cat],
                "ci_ded_full": ci.deductible if ci else 0,
                "ci_ded_pct": tilt.deductible_pct if tilt else BP,
                "ci_add": tilt.ratio_add if tilt else 0,
                "ci_cap": INF if ci is None or ci.cap is None or (tilt and tilt.no_cap) else ci.cap,
                "ci_above": ci is not None and ci.band_basis == "above_deductible",
                "ma_ded": macat.deductible if macat else 0,
                "ma_ratio": macat.ratio if macat else 0,
                "ma_limit": ma.limit if ma else INF,
                "ta_thr": ta.threshold if ta else 0,
                "ta_ratio": ta.ratio if ta else 0,
                "ta_cap": ta.cap if ta else INF,
            })  # fmt: skip
    ci_width, ci_padded = _pad(ci_bands)
    for row in tier_rows:
        for b, (s, r) in enumerate(ci_padded[row["p"]]):
            row[f"cbs{b}"], row[f"cbr{b}"] = s, r

    prio_rows = [
        {"p": p, "cat": CAT[c], "rank": r} for p, pol in enumerate(policies) for r, c in enumerate(pol.identity_priority)
    ]
    tables = {
        "par_line": pl.DataFrame(line_rows),
        "par_ded": pl.DataFrame(ded_rows),
        "par_basic": pl.DataFrame(basic_rows),
        "par_tier": pl.DataFrame(tier_rows),
        "par_prio": pl.DataFrame(prio_rows, schema={"p": pl.Int64, "cat": pl.Int64, "rank": pl.Int64}),
        "par_cat": pl.DataFrame({"category": list(CATS), "cat": list(range(len(CATS)))}),
    }
    return tables, width, ci_width


# ---------------------------------------------------------------- SQL text


def _period_case(starts: list[date]) -> str:
    if len(starts) == 1:
        return "0"
    whens = " ".join(f"WHEN setl_date >= DATE '{d.isoformat()}' THEN {p}" for p, d in reversed(list(enumerate(starts))))
    return f"CASE {whens} ELSE 0 END"


def _line_case(policies: list[Policy], line_keys: list[str]) -> str:
    """The first line matching scheme, med_type, status and disease; filing lines fall back (-2: no fallback)."""
    per_period = []
    for pol in policies:
        whens = []
        for key, ln in pol.lines.items():
            cond = [f"insutype = '{ln.insutype}'", f"med_type IN ({_sql_list(ln.med_types)})"]
            if ln.emp_status is not None:
                cond.append(f"emp_status = '{ln.emp_status}'")
            if ln.diseases:
                cond.append("(" + " OR ".join(f"starts_with(upper(dise), '{d.upper()}')" for d in ln.diseases) + ")")
            chosen = str(line_keys.index(key))
            if ln.requires_filing:
                fb = str(line_keys.index(ln.fallback)) if ln.fallback else "-2"
                chosen = f"CASE WHEN has_filing THEN {chosen} ELSE {fb} END"
            whens.append(f"WHEN {' AND '.join(cond)} THEN {chosen}")
        per_period.append(f"CASE {' '.join(whens)} ELSE -1 END")
    if len(per_period) == 1:
        return per_period[0]
    return "CASE " + " ".join(f"WHEN p = {p} THEN {c}" for p, c in enumerate(per_period)) + " END"


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


def _build(con: duckdb.DuckDBPyConnection, pack: PolicyPack, input_dir: Path) -> str:
    """Create the settled table ``settled`` and return the SELECT that gives the output rows."""
    starts = pack.change_dates()
    policies = [pack.at(d) for d in starts]
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
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE c1 AS
        SELECT c.*, COALESCE(i.cat, {CAT[ORDINARY]}) AS cat, {place_case} AS place_i, {_line_case(policies, line_keys)} AS l
        FROM (SELECT c0.*, fd.rid IS NOT NULL AS has_filing FROM c0 LEFT JOIN filed fd USING (rid)) c
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
    for name in ("c0", "ident", "filed", "cross_filed", "ids"):
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
    band_r = [f"ratio + ba{b}" for b in range(width)]
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE c2 AS
        SELECT *, {_banded("dedc", "normal", band_s, band_r)} + full_pay_amt AS raw
        FROM (
            SELECT *,
                   CASE kind
                     WHEN 1 THEN LEAST(normal, ded_amt)
                     WHEN 2 THEN normal - (GREATEST(ded_before + normal, ded_amt) - GREATEST(ded_before, ded_amt))
                     ELSE 0 END AS dedc
            FROM (
                SELECT *,
                       {_rnd(f"{ded_full} * ded_pct")} AS ded_amt
                FROM (
                    SELECT *,
                           COALESCE((SUM(CASE WHEN kind = 1 THEN 1 ELSE 0 END) {excl})::BIGINT, 0) AS adm_before,
                           {f"CASE {ded_before} ELSE 0 END" if ded_groups else "0"} AS ded_before
                    FROM (
                        SELECT c.rid, c.claim_id, c.pid, c.d, c.yr, c.p, c.l, c.cat, c.insutype, c.medfee, c.scp,
                               CASE WHEN pln.full_pay THEN c.full_amt ELSE 0 END AS full_pay_amt,
                               c.scp - CASE WHEN pln.full_pay THEN c.full_amt ELSE 0 END AS normal,
                               pln.*  EXCLUDE (p, l), pb.ratio, pb.ded_pct, pb.ma_on, pb.ta_on,
                               CASE c.tier WHEN 0 THEN pb.cap0 WHEN 1 THEN pb.cap1 WHEN 2 THEN pb.cap2 ELSE pb.cap3 END AS cap,
                               pd.ded1, pd.ded2, pd.ded3
                        FROM c1 c
                        JOIN par_line pln ON pln.p = c.p AND pln.l = c.l
                        JOIN par_basic pb
                          ON pb.p = c.p AND pb.l = c.l AND pb.cat = c.cat AND pb.place = c.place_i AND pb.lv = c.lv
                        JOIN par_ded pd ON pd.p = c.p AND pd.l = c.l AND pd.lv = c.lv
                    )
                )
            )
        )
    """)
    con.execute("DROP TABLE c1")
    _capped(con, "c2", "hifp", grp="cap_grp")

    # critical illness: cumulative in-year base after basic, tilt by identity, bands
    cbs = [f"cbs{b}" for b in range(ci_width)]
    cbr = [f"cbr{b} + ci_add" for b in range(ci_width)]
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE ci AS
        SELECT rid, pid, yr, d, base, ci_cap AS cap,
               {_banded("lo - shift", "hi - shift", cbs, cbr)} AS raw
        FROM (
            SELECT *, GREATEST(before, ded) AS lo, GREATEST(before + base, ded) AS hi,
                   CASE WHEN ci_above THEN ded ELSE 0 END AS shift
            FROM (
                SELECT *, COALESCE((SUM(base) {excl})::BIGINT, 0) AS before, {_rnd("ci_ded_full * ci_ded_pct")} AS ded
                FROM (
                    SELECT c.rid, c.pid, c.yr, c.d, c.scp - h.pay AS base, t.*
                    FROM c2 c JOIN hifp h USING (rid) JOIN par_tier t ON t.p = c.p AND t.cat = c.cat
                    WHERE CASE c.insutype WHEN '390' THEN c.ci_390 WHEN '310' THEN c.ci_310 ELSE false END
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
    threshold_tier("c.ma_on", "c.scp - h.pay - COALESCE(ci.pay, 0)", "ma_ded", "ma_ratio", "ma_limit", "maf_new")
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
    ap.add_argument("--persons", type=int, default=50_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--pack", default="anhui-huaibei-2022")
    ap.add_argument("--dir", type=Path, default=Path("/tmp/yibao-duckdb-check"))
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
