"""The fields an import reads, and how a file's header names find them.

Headers are matched after NFKC (full-width letters and brackets to half-width), lower case, and
with spaces, asterisks (the "required" marks of templates) and trailing colons removed. A field
that no header names, or that two headers name, is settled by the user on the mapping page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from fapiao.rules.text import nfkc


@dataclass(frozen=True, slots=True)
class Field:
    key: str
    label: str  # the template's header, and how messages name the field
    synonyms: tuple[str, ...]
    required: bool = False
    example: str = ""


FIELDS: tuple[Field, ...] = (
    Field(
        "type_code",
        "发票类型",
        ("类型", "发票种类", "发票票种", "票种", "票据类型", "type", "invoicetype"),
        example="数电专票",
    ),
    Field("code", "发票代码", ("代码", "code", "invoicecode"), example=""),
    Field(
        "number",
        "发票号码",
        ("票号", "号码", "发票号", "number", "invoicenumber", "invoiceno"),
        required=True,
        example="25112000000012345678",
    ),
    Field(
        "digital_number",
        "数电发票号码",
        ("数电票号码", "全电发票号码", "数电号码", "digitalnumber"),
    ),
    Field(
        "issue_date",
        "开票日期",
        ("日期", "开具日期", "date", "issuedate", "invoicedate"),
        required=True,
        example="2025-05-30",
    ),
    Field(
        "seller_name",
        "销售方名称",
        ("销方名称", "销售方", "销方", "销货单位", "销售单位名称", "seller", "sellername"),
        required=True,
        example="北京云帆信息技术有限公司",
    ),
    Field(
        "seller_tax_id",
        "销售方纳税人识别号",
        (
            "销方税号",
            "销方识别号",
            "销售方税号",
            "销售方识别号",
            "销方纳税人识别号",
            "销售方统一社会信用代码",
            "销售方统一社会信用代码/纳税人识别号",
            "sellertaxid",
        ),
        required=True,
        example="91110108MA01YF8K3U",
    ),
    Field(
        "buyer_name",
        "购买方名称",
        ("购方名称", "购买方", "购方", "购货单位", "buyer", "buyername"),
        required=True,
        example="上海明德贸易有限公司",
    ),
    Field(
        "buyer_tax_id",
        "购买方纳税人识别号",
        (
            "购方税号",
            "购方识别号",
            "购买方税号",
            "购买方识别号",
            "购方纳税人识别号",
            "购买方统一社会信用代码",
            "购买方统一社会信用代码/纳税人识别号",
            "buyertaxid",
        ),
        example="91310115MA1K000000",
    ),
    Field(
        "amount",
        "金额",
        ("不含税金额", "合计金额", "金额(不含税)", "amount", "netamount"),
        example="1000.00",
    ),
    Field("tax", "税额", ("合计税额", "tax", "taxamount"), example="130.00"),
    Field(
        "total",
        "价税合计",
        ("含税金额", "价税合计(小写)", "金额(含税)", "total", "totalamount"),
        example="1130.00",
    ),
    Field("rate", "税率", ("税率/征收率", "征收率", "rate", "taxrate"), example="13%"),
    Field(
        "item_name",
        "项目名称",
        (
            "商品名称",
            "货物或应税劳务、服务名称",
            "货物或应税劳务名称",
            "商品和服务名称",
            "货物名称",
            "item",
            "itemname",
        ),
        example="*计算机外部设备*扫描枪",
    ),
    Field("spec", "规格型号", ("规格", "型号", "spec"), example="X-200"),
    Field("unit", "单位", ("计量单位", "unit"), example="台"),
    Field("quantity", "数量", ("quantity", "qty"), example="2"),
    Field("unit_price", "单价", ("单价(不含税)", "unitprice", "price"), example="500.00"),
    Field(
        "tax_code",
        "税收分类编码",
        ("商品和服务税收分类编码", "税收编码", "taxcode"),
        example="1090514010000000000",
    ),
    Field("status", "发票状态", ("状态", "status"), example="正常"),
    Field("check_code", "校验码", ("checkcode",)),
    Field("drawer", "开票人", ("drawer",)),
    Field("remarks", "备注", ("remarks", "note", "notes"), example=""),
)
BY_KEY: dict[str, Field] = {f.key: f for f in FIELDS}
# Columns of the downloadable template, in order.
TEMPLATE_KEYS = (
    "type_code",
    "code",
    "number",
    "issue_date",
    "seller_name",
    "seller_tax_id",
    "buyer_name",
    "buyer_tax_id",
    "item_name",
    "spec",
    "unit",
    "quantity",
    "unit_price",
    "amount",
    "rate",
    "tax",
    "total",
    "status",
    "remarks",
)
# Columns that a file may carry and the import ignores (so they are not "unclear").
IGNORED = frozenset({"序号", "行号", "no", "#", "错误原因"})
ERROR_COLUMN = "错误原因"  # appended to the rejected rows' file

_SPACE_AND_MARKS = re.compile(r"[\s*:]+")


def normalize_header(text: str | None) -> str:
    return _SPACE_AND_MARKS.sub("", nfkc(text or "")).lower()


_INDEX: dict[str, str] = {}
for _field in FIELDS:
    for _name in (_field.label, *_field.synonyms):
        _INDEX.setdefault(normalize_header(_name), _field.key)


@dataclass(frozen=True, slots=True)
class Detection:
    mapping: dict[str, str]  # field key → header, for the fields found exactly once
    ambiguous: dict[str, list[str]]  # field key → the headers that all name it
    unknown: list[str]  # headers that name no field

    def missing_required(self) -> list[str]:
        return missing_required(self.mapping)

    @property
    def clear(self) -> bool:
        return not self.ambiguous and not self.missing_required()


def detect(headers: list[str]) -> Detection:
    found: dict[str, list[str]] = {}
    unknown = []
    for header in headers:
        norm = normalize_header(header)
        if not norm or norm in IGNORED:
            continue
        key = _INDEX.get(norm)
        if key is None:
            unknown.append(header)
        else:
            found.setdefault(key, []).append(header)
    mapping = {k: v[0] for k, v in found.items() if len(v) == 1}
    ambiguous = {k: v for k, v in found.items() if len(v) > 1}
    return Detection(mapping, ambiguous, unknown)


def missing_required(mapping: dict[str, str]) -> list[str]:
    """Labels of what the mapping lacks: the required fields, and enough amounts to know the
    amount, the tax and the total (two of them, or one and the rate)."""
    have = {k for k, v in mapping.items() if v}
    missing = [
        BY_KEY[f.key].label
        for f in FIELDS
        if f.required and f.key not in have and not (f.key == "number" and "digital_number" in have)
    ]
    money = have & {"amount", "tax", "total"}
    if not money or (len(money) == 1 and "rate" not in have) or money == {"tax"}:
        missing.append("金额、税额、价税合计中的两项（或其一加税率）")
    return missing
