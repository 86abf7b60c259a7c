"""The policy leaflet (政策大白话问答): generated from every shipped pack for every identity it names, as HTML and
PDF; every worked example it prints equals, to the fen, an independent settlement of the example's inputs; one
example checked by hand; the PDF embeds its font; A5 pages are A5; the command runs."""

from __future__ import annotations

import io
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from yibao.app.leaflet import leaflet_of, render_html, render_pdf
from yibao.core.identities import IdentityPeriod
from yibao.core.money import fmt_yuan
from yibao.entrypoints.cli.main import app as cli_app
from yibao.leaflet.build import build_leaflet, identities
from yibao.leaflet.model import Example, Leaflet
from yibao.policy.pack import PACKS_DIR, PolicyPack, load_pack, shipped_packs
from yibao.settlement.model import Claim, Person, PolicyRangeSummary, Settlement
from yibao.settlement.plain import explain
from yibao.settlement.settle import settle

A4 = (595, 842)
A5 = (420, 595)
CJK = re.compile(r"[\u3400-\u9fff\uff00-\uffef\u3000-\u303f]")


def squeeze(text: str) -> str:
    """Text without any whitespace: a PDF breaks lines where the page is full, the HTML where it was written."""
    return re.sub(r"\s+", "", text)


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def resettle(pack: PolicyPack, example: Example) -> Settlement:
    """The example's claim settled again from its inputs, the person and claim written here (not by the leaflet)."""
    i = example.inputs
    held = () if i.identity == "ordinary" else (IdentityPeriod(i.identity, date(i.setl_date.year, 1, 1)),)
    person = Person("T", "390", held, birth_date=date(i.setl_date.year - 50, 1, 1))
    claim = Claim("C", "T", i.setl_date, i.med_type, i.hosp_lv, i.place, summary=PolicyRangeSummary(i.medfee_sumamt))
    return settle(pack, person, None, claim)


def printed_blocks(text: str, lang: str = "zh") -> dict[int, str]:
    """Each worked example's printed text by its number (from ``例N：`` to the next example or the end)."""
    mark = r"例(\d+)：" if lang == "zh" else r"Example(\d+):"
    flat = squeeze(text)
    found = list(re.finditer(mark, flat))
    return {int(m[1]): flat[m.start() : (found[k + 1].start() if k + 1 < len(found) else len(flat))] for k, m in enumerate(found)}


def check_examples(pack: PolicyPack, leaflet: Leaflet, text: str) -> None:
    """Every example the leaflet holds is printed, and prints what an independent settlement pays, to the fen."""
    blocks = printed_blocks(text, leaflet.lang)
    assert sorted(blocks) == [e.number for e in leaflet.examples]
    for e in leaflet.examples:
        s = resettle(pack, e)
        block = blocks[e.number]
        expected = {"medfee_sumamt": s.medfee_sumamt, "psn_part_amt": s.psn_part_amt}
        expected |= {p: getattr(s, p) for p in Settlement.PAYERS if getattr(s, p)}
        assert {p.code: p.fen for p in e.payments} == expected, e.title
        for p in e.payments:
            assert squeeze(f"{p.label}{fmt_yuan(getattr(s, p.code))}") in block, (e.title, p.code)
        for sentence in explain(s, leaflet.lang):
            assert squeeze(sentence) in block, (e.title, sentence)
        # the parts printed add up to the bill
        assert sum(p.fen for p in e.payments if p.code != "medfee_sumamt") == s.medfee_sumamt


def font_files(data: bytes) -> list[str]:
    """The embedded font programs named by the font descriptors of every page's fonts."""
    found = []
    for page in PdfReader(io.BytesIO(data)).pages:
        fonts: Any = page["/Resources"]["/Font"]
        for ref in fonts.values():
            font = ref.get_object()
            for f in [font, *(d.get_object() for d in font.get("/DescendantFonts", []))]:
                desc = f.get("/FontDescriptor")
                if desc is not None:
                    found += [k for k in ("/FontFile", "/FontFile2", "/FontFile3") if k in desc.get_object()]
    return found


def page_sizes(data: bytes) -> set[tuple[int, int]]:
    return {(round(float(p.mediabox.width)), round(float(p.mediabox.height))) for p in PdfReader(io.BytesIO(data)).pages}


@pytest.mark.slow  # a PDF per pack and identity: about 35 s in all
@pytest.mark.parametrize("name", shipped_packs())
def test_every_pack_and_identity_prints_examples_equal_to_their_settlement(name: str) -> None:
    pack = load_pack(name)
    day = pack.valid_to or pack.valid_from
    policy = pack.at(day)
    codes = identities(policy)
    assert "ordinary" in codes and set(policy.identity_priority) <= set(codes)
    for code in codes:
        leaflet = build_leaflet(pack, day, code)
        assert leaflet.identity == code and leaflet.examples, code
        assert {e.inputs.identity for e in leaflet.examples} == {code}
        html = render_html(leaflet)
        check_examples(pack, leaflet, re.sub(r"<[^>]+>", " ", html))
        pdf = render_pdf(leaflet)
        check_examples(pack, leaflet, pdf_text(pdf))
        text = squeeze(pdf_text(pdf))
        for a in leaflet.answers:
            assert squeeze(a.question) in text, (code, a.key)
        assert "12393" in text
    # the leaflet for everyone: each identity's examples, numbered through
    everyone = build_leaflet(pack, day)
    assert [e.number for e in everyone.examples] == list(range(1, len(everyone.examples) + 1))
    assert {e.inputs.identity for e in everyone.examples} == set(codes)
    check_examples(pack, everyone, re.sub(r"<[^>]+>", " ", render_html(everyone, "A5")))


def test_zibo_dibao_county_stay_by_hand() -> None:
    # shandong-zibo-2020.yaml, a 低保对象 (dibao: no identity override on the inpatient line), 10,000 yuan all in the
    # policy range, level-2 hospital in the county, the year's first admission:
    #   basic:      deductible {2: 500}; ratio in_county {2: 75}      -> (10,000 - 500) x 75% = 7,125.00
    #   left:       10,000 - 7,125 = 2,875.00
    #   critical:   deductible 12,000 (tilt only for pinkun); 2,875 < 12,000   -> 0
    #   assistance: dibao deductible 0, ratio 70, limit 50,000      -> 2,875 x 70% = 2,012.50
    #   tilted:     the pack has none                               -> 0
    #   person:     10,000 - 7,125 - 2,012.50 = 862.50
    pack = load_pack("shandong-zibo-2020")
    leaflet = build_leaflet(pack, date(2020, 6, 1), "低保对象")
    first = leaflet.examples[0]
    assert first.title == "如果您是低保对象，在县级医院住院，花了1万元……"
    i = first.inputs
    assert (i.identity, i.med_type, i.hosp_lv, i.place, i.medfee_sumamt) == ("dibao", "21", 2, "in_county", 1_000_000)
    assert {p.code: p.fen for p in first.payments} == {
        "medfee_sumamt": 1_000_000,
        "hifp_pay": 712_500,
        "maf_pay": 201_250,
        "psn_part_amt": 86_250,
    }
    assert first.explanation[2] == "基本医保报销 7,125.00 元：先扣除起付线 500.00 元，超过起付线的部分按 75% 报销。"
    assert "大病保险：今年自付累计 2,875.00 元，没有超过起付线 12,000.00 元，这次不报销。" in first.explanation
    assert "医疗救助再支付 2,012.50 元：剩下的自付费用按 70% 支付，不设起付线。" in first.explanation
    assert first.explanation[-1] == "各项合计报销 9,137.50 元，个人负担 862.50 元。"
    text = squeeze(pdf_text(render_pdf(leaflet)))
    assert "您自己负担862.50元" in text and "基本医保报销7,125.00元" in text
    # the premium and the tier tables say the pack's numbers: 280 individual, 低保 half paid by assistance
    premium = next(a for a in leaflet.answers if a.key == "premium")
    assert premium.table is not None and premium.table.rows == (("低保对象", "280 元", "140 元", "140 元"),)
    inpatient = next(a for a in leaflet.answers if a.key == "inpatient")
    assert inpatient.table is not None and inpatient.table.rows[1] == ("县级医院（二级）", "500 元", "75%", "75%", "65%", "45%")
    # capitation (门诊统筹人头定额): the township hospital and its clinics share the 200-yuan limit; 低保 has no item-by-item
    township = next(a for a in leaflet.answers if a.key == "capitation")
    assert township.points == ("低保对象：两处合起来每人每年最多报销 200 元。",)
    assert "共用一个报销额度" in township.paragraphs[0]


def test_pinkun_tilt_is_stated_and_settled() -> None:
    pack = load_pack("shandong-zibo-2020")
    leaflet = build_leaflet(pack, date(2020, 6, 1), "pinkun")
    inpatient = next(a for a in leaflet.answers if a.key == "inpatient")
    assert inpatient.table is not None and inpatient.table.rows[1][1:3] == ("250 元", "80%")  # 500 halved, 75 + 5
    assert any("起付线减半、报销比例提高 5 个百分点" in p for p in inpatient.paragraphs)
    critical = next(a for a in leaflet.answers if a.key == "critical_illness")
    assert critical.table is not None
    assert critical.table.rows == (("建档立卡贫困人口", "6,000 元", "65%、70%、75%", "不设封顶线"),)
    township = next(a for a in leaflet.answers if a.key == "capitation")
    assert township.points == (
        "建档立卡贫困人口：两处合起来每人每年最多报销 200 元；超过以后，按实际费用继续报销，一年最多 1,000 元。",
    )
    costly = leaflet.examples[1]
    assert any(p.code == "hifmi_pay" and p.fen > 0 for p in costly.payments)
    assert "您的身份享受大病保险倾斜：起付线减半、报销比例提高 5 个百分点、不设封顶线。" in costly.explanation


def test_english_is_english_only() -> None:
    for name in shipped_packs():
        pack = load_pack(name)
        leaflet = leaflet_of(pack, None, "en")
        words = re.sub(r"<[^>]+>", " ", render_html(leaflet)).replace("CJK", "")
        assert not CJK.search(words), (name, CJK.findall(words)[:10])
        check_examples(pack, leaflet, words)


@pytest.mark.slow  # quick command: left out for time; the full suite runs it
def test_pdf_embeds_its_font_and_a5_pages_are_a5(tmp_path: Path) -> None:
    leaflet = leaflet_of(load_pack("yunnan-lincang-2023"), "dibao")
    a4, a5 = render_pdf(leaflet, "A4"), render_pdf(leaflet, "A5")
    for data in (a4, a5):
        assert font_files(data) and set(font_files(data)) <= {"/FontFile2", "/FontFile3"}
    assert page_sizes(a4) == {A4} and page_sizes(a5) == {A5}
    assert len(PdfReader(io.BytesIO(a5)).pages) > len(PdfReader(io.BytesIO(a4)).pages)


def test_unknown_identity_is_refused_naming_the_choices() -> None:
    pack = load_pack("hainan-2023")
    with pytest.raises(Exception, match=r"identity.*nobody.*ordinary, tekun, dibao"):
        build_leaflet(pack, date(2023, 6, 1), "nobody")


@pytest.mark.slow  # quick command: left out for time; the full suite runs it
def test_command_writes_pdf_and_html_and_refuses_bad_input(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "zibo.pdf"
    run = runner.invoke(cli_app, ["leaflet", "shandong-zibo-2020", "--identity", "dibao", "--format", "pdf", "--paper", "a5",
                                  "-o", str(out)])  # fmt: skip
    assert run.exit_code == 0, run.output
    assert page_sizes(out.read_bytes()) == {A5} and "862.50" in pdf_text(out.read_bytes())
    html = tmp_path / "lincang.html"
    run = runner.invoke(cli_app, ["leaflet", str(PACKS_DIR / "yunnan-lincang-2023.yaml"), "-o", str(html)])  # a pack file
    assert run.exit_code == 0, run.output
    assert "政策大白话问答" in html.read_text(encoding="utf-8") and "size: A4" in html.read_text(encoding="utf-8")
    shown = runner.invoke(cli_app, ["leaflet", "hainan-2023", "--lang", "en", "--identity", "tekun"])
    assert shown.exit_code == 0 and "Example 1" in shown.output and "<html" in shown.output
    for bad in (["--identity", "nobody"], ["--paper", "a3"], ["--format", "pdf"], ["--date", "2019-01-01"]):
        refused = runner.invoke(cli_app, ["leaflet", "hainan-2023", *bad])
        assert refused.exit_code == 2, (bad, refused.output)
