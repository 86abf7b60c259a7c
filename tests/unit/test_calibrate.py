"""``yibao policy calibrate``: scaling, the YAML rewrite, the refusals, and a fit on a small county."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
import yaml
from typer.testing import CliRunner

from yibao import synth
from yibao.app.calibrate import calibrate, county_input
from yibao.core.errors import InputError
from yibao.entrypoints.cli.main import app as cli_app
from yibao.policy.calibrate import TOL_POINTS, check_knob, scale_value, write_back
from yibao.policy.pack import load_pack, pack_from_mapping
from yibao.settlement.batch.engine import settle_batch

HUAIBEI = "anhui-huaibei-2022"


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("calib") / "county-2022"
    synth.write(synth.generate(3000, 2022, 7), out)
    return out


def test_ratios_scale_within_0_to_100_keeping_their_order_and_band_starts() -> None:
    table = {"in_county": {1: 85, 2: 75, 3: 65}, "cross_unfiled": 40}
    # 85 x 1.2 = 102 -> 100; 75 x 1.2 = 90; 65 x 1.2 = 78; 40 x 1.2 = 48
    assert scale_value(table, 1.2, "ratio") == {"in_county": {1: 100, 2: 90, 3: 78}, "cross_unfiled": 48}
    # 60 x 1.0033 = 60.198 -> 60.2; 65 x 1.0033 = 65.2145 -> 65.21; the starts stay
    bands = [{"start": 0, "ratio": 60}, {"start": 50000, "ratio": 65}]
    assert scale_value(bands, 1.0033, "ratio") == [{"start": 0, "ratio": 60.2}, {"start": 50000, "ratio": 65.21}]
    # an amount: 400 x 2.5 = 1,000 yuan
    assert scale_value(400, 2.5, "amount") == 1000


def test_write_back_rewrites_only_the_leaf_and_keeps_comments() -> None:
    text = (
        "# a pack\n"
        "policy:\n"
        "  lines:\n"
        "    inpatient:\n"
        "      # the ratio table\n"
        "      ratio:\n"
        "        value:\n"
        "          in_county: {1: 85, 2: 75}\n"
        '        assumed: "a guess"\n'
        '      cap: {value: 300000, assumed: "cap"}  \n'
        "  fee:\n"
        '    class_b_selfpay_first: {value: 10, source: "seed"}\n'
    )
    out = write_back(
        text,
        {
            ("lines", "inpatient", "ratio"): ({"in_county": {1: 100, 2: 90}}, "calibrated"),
            ("lines", "inpatient", "cap"): (250000, "calibrated too"),
        },
    )
    assert out.splitlines() == [
        "# a pack",
        "policy:",
        "  lines:",
        "    inpatient:",
        "      # the ratio table",
        "      ratio:",
        "        value:",
        "          in_county: {1: 100, 2: 90}",
        '        assumed: "calibrated"',
        '      cap: {value: 250000, assumed: "calibrated too"}',
        "  fee:",
        '    class_b_selfpay_first: {value: 10, source: "seed"}',
    ]


def test_a_sourced_unknown_or_unscalable_leaf_is_refused() -> None:
    pack = load_pack(HUAIBEI)
    with pytest.raises(InputError, match="has a source"):
        check_knob(pack, ("assistance", "categories", "tekun", "ratio"), "test")
    with pytest.raises(InputError, match="a parameter of pack"):
        check_knob(pack, ("lines", "nowhere", "ratio"), "test")
    with pytest.raises(InputError, match="a ratio or amount parameter"):
        check_knob(pack, ("premium", "cutoff"), "test")
    check_knob(pack, ("lines", "inpatient", "ratio"), "test")  # assumed: allowed


def test_fit_on_a_small_county_hits_the_target_and_never_moves_a_sourced_parameter(county: Path) -> None:
    base = load_pack(HUAIBEI)
    result = calibrate(HUAIBEI, {"basic_inpatient": 70.0, "critical_illness": 65.0}, county)
    assert result.fit.ok
    fitted = pack_from_mapping(yaml.safe_load(result.text), "fitted.yaml")
    # the outcome recomputed here from the fitted file: residents' inpatient basic pay over the policy range
    claims = settle_batch(fitted, county_input(county, fitted)).claims
    resident_inpatient = claims.filter(
        (pl.col("med_type").cast(pl.Utf8) == "21") & ~pl.col("line").cast(pl.Utf8).str.starts_with("employee")
    )
    got = 100 * resident_inpatient["hifp_pay"].sum() / resident_inpatient["inscp_scp_amt"].sum()
    assert abs(got - 70.0) <= TOL_POINTS
    # every sourced leaf as it was; the moved leaves now say what they were calibrated to
    for path, leaf in base.leaves.items():
        if any(v.source is not None for v in leaf.values):
            assert fitted.leaves[path] == leaf, path
    for path in (("lines", "inpatient", "ratio"), ("critical_illness", "bands")):
        note = fitted.leaves[path].values[0].assumed or ""
        assert note.startswith("calibrated to ") and "residual" in note and county.name in note


def _run(*args: str) -> tuple[int, str]:
    res = CliRunner().invoke(cli_app, ["policy", "calibrate", *args])
    return res.exit_code, res.output


def test_cli_refuses_unknown_target_malformed_value_and_sourced_leaf(county: Path, tmp_path: Path) -> None:
    code, out = _run(HUAIBEI, "--county", str(county), "--target", "happiness=99", "-o", str(tmp_path / "p.yaml"))
    assert code == 2 and "happiness=99" in out and "priority_inpatient" in out and "名称=取值" in out
    code, out = _run(HUAIBEI, "--county", str(county), "--target", "basic_inpatient=lots", "--lang", "en")
    assert code == 2 and "a percentage from 0 to 100" in out
    code, out = _run(HUAIBEI, "--county", str(county), "--target", "basic_inpatient=120", "--lang", "en")
    assert code == 2 and "a percentage from 0 to 100" in out
    vary = "basic_inpatient=assistance.categories.tekun.ratio"
    code, out = _run(HUAIBEI, "--county", str(county), "--target", "basic_inpatient=75.6", "--vary", vary)
    assert code == 2 and "该参数有来源，不做校准" in out
    assert not (tmp_path / "p.yaml").exists()


@pytest.mark.slow  # two 20,000-person counties
def test_shipped_packs_reproduce_the_seeds_on_the_readme_counties(tmp_path: Path) -> None:
    """The README's claim: on these counties the calibrated packs land within 0.5 points of the seeds."""
    from yibao.app.calibrate import outcomes_on

    wanted = {
        ("yunnan-lincang-2023", 2023): {"priority_inpatient": 84.91, "priority_chronic": 87.94},
        (HUAIBEI, 2022): {"basic_inpatient": 75.6, "general_outpatient": 50.2, "critical_illness": 62.5},
    }
    for (name, year), targets in wanted.items():
        out = tmp_path / f"county-{year}"
        synth.write(synth.generate(20000, year, 1), out)
        pack = load_pack(name)
        got = outcomes_on(pack, county_input(out, pack), list(targets))
        for target, value in targets.items():
            assert got[target] is not None and abs(got[target] - value) <= 0.5, (name, target, got[target])


def test_ratios_stay_within_their_bound_and_deductibles_scale_down() -> None:
    from yibao.policy.calibrate import RATIO_CEILING, default_bound

    table = {"in_county": {1: 85, 2: 75, 3: 65}}
    # the default ceiling for an assumed ratio is 95%: 85 x 1.2 = 102 -> 95, 90, 78
    assert RATIO_CEILING == 95.0 and default_bound(("lines", "inpatient", "ratio")) == (0.0, 95.0)
    assert scale_value(table, 1.2, "ratio", (0.0, 95.0)) == {"in_county": {1: 95, 2: 90, 3: 78}}
    assert scale_value(table, 1.2, "ratio", (80.0, 88.0)) == {"in_county": {1: 88, 2: 88, 3: 80}}
    # a deductible falls as the scale rises: 600 / 1.5 = 400 yuan, never below its bound
    assert scale_value({1: 600, 2: 900}, 1.5, "amount_down") == {1: 400, 2: 600}
    assert scale_value({1: 600, 2: 900}, 3, "amount_down", (250.0, None)) == {1: 250, 2: 300}


def test_a_target_the_bounded_ratios_cannot_reach_moves_the_deductibles(county: Path) -> None:
    """With the inpatient ratios held to at most 60%, 58% of the policy range is out of their reach while the
    deductible takes its share: the fit lowers the (assumed) deductibles until the target is met."""
    bound = {("lines", "inpatient", "ratio"): (0.0, 60.0)}
    result = calibrate(HUAIBEI, {"basic_inpatient": 58.0}, county, bounds=bound)
    assert result.fit.ok, [(f.target.name, f.achieved) for f in result.fit.fits]
    fitted = pack_from_mapping(yaml.safe_load(result.text), "fitted.yaml")
    ratios = fitted.leaves[("lines", "inpatient", "ratio")].values[0].value
    flat = [v for t in ratios.values() for v in (t.values() if isinstance(t, dict) else [t])]
    assert max(flat) <= 60
    moved = fitted.leaves[("lines", "inpatient", "deductible")].values[0]
    assert moved.value != load_pack(HUAIBEI).leaves[("lines", "inpatient", "deductible")].values[0].value
    assert "calibrated to basic_inpatient" in (moved.assumed or "")
    assert "bounded 0..60%" in (fitted.leaves[("lines", "inpatient", "ratio")].values[0].assumed or "")
