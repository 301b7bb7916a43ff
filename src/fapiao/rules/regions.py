"""Province-level regions and 计划单列市 as they appear in tax IDs and invoice numbers.

Three schemes meet here:
- administrative division codes (GB/T 2260) at the start of tax IDs: '37' 山东, '3702' 青岛;
- legacy 发票代码 carry a 4-digit region: '3700' 山东省局, '3702' 青岛;
- 数电 numbers carry 2 digits: the province's first two digits, but the five 计划单列市 have codes
  of their own in the 90s, because their tax bureaus are separate from the province's.

数电 codes of the 计划单列市, and how sure we are:
- 92 青岛: confirmed by a real invoice (25924000000001260164, seller in Qingdao) in ../realdata.
- 94 厦门: corroborated by a public railway e-ticket issued by 国家税务总局厦门市税务局 numbered
  2594…; also listed as seen in docs/domain.md.
- 95 深圳: listed as seen in docs/domain.md; a public railway e-ticket 2595… for a Guangdong trip.
- 91 大连, 93 宁波: inferred, not confirmed. The confirmed codes run north to south
  (青岛 92, 厦门 94, 深圳 95), which leaves 91 for 大连 and 93 for 宁波.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from fapiao.rules.text import is_digits, normalize_code


class RegionKind(StrEnum):
    PROVINCE = "province"  # 省、自治区、直辖市
    PLAN_CITY = "plan_city"  # 计划单列市


@dataclass(frozen=True, slots=True)
class Region:
    code: str  # '37' for a province, '3702' for a 计划单列市
    name: str  # 山东省, 青岛市
    kind: RegionKind
    short_name: str  # 山东, 青岛: as invoice titles print it (山东增值税电子普通发票)
    province_code: str  # '37' for both 山东 and 青岛
    digital_code: str  # the two digits in a 数电 number: '37', '92'

    @property
    def is_plan_city(self) -> bool:
        return self.kind is RegionKind.PLAN_CITY


_PROVINCES: dict[str, tuple[str, str]] = {
    "11": ("北京市", "北京"),
    "12": ("天津市", "天津"),
    "13": ("河北省", "河北"),
    "14": ("山西省", "山西"),
    "15": ("内蒙古自治区", "内蒙古"),
    "21": ("辽宁省", "辽宁"),
    "22": ("吉林省", "吉林"),
    "23": ("黑龙江省", "黑龙江"),
    "31": ("上海市", "上海"),
    "32": ("江苏省", "江苏"),
    "33": ("浙江省", "浙江"),
    "34": ("安徽省", "安徽"),
    "35": ("福建省", "福建"),
    "36": ("江西省", "江西"),
    "37": ("山东省", "山东"),
    "41": ("河南省", "河南"),
    "42": ("湖北省", "湖北"),
    "43": ("湖南省", "湖南"),
    "44": ("广东省", "广东"),
    "45": ("广西壮族自治区", "广西"),
    "46": ("海南省", "海南"),
    "50": ("重庆市", "重庆"),
    "51": ("四川省", "四川"),
    "52": ("贵州省", "贵州"),
    "53": ("云南省", "云南"),
    "54": ("西藏自治区", "西藏"),
    "61": ("陕西省", "陕西"),
    "62": ("甘肃省", "甘肃"),
    "63": ("青海省", "青海"),
    "64": ("宁夏回族自治区", "宁夏"),
    "65": ("新疆维吾尔自治区", "新疆"),
    "71": ("台湾省", "台湾"),
}

# admin code → (数电 code, name, short name)
_PLAN_CITIES: dict[str, tuple[str, str, str]] = {
    "2102": ("91", "大连市", "大连"),
    "3702": ("92", "青岛市", "青岛"),
    "3302": ("93", "宁波市", "宁波"),
    "3502": ("94", "厦门市", "厦门"),
    "4403": ("95", "深圳市", "深圳"),
}

# 数电 region codes confirmed by a real document; the others are inferred (see module doc).
CONFIRMED_DIGITAL_CODES: frozenset[str] = frozenset({"92", "94"})

PROVINCES: dict[str, Region] = {
    code: Region(code, name, RegionKind.PROVINCE, short, code, code)
    for code, (name, short) in _PROVINCES.items()
}
PLAN_CITIES: dict[str, Region] = {
    code: Region(code, name, RegionKind.PLAN_CITY, short, code[:2], digital)
    for code, (digital, name, short) in _PLAN_CITIES.items()
}
_BY_DIGITAL: dict[str, Region] = {r.digital_code: r for r in PROVINCES.values()} | {
    r.digital_code: r for r in PLAN_CITIES.values()
}


def province_name(code2: str) -> str | None:
    region = PROVINCES.get(code2[:2]) if len(code2) >= 2 else None
    return region.name if region else None


def region_from_digital(code2: str) -> Region | None:
    """Digits 3-4 of a 数电 number: '44' 广东省, '92' 青岛市."""
    return _BY_DIGITAL.get(code2)


def region_from_legacy(code4: str) -> Region | None:
    """The 4-digit region of a legacy 发票代码: '1100' 北京市, '3702' 青岛市, '4401' 广东省."""
    if len(code4) != 4 or not is_digits(code4):
        return None
    return PLAN_CITIES.get(code4) or PROVINCES.get(code4[:2])


def region_from_division(code: str) -> Region | None:
    """An administrative division code of 2 to 6 digits ('370203' → 青岛市, '110108' → 北京市)."""
    if len(code) < 2 or not is_digits(code):
        return None
    if len(code) >= 4 and code[:4] in PLAN_CITIES:
        return PLAN_CITIES[code[:4]]
    return PROVINCES.get(code[:2])


def region_from_uscc(uscc: str) -> Region | None:
    """Characters 3-8 of a 统一社会信用代码 are the registering authority's division code."""
    code = normalize_code(uscc)
    if len(code) != 18:
        return None
    return region_from_division(code[2:8])


def same_province(a: Region | None, b: Region | None) -> bool:
    """True when both regions lie in one province (青岛 lies in 山东)."""
    return a is not None and b is not None and a.province_code == b.province_code
