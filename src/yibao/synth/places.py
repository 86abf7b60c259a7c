"""Where the county lies: Linxiang district (临沧市临翔区, 530902), its townships, villages and institutions."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

COUNTY = "临翔区"
COUNTY_ADMDVS = "530902"
TOWNSHIPS: tuple[str, ...] = (
    "凤翔街道",
    "忙畔街道",
    "博尚镇",
    "南美拉祜族乡",
    "蚂蚁堆乡",
    "章驮乡",
    "圈内乡",
    "马台乡",
    "邦东乡",
    "平村彝族傣族乡",
)
_VILLAGE_A = "忙邦南大小新章博那勐"
_VILLAGE_B = "弄卡东糯海河坡寨箐山"
VILLAGES: tuple[str, ...] = tuple(
    _VILLAGE_A[j] + _VILLAGE_B[(j + t) % 10] + "村" for t in range(len(TOWNSHIPS)) for j in range(10)
)
"""Village ``v`` lies in township ``v // 10``; all 100 names differ."""


@dataclass(frozen=True)
class Institution:
    code: str
    name: str
    hosp_lv: int
    place: str


INSTITUTIONS: tuple[Institution, ...] = (
    Institution("H53090200001", "临翔区人民医院", 2, "in_county"),
    Institution("H53090200002", "临翔区中医医院", 2, "in_county"),
    Institution("H53090200003", "临翔区妇幼保健院", 2, "in_county"),
    Institution("H53090000001", "临沧市人民医院", 3, "in_county"),
    Institution("H53090000002", "临沧市中医医院", 3, "in_county"),
    *(
        Institution(
            f"H530902{101 + i:05d}",
            t + ("社区卫生服务中心" if t.endswith("街道") else "中心卫生院" if t.endswith("镇") else "卫生院"),
            1,
            "in_county",
        )
        for i, t in enumerate(TOWNSHIPS)
    ),
    Institution("H53010200001", "云南省第一人民医院", 3, "out_of_county"),
    Institution("H53010200002", "昆明医科大学第一附属医院", 3, "out_of_county"),
    Institution("H53011200001", "云南省肿瘤医院", 3, "out_of_county"),
    Institution("H53290100001", "大理州人民医院", 3, "out_of_county"),
    Institution("H53092200001", "云县人民医院", 2, "out_of_county"),
    Institution("H53092500001", "双江县人民医院", 2, "out_of_county"),
    Institution("H53092600001", "耿马县人民医院", 2, "out_of_county"),
    Institution("H44010400001", "中山大学附属第一医院", 3, "cross_region"),
    Institution("H44010600001", "广东省人民医院", 3, "cross_region"),
    Institution("H44030600001", "深圳市宝安区人民医院", 2, "cross_region"),
    Institution("H44190000001", "东莞市人民医院", 3, "cross_region"),
    Institution("H33010200001", "浙江大学医学院附属第一医院", 3, "cross_region"),
    Institution("H31010400001", "复旦大学附属中山医院", 3, "cross_region"),
    Institution("H35058200001", "晋江市医院", 2, "cross_region"),
    Institution("H51010700001", "四川大学华西医院", 3, "cross_region"),
)
"""About 30 institutions, each with a fixed level; township health centres are level 1."""
TOWNSHIP_CENTRE0 = 5  # index of the first township health centre above

PLACES: tuple[str, ...] = ("in_county", "out_of_county", "cross_region")


def institutions_frame(institutions: tuple[Institution, ...] = INSTITUTIONS, admdvs: str | None = None) -> pl.DataFrame:
    """The institutions as the registry's frame; ``admdvs`` for all of them, else each code's own division."""
    return pl.DataFrame(
        {
            "fixmedins_code": [i.code for i in institutions],
            "fixmedins_name": [i.name for i in institutions],
            "hosp_lv": pl.Series([i.hosp_lv for i in institutions], dtype=pl.Int8),
            "place": [i.place for i in institutions],
            "admdvs": [admdvs or i.code[1:7] for i in institutions],
        }
    )
