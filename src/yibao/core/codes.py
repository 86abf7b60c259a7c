"""Codes the window offers in its lists, with Chinese and English names."""

from __future__ import annotations

MED_TYPES: dict[str, tuple[str, str]] = {
    "11": ("普通门诊", "general outpatient"),
    "14": ("门诊慢特病", "chronic/special disease outpatient"),
    "21": ("普通住院", "inpatient"),
}
HOSP_LEVELS: dict[str, tuple[str, str]] = {
    "1": ("一级（乡镇）", "level 1 (township)"),
    "2": ("二级（县级）", "level 2 (county)"),
    "3": ("三级（市级及以上）", "level 3 (city and above)"),
}
PLACES: dict[str, tuple[str, str]] = {
    "in_county": ("县域内", "in the county"),
    "out_of_county": ("县域外（省内）", "out of the county"),
    "cross_region": ("异地（跨省）", "cross-region"),
}
CHRGITM_LV: dict[str, tuple[str, str]] = {"01": ("甲类", "class A"), "02": ("乙类", "class B"), "03": ("丙类", "class C")}


def med_type_label(code: str, lang: str) -> str:
    """``21`` -> ``21 普通住院``."""
    pair = MED_TYPES.get(code)
    return code if pair is None else f"{code} {pair[0] if lang == 'zh' else pair[1]}"
