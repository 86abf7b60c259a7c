"""Sampling for manual review (pure) and appeal files: the seeded draw, the estimate, the file kinds and names."""

from __future__ import annotations

import io
import zipfile
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yibao.app.suspect_files import FileIn, checked_file, safe_name, sniff
from yibao.core.errors import InputError
from yibao.rules import suspect_sampling as sampling


@pytest.mark.parametrize(
    ("population", "rate_bp", "drawn"),
    [(0, 1_000, 0), (1, 1, 1), (10, 1_000, 1), (10, 1_001, 2), (10, 3_000, 3), (6, 3_000, 2), (7, 10_000, 7), (3, 5_000, 2)],
)
def test_the_count_drawn_is_rounded_up(population: int, rate_bp: int, drawn: int) -> None:
    assert sampling.drawn_count(population, rate_bp) == drawn


@given(
    ids=st.lists(st.text("ST0123456789", min_size=3, max_size=8), min_size=1, max_size=60, unique=True),
    rate_bp=st.integers(1, 10_000),
    seed=st.integers(0, 2**63 - 1),
)
def test_a_draw_is_a_sorted_subset_the_same_for_the_same_seed(ids: list[str], rate_bp: int, seed: int) -> None:
    drawn = sampling.draw(ids, rate_bp, seed)
    assert drawn == sampling.draw(list(ids), rate_bp, seed)
    assert drawn == sorted(drawn) and len(set(drawn)) == len(drawn) and set(drawn) <= set(ids)
    assert len(drawn) == sampling.drawn_count(len(ids), rate_bp)


def test_the_estimate_by_hand() -> None:
    # 3 reviewed: claimed 1000 + 2000 + 3000, approved 1000 + 1500 + 3000 = 5500 of 6000; 9000 not reviewed
    est = sampling.extrapolate(15_000, [(1_000, 1_000), (2_000, 1_500), (3_000, 3_000)])
    assert est.ratio == Fraction(11, 12) and est.ratio_bp == 9_167  # 9166.67
    assert est.approved_unreviewed == 8_250  # 9000 × 11/12 exactly
    assert (est.approved_total, est.overclaimed) == (13_750, 1_250)
    # halves round up: 7 × 1/2 = 3.5 → 4
    assert sampling.extrapolate(9, [(2, 1)]).approved_unreviewed == 4
    assert sampling.half_up(Fraction(-7, 2)) == -4 and sampling.half_up(Fraction(5, 3)) == 2


def test_no_estimate_before_a_review() -> None:
    est = sampling.extrapolate(15_000, [])
    assert (est.ratio, est.ratio_bp, est.approved_unreviewed, est.approved_total, est.overclaimed) == (None,) * 5
    zero = sampling.extrapolate(1_000, [(0, 0)])  # a reviewed settlement the fund paid nothing for
    assert zero.ratio == 1 and zero.approved_total == 1_000


@given(
    reviewed=st.lists(st.tuples(st.integers(1, 10**8), st.integers(0, 100)), min_size=1, max_size=20),
    rest=st.integers(0, 10**10),
)
def test_the_estimate_stays_between_nothing_and_all_claimed(reviewed: list[tuple[int, int]], rest: int) -> None:
    pairs = [(claimed, claimed * pct // 100) for claimed, pct in reviewed]
    total = sum(c for c, _ in pairs) + rest
    est = sampling.extrapolate(total, pairs)
    assert est.approved_unreviewed is not None and est.approved_total is not None and est.overclaimed is not None
    assert 0 <= est.approved_unreviewed <= rest and 0 <= est.overclaimed <= total
    assert est.approved_total + est.overclaimed == total
    if all(a == c for c, a in pairs):
        assert est.overclaimed == 0


def _office(folder: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr(f"{folder}/document.xml", "<x/>")
    return buf.getvalue()


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"%PDF-1.7\n", "pdf"),
        (b"\x89PNG\r\n\x1a\n....", "png"),
        (b"\xff\xd8\xff\xe0JFIF", "jpeg"),
        (_office("word"), "docx"),
        (_office("xl"), "xlsx"),
        ("病历摘要：患者……".encode(), "txt"),
        (b"MZ\x90\x00", None),  # a Windows program
        (b"\x7fELF\x02\x01", None),
        (b"PK\x03\x04garbage", None),
        (b"GIF89a", "txt"),  # plain ASCII is text
        (b"\xff\xfe\x00\x00", None),
        (b"", None),
    ],
)
def test_a_file_s_kind_comes_from_its_bytes(data: bytes, kind: str | None) -> None:
    assert sniff(data) == kind


@pytest.mark.parametrize(
    ("name", "kind", "safe"),
    [
        ("病历.pdf", "pdf", "病历.pdf"),
        ("../../etc/passwd", "txt", "passwd.txt"),
        ("C:\\Users\\a\\出院小结.PDF", "pdf", "出院小结.PDF"),
        ("scan.exe", "pdf", "scan.exe.pdf"),
        ("photo.jpeg", "jpeg", "photo.jpeg"),
        ("a\x00b\x07c.png", "png", "abc.png"),
        ("<script>.docx", "docx", "script_.docx"),
        ("...", "pdf", "附件.pdf"),
        ("长" * 300 + ".pdf", "pdf", "长" * 96 + ".pdf"),
    ],
)
def test_a_file_name_is_made_safe(name: str, kind: str, safe: str) -> None:
    assert safe_name(name, kind) == safe


def test_a_checked_file_names_the_file_refused() -> None:
    assert checked_file(FileIn("a.pdf", b"%PDF-1"), 100, "疑点 X") == ("a.pdf", "application/pdf")
    with pytest.raises(InputError) as e:
        checked_file(FileIn("a.pdf", b"%PDF-" + b"0" * 100), 100, "疑点 X")
    assert (
        (e.value.field, e.value.value) == ("file", "a.pdf") and "兆字节" in e.value.render("zh") and "MB" in e.value.render("en")
    )
    with pytest.raises(InputError) as e:
        checked_file(FileIn("x.exe", b"MZ\x90\x00\x03"), 100, "疑点 X")
    assert "PDF" in e.value.render("zh") and "PDF" in e.value.render("en")
