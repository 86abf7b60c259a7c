"""Synthetic county generator: people, identities, enrolments, filings and a year of claims.

The county looks like Lincang's Linxiang district (临沧市临翔区, 530902): ten townships of
about ten villages each, households of one to six people who mostly share a village and an
identity. The identity mix follows seed 000 (of 556,100 monitored people 367,300 脱贫,
38,300 "三类人员" and 150,500 农村低保/特困, about a quarter of Lincang's ~2.2 million people);
about 4% of people change identity during the year (for instance 监测 -> 低保 on some date:
the old period ends the day before, the new one starts that day). Inpatient costs are
heavy-tailed around Lincang's 359.77m yuan / 63,400 admissions ≈ 5,675 yuan each; chronic
outpatient visits around its 115.91m / 253,400 ≈ 457 yuan.

Everything is drawn in whole columns with numpy (``np.random.Generator``) and assembled with
Polars: no loop over people or claims (claims are drawn for blocks of 131,072 people, each
block with its own random stream, on a few threads). The same ``(persons, year, seed)``
gives the same frames and byte-identical files, whatever the number of cores.

Files (:func:`~yibao.synth.files.write`, zstd Parquet; amounts int64 fen, dates ``pl.Date``):

- ``people``: psn_no, certno (GB 11643, birth date and sex inside agree with brdy and gend),
  psn_name, gend ("1" male, "2" female), brdy, hh_no, county, township, village, insutype
  ("390"/"310"), emp_status, emp_tier (employees only), income_fen (per-capita disposable).
- ``identities``: psn_no, category, valid_from, valid_to (null = open), source_bureau.
- ``enrolments``: psn_no, year, insutype, psn_insu_stas ("1" normal, "0" not enrolled,
  "4" special), special_status (deceased, military, prison, other_province or null).
- ``chronic_filings``: psn_no, dise_codg, begin, end.  ``cross_filings``: psn_no, begin, end.
- ``claims`` sorted by (psn_no, setl_date, claim_id): see :data:`CLAIM_COLUMNS`.
  ``fulamt_ownpay_amt + overlmt_selfpay + preselfpay_amt + inscp_scp_amt == medfee_sumamt``
  exactly; ``full_pay_scp_amt`` (<= inscp_scp_amt) only on two-disease (11 + I10/E11) claims;
  a 14 claim always has a filing for its dise_codg in force on its date.
- ``institutions``: fixmedins_code, fixmedins_name, hosp_lv, place, admdvs (extra: the ~30
  institutions the claims use, each with one level).
- ``manifest.json``: persons, year, seed, row counts, yibao version (no timestamp).

Modules: :mod:`~yibao.synth.county` (:class:`SynthCounty`, :func:`generate`),
:mod:`~yibao.synth.people`, :mod:`~yibao.synth.identities`, :mod:`~yibao.synth.enrolments`,
:mod:`~yibao.synth.filings`, :mod:`~yibao.synth.claims`, :mod:`~yibao.synth.places`,
:mod:`~yibao.synth.files` (Parquet and the manifest), :mod:`~yibao.synth.summaries` (the mix),
:mod:`~yibao.synth.settlement_model` (the bridge to the pure core) and
:mod:`~yibao.synth.bureau_rosters` (the rosters other bureaus would send). This package re-exports
the public names, so ``from yibao import synth; synth.generate(...)`` reads as before.
"""

from __future__ import annotations

from yibao.synth.claims import CLAIM_COLUMNS, DISE_CODES, INPATIENT_RATE, MED_TYPES
from yibao.synth.county import FILES, Progress, SynthCounty, generate
from yibao.synth.files import CODED, manifest, read, write
from yibao.synth.filings import CHRONIC_DISEASES
from yibao.synth.identities import (
    CATS,
    IDENTITY_PRIORITY,
    LINCANG_INPATIENT_MEAN_YUAN,
    LINCANG_MONITORED,
    LINCANG_POPULATION,
    MIX_GROUPS,
    START_SHARES,
    TRANSITIONS,
)
from yibao.synth.people import gb11643_check
from yibao.synth.places import COUNTY, COUNTY_ADMDVS, INSTITUTIONS, PLACES, TOWNSHIPS, VILLAGES, Institution, institutions_frame
from yibao.synth.settlement_model import to_people_and_claims
from yibao.synth.summaries import identity_mix, lincang_mix

__all__ = [
    "CATS",
    "CHRONIC_DISEASES",
    "CLAIM_COLUMNS",
    "CODED",
    "COUNTY",
    "COUNTY_ADMDVS",
    "DISE_CODES",
    "FILES",
    "IDENTITY_PRIORITY",
    "INPATIENT_RATE",
    "INSTITUTIONS",
    "LINCANG_INPATIENT_MEAN_YUAN",
    "LINCANG_MONITORED",
    "LINCANG_POPULATION",
    "MED_TYPES",
    "MIX_GROUPS",
    "PLACES",
    "START_SHARES",
    "TOWNSHIPS",
    "TRANSITIONS",
    "VILLAGES",
    "Institution",
    "Progress",
    "SynthCounty",
    "gb11643_check",
    "generate",
    "identity_mix",
    "institutions_frame",
    "lincang_mix",
    "manifest",
    "read",
    "to_people_and_claims",
    "write",
]
