"""The institution registry's fields as they come in (a county's institutions file, the demo's list): the
township (乡镇) of a township hospital and its village clinics, the capitation group they share (seed 004)."""

from __future__ import annotations

import polars as pl

from yibao.core.errors import InputError, InputErrors

TOWNSHIP_MAX = 64
"""``institution.township`` is ``String(64)``, as ``person.township``."""
_EXPECTED_ZH = f"乡镇名称（不超过 {TOWNSHIP_MAX} 个字，不含换行等控制字符），不属于乡镇组的机构留空"
_EXPECTED_EN = f"a township name of at most {TOWNSHIP_MAX} characters without control characters, or empty for none"


def institution_township(raw: object, where: str) -> str | None:
    """The township of an institution as registered: the name without surrounding spaces, ``None`` for none
    (missing or blank); anything else is an :class:`InputError` naming ``where``, the field and the value."""
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise InputError(where, "township", raw, _EXPECTED_EN, _EXPECTED_ZH, _EXPECTED_EN)
    text = raw.strip()
    if len(text) > TOWNSHIP_MAX or any(not ch.isprintable() for ch in text):
        raise InputError(where, "township", raw, _EXPECTED_EN, _EXPECTED_ZH, _EXPECTED_EN)
    return text or None


def checked_townships(institutions: pl.DataFrame, where: str) -> pl.DataFrame:
    """``institutions`` with its ``township`` column checked and cleaned (a frame without one is returned as is);
    every bad row is named (``where`` row N, counted from 1) in one :class:`InputErrors`."""
    if "township" not in institutions.columns:
        return institutions
    errors: list[InputError] = []
    cleaned: list[str | None] = []
    for row, raw in enumerate(institutions["township"].to_list(), start=1):
        try:
            cleaned.append(institution_township(raw, f"{where} row {row}"))
        except InputError as e:
            errors.append(e)
    if errors:
        raise InputErrors(errors)
    return institutions.with_columns(pl.Series("township", cleaned, dtype=pl.String))
