import pytest

from fapiao.rules import regions
from fapiao.rules.regions import RegionKind


def test_province_name_covers_beijing_to_xinjiang():
    assert regions.province_name("11") == "北京市"
    assert regions.province_name("65") == "新疆维吾尔自治区"
    assert regions.province_name("99") is None
    assert regions.province_name("1") is None


@pytest.mark.parametrize(
    ("code2", "name", "kind", "province"),
    [
        ("11", "北京市", RegionKind.PROVINCE, "11"),
        ("44", "广东省", RegionKind.PROVINCE, "44"),
        ("91", "大连市", RegionKind.PLAN_CITY, "21"),
        ("92", "青岛市", RegionKind.PLAN_CITY, "37"),
        ("93", "宁波市", RegionKind.PLAN_CITY, "33"),
        ("94", "厦门市", RegionKind.PLAN_CITY, "35"),
        ("95", "深圳市", RegionKind.PLAN_CITY, "44"),
    ],
)
def test_region_from_digital_knows_provinces_and_plan_cities(code2, name, kind, province):
    region = regions.region_from_digital(code2)
    assert region is not None
    assert (region.name, region.kind, region.province_code) == (name, kind, province)
    assert region.digital_code == code2


@pytest.mark.parametrize("code2", ["00", "96", "3702", "", "ab"])
def test_region_from_digital_rejects_unknown_codes(code2):
    assert regions.region_from_digital(code2) is None


@pytest.mark.parametrize(
    ("code4", "name"),
    [
        ("1100", "北京市"),
        ("3702", "青岛市"),
        ("3700", "山东省"),
        ("3701", "山东省"),
        ("4403", "深圳市"),
        ("2102", "大连市"),
        ("5200", "贵州省"),
    ],
)
def test_region_from_legacy_uses_four_digits_for_plan_cities(code4, name):
    region = regions.region_from_legacy(code4)
    assert region is not None and region.name == name


@pytest.mark.parametrize("code4", ["0000", "9900", "110", "11000", "11a0"])
def test_region_from_legacy_rejects_unknown_or_malformed(code4):
    assert regions.region_from_legacy(code4) is None


@pytest.mark.parametrize(
    ("uscc", "name"),
    [
        ("91370203MA3N3AR685", "青岛市"),
        ("913710007062495888", "山东省"),
        ("91110108690017781B", "北京市"),
        ("91440300MA5XXXXXXX", "深圳市"),
        ("9135 0100m0001tgqxm", "福建省"),
    ],
)
def test_region_from_uscc_reads_positions_three_to_eight(uscc, name):
    region = regions.region_from_uscc(uscc)
    assert region is not None and region.name == name


def test_region_from_uscc_needs_eighteen_characters():
    assert regions.region_from_uscc("9137020") is None


def test_same_province_puts_plan_cities_in_their_province():
    qingdao = regions.region_from_digital("92")
    shandong = regions.region_from_digital("37")
    guangdong = regions.region_from_digital("44")
    assert regions.same_province(qingdao, shandong)
    assert not regions.same_province(qingdao, guangdong)
    assert not regions.same_province(None, shandong)


def test_confirmed_digital_codes_are_documented_subset():
    plan_city_codes = {r.digital_code for r in regions.PLAN_CITIES.values()}
    assert regions.CONFIRMED_DIGITAL_CODES.issubset(plan_city_codes)
    assert "92" in regions.CONFIRMED_DIGITAL_CODES
