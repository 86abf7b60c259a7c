"""Capitation (门诊统筹人头定额) through files: the claims CSV reader takes townships, the batch engine takes them from
a county directory and writes captn_pay and captn_town, the settlement CSV lists them."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from yibao.core.errors import InputErrors
from yibao.interfaces.claim_csv import read_claims, read_people
from yibao.interfaces.settlement_csv import write_settlements
from yibao.policy.pack import load_pack
from yibao.settlement.batch.frames import to_frames
from yibao.settlement.batch.io import run_batch
from yibao.settlement.batch.result import read_result
from yibao.settlement.settle import settle_sequence

PEOPLE = "psn_no,identities,township,signed_township\nP1,pinkun:2019-01-01,370303101,\nP2,, 370303101 ,370303102\n"
CLAIMS = (
    "claim_id,psn_no,setl_date,med_type,hosp_lv,medfee_sumamt,township\n"
    + "".join(f"C{i},P1,2020-03-0{i + 1},11,1,300,370303101\n" for i in range(4))
    + "C4,P2,2020-03-01,11,1,300,370303101\nC5,P2,2020-03-02,11,1,300,370303102\nC6,P2,2020-03-03,11,1,300,\n"
)


def _files(tmp_path: Path, people: str = PEOPLE, claims: str = CLAIMS) -> tuple[Path, Path]:
    (tmp_path / "people.csv").write_text(people, encoding="utf-8")
    (tmp_path / "claims.csv").write_text(claims, encoding="utf-8")
    return tmp_path / "people.csv", tmp_path / "claims.csv"


def test_claims_csv_carries_townships(tmp_path: Path) -> None:
    people_csv, claims_csv = _files(tmp_path)
    people = read_people(people_csv)
    assert (people["P1"].township, people["P1"].signed_township) == ("370303101", "")
    assert (people["P2"].township, people["P2"].signed_township) == ("370303101", "370303102")  # trimmed
    claims = read_claims(claims_csv, people)
    assert [c.township for c in claims] == ["370303101"] * 5 + ["370303102", ""]


def test_a_bad_township_is_refused_naming_file_row_field_and_value(tmp_path: Path) -> None:
    people_csv, claims_csv = _files(
        tmp_path,
        people="psn_no,township,signed_township\nP1,370303101|370303102,\nP2,," + "镇" * 65 + "\n",
        claims="claim_id,psn_no,setl_date,med_type,hosp_lv,medfee_sumamt,township\nC1,P1,2020-03-01,11,1,300,T1:2020-03-01\n",
    )
    with pytest.raises(InputErrors) as info:
        read_people(people_csv)
    got = [(e.where, e.field, e.value) for e in info.value.errors]
    assert got == [
        ("people.csv row 2", "township", "370303101|370303102"),
        ("people.csv row 3", "signed_township", "镇" * 65),
    ]
    _files(tmp_path, people="psn_no\nP1\n", claims=claims_csv.read_text(encoding="utf-8"))
    with pytest.raises(InputErrors) as info:
        read_claims(claims_csv, read_people(people_csv))
    assert [(e.where, e.field, e.value) for e in info.value.errors] == [("claims.csv row 2", "township", "T1:2020-03-01")]


def test_batch_from_a_directory_pays_by_head_as_settle_does(tmp_path: Path) -> None:
    """Zibo (counted: enrolled): P1 (建档立卡) in their own township: 150 yuan a 300-yuan visit, 150 then 50 by head,
    item by item after; P2 lives in township …101 (signed with …102): by head there, not at …102's clinic (not
    counted there) nor at a clinic of no township. The county directory's CSVs keep the digit-only names as text."""
    pack = load_pack("shandong-zibo-2020")
    people = read_people(_files(tmp_path)[0])
    claims = read_claims(tmp_path / "claims.csv", people)
    frames = to_frames(people.values(), claims)
    county = tmp_path / "county"
    county.mkdir()
    frames.claims.drop("inscp_scp_amt").write_csv(county / "claims.csv")  # empty (none given): derived
    frames.people.write_csv(county / "people.csv")
    frames.identities.write_csv(county / "identities.csv")
    run = run_batch(pack, county, tmp_path / "result.parquet", chunk=2)
    rows = {r["claim_id"]: r for r in read_result(run.out).iter_rows(named=True)}
    assert [rows[f"C{i}"]["hifp_pay"] for i in range(7)] == [15_000] * 4 + [15_000, 5_000, 0]
    assert [rows[f"C{i}"]["captn_pay"] for i in range(7)] == [15_000, 5_000, 0, 0, 15_000, 0, 0]
    assert [rows[f"C{i}"]["captn_town"] for i in range(7)] == ["370303101"] * 5 + ["", ""]
    settled = [s for p in people.values() for s in settle_sequence(pack, p, [c for c in claims if c.psn_no == p.psn_no])]
    assert {s.claim_id: (s.hifp_pay, s.captn_pay, s.captn_town) for s in settled} == {
        k: (r["hifp_pay"], r["captn_pay"], r["captn_town"]) for k, r in rows.items()
    }
    out = tmp_path / "settled.csv"
    write_settlements(out, settled, "en")
    with out.open(encoding="utf-8-sig", newline="") as fh:
        listed = {r["claim_id"]: r for r in csv.DictReader(fh)}
    assert (listed["C1"]["hifp_pay"], listed["C1"]["captn_pay"], listed["C1"]["captn_town"]) == ("150.00", "50.00", "370303101")
    assert (listed["C5"]["captn_pay"], listed["C5"]["captn_town"]) == ("0.00", "")
