"""``db load-synth`` loads a synthetic county's institutions with its people, so reports and slips name them
(SQLite and PostgreSQL); institutions already known are kept as they are."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import sqlalchemy as sa

from yibao import synth
from yibao.app.bulk_load import load_synth
from yibao.app.report_sources import institution_names
from yibao.store.db import Database
from yibao.store.service_tables import Institution


def test_load_synth_loads_the_institutions(db: Database, tmp_path: Path) -> None:
    folder = tmp_path / "county"
    synth.write(synth.generate(60, 2022, 2), folder)
    listed = pl.read_parquet(folder / "institutions.parquet").with_columns(pl.col(pl.Categorical).cast(pl.Utf8))
    first = str(listed["fixmedins_code"][0])
    with db.unit_of_work() as s:  # one already known under another name: left as it is
        s.add(Institution(fixmedins_code=first, fixmedins_name="本局登记的名称", hosp_lv=1, place="in_county", admdvs=None))
        s.commit()
    result = load_synth(db, folder, user="test")
    assert result.institutions == listed.height - 1
    with db.unit_of_work() as s:
        names = dict(institution_names(s).iter_rows())
        assert s.scalar(sa.select(sa.func.count()).select_from(Institution)) == listed.height
    expected = dict(zip(listed["fixmedins_code"].to_list(), listed["fixmedins_name"].to_list(), strict=True))
    assert names == expected | {first: "本局登记的名称"}
