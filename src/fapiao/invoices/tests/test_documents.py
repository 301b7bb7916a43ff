"""Invoice PDF and XML: layout smoke checks by machine (QR, text layer, fonts) and round trips.

Every rendered page is saved under test-artifacts/documents/ for a human to look at.
"""

import datetime
import re
from decimal import Decimal
from pathlib import Path

import pypdfium2 as pdfium
import pytest
import zxingcpp

from fapiao import testing
from fapiao.invoices.documents import InvoiceXmlError, invoice_pdf, invoice_xml, parse_invoice_xml
from fapiao.invoices.documents.common import money
from fapiao.invoices.models import Invoice, InvoiceLine
from fapiao.rules import qr, rmb

pytestmark = pytest.mark.django_db

ARTIFACTS = Path(__file__).resolve().parents[4] / "test-artifacts" / "documents"
DAY = datetime.date(2025, 3, 7)


def _lines(inv: Invoice, specs: list[dict]) -> Invoice:
    """Replace the builder's single line with `specs` and make the header totals their sums."""
    inv.lines.all().delete()
    for position, spec in enumerate(specs, 1):
        InvoiceLine.objects.create(invoice=inv, position=position, **spec)
    inv.amount = sum((s["amount"] for s in specs), Decimal("0.00"))
    inv.tax = sum((s["tax"] for s in specs), Decimal("0.00"))
    inv.total = inv.amount + inv.tax
    inv.save()
    return inv


def _line(name, amount, rate, *, quantity=None, price=None, exemption="", **extra) -> dict:
    amount, rate = Decimal(amount), Decimal(rate)
    return {
        "name": name,
        "amount": amount,
        "rate": rate,
        "tax": (amount * rate).quantize(Decimal("0.01")),
        "quantity": Decimal(quantity) if quantity else None,
        "unit_price": Decimal(price) if price else None,
        "exemption": exemption,
        **extra,
    }


def _special() -> Invoice:
    inv = testing.invoice(
        seller=testing.organization("北京华创信息技术有限公司"),
        buyer=testing.organization("中国移动通信集团四川有限公司成都分公司", region="510104"),
        day=DAY,
        drawer="石富阳",
        remarks="合同编号：HT-2025-0307",
    )
    return _lines(
        inv,
        [
            _line("*计算机外部设备*扫描枪", "1769.91", "0.13", quantity="3", price="589.97",
                  spec="DS2208", unit="个", tax_code="1090512990000000000"),
            _line("*信息技术服务*软件开发服务", "8000.00", "0.06", quantity="1", price="8000",
                  unit="项", tax_code="3040201010000000000"),
            _line("*现代服务*移动代理服务", "2129.34", "0.01", quantity="1",
                  price="2129.33663366337", unit="项"),
        ],
    )  # fmt: skip


def _general() -> Invoice:
    return testing.invoice(type_code="32", day=DAY, amount="1455.45", rate="0.01", drawer="李海伦")


def _mixed() -> Invoice:
    inv = testing.invoice(type_code="32", day=DAY, drawer="王丽")
    return _lines(
        inv,
        [
            _line("*网络设备*交换机", "20353.98", "0.13", quantity="2", price="10176.99",
                  spec="S5735-L48T4X", unit="台"),
            _line("*研发和技术服务*技术咨询服务", "4716.98", "0.06", quantity="1",
                  price="4716.98", unit="次"),
            _line("*农产品*蔬菜", "860.00", "0", quantity="430", price="2", unit="千克",
                  exemption="exempt"),
            _line("*预付卡销售*预付卡", "500.00", "0", exemption="not_taxable"),
        ],
    )  # fmt: skip


def _individual() -> Invoice:
    return testing.invoice(
        type_code="32",
        day=DAY,
        amount="388.35",
        rate="0.03",
        buyer_name="张三",
        buyer_tax_id="",
        drawer="王丽",
    )


def _red() -> Invoice:
    blue = testing.invoice(day=DAY, amount="1000.00", rate="0.06", drawer="王丽")
    red_day = DAY + datetime.timedelta(days=5)
    return testing.invoice(
        day=red_day,
        amount="-1000.00",
        rate="0.06",
        is_red=True,
        original=blue,
        seller_name=blue.seller_name,
        seller_tax_id=blue.seller_tax_id,
        buyer_name=blue.buyer_name,
        buyer_tax_id=blue.buyer_tax_id,
        drawer="王丽",
        remarks=(f"被红冲蓝字数电发票号码：{blue.number} 红字发票信息确认单编号：1101082509100261"),
    )


def _legacy() -> Invoice:
    return testing.invoice(
        type_code="10",
        code="050001700111",
        number="99999951",
        check_code="14754822929856772523",
        day=datetime.date(2020, 10, 10),
        amount="300.00",
        rate="0.03",
        drawer="管理员",
    )


def _many_lines() -> Invoice:
    inv = testing.invoice(type_code="31", day=DAY, drawer="王丽")
    names = ["*办公用品*打印纸", "*计算机外部设备*扫描枪", "*信息技术服务*信息系统运维服务"]
    specs = []
    for i in range(40):
        name = names[i % 3]
        if i % 7 == 0:  # a long name that must wrap in its column
            name = (
                "*电子计算机*服务器（双路处理器、512GB 内存、24 块硬盘位、冗余电源，"
                "含三年原厂上门保修）"
            )
        specs.append(_line(name, f"{100 + i}.00", "0.13", quantity="1", price=f"{100 + i}",
                           unit="台"))  # fmt: skip
    return _lines(inv, specs)


def _long_texts() -> Invoice:
    """Names, remarks and amounts at the edge of what the form holds: shrink, wrap, never clip."""
    inv = testing.invoice(
        type_code="31",
        day=DAY,
        seller_name="中国建筑第八工程局有限公司华北分公司雄安新区启动区市政道路及综合管廊工程项目经理部",
        buyer_name="内蒙古自治区鄂尔多斯市伊金霍洛旗阿勒腾席热镇人民政府（伊金霍洛旗城市管理综合执法局）",
        drawer="欧阳明月",
        remarks="；".join(
            [
                "购方地址：内蒙古自治区鄂尔多斯市伊金霍洛旗阿勒腾席热镇札萨克路 88 号政务服务中心",
                "电话：0477-8612345",
                "购方开户银行：中国工商银行股份有限公司伊金霍洛旗支行",
                "银行账号：0605123409024567890",
                "销方地址：河北省保定市雄安新区容城县奥威路 1 号",
                "项目名称：雄安新区启动区市政道路及综合管廊工程（二标段）第 3 期进度款",
                "合同编号：ZJBJ-XA-2025-0307-0012",
            ]
        ),
    )
    return _lines(
        inv,
        [
            _line("*建筑服务*市政道路及综合管廊工程施工（含土方开挖、管线迁改、路面铺装、绿化恢复）",
                  "91743119.27", "0.09", quantity="1", price="91743119.27",
                  spec="ZJBJ-XA-2025-0307-II-3", unit="项"),
            _line("*混凝土*商品混凝土", "1234567.89", "0.03", quantity="2469.135780",
                  price="500.000001234567", spec="C30 P8（抗渗）", unit="立方米"),
        ],
    )  # fmt: skip


BUILDERS = {
    "long_texts": _long_texts,
    "special": _special,
    "general": _general,
    "mixed": _mixed,
    "individual": _individual,
    "red": _red,
    "legacy": _legacy,
    "many_lines": _many_lines,
}


def _render(name: str, data: bytes) -> list:
    """Every page as an image at 2× (144 dpi), saved as test-artifacts/documents/<name>_pN.png."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for stale in ARTIFACTS.glob(f"{name}_p*.png"):
        stale.unlink()
    pdf = pdfium.PdfDocument(data)
    images = []
    for i, page in enumerate(pdf, 1):
        image = page.render(scale=2).to_pil()
        image.save(ARTIFACTS / f"{name}_p{i}.png")
        images.append(image)
    return images


def _text_layer(data: bytes) -> str:
    pdf = pdfium.PdfDocument(data)
    return "\n".join(page.get_textpage().get_text_range() for page in pdf)


@pytest.mark.parametrize("name", list(BUILDERS))
def test_every_page_carries_a_qr_code_that_reads_back_as_the_invoice(name):
    inv = BUILDERS[name]()
    data = invoice_pdf(inv)
    for image in _render(name, data):
        found = zxingcpp.read_barcodes(image)
        assert len(found) == 1, f"{name}: {len(found)} QR codes on a page"
        payload = qr.parse(found[0].text)
        assert payload.number == inv.number
        assert payload.issue_date == inv.issue_date
        if inv.type_code in ("31", "32"):  # 数电: 价税合计, no code
            assert payload.total == inv.total and payload.code is None
        else:  # legacy: 合计金额 excluding tax, with code and check code
            assert payload.amount_excluding_tax == inv.amount
            assert (payload.code, payload.check_code) == (inv.code, inv.check_code)


@pytest.mark.parametrize("name", list(BUILDERS))
def test_the_text_layer_holds_number_totals_in_words_and_parties(name):
    inv = BUILDERS[name]()
    text = _text_layer(invoice_pdf(inv))
    flat = re.sub(r"\s+", "", text)
    assert inv.number in flat
    assert f"⊗{rmb.capital(inv.total)}" in flat
    for value in (inv.amount, inv.tax, inv.total):
        assert f"¥{money(value)}" in flat
    assert re.sub(r"\s+", "", inv.seller_name) in flat
    assert re.sub(r"\s+", "", inv.buyer_name) in flat
    assert f"{inv.issue_date.year}年{inv.issue_date.month:02d}月{inv.issue_date.day:02d}日" in flat


def test_titles_follow_the_type():
    assert "电子发票（增值税专用发票）" in _text_layer(invoice_pdf(_special()))
    assert "电子发票（普通发票）" in _text_layer(invoice_pdf(_general()))
    legacy = _text_layer(invoice_pdf(_legacy()))
    assert "增值税电子普通发票" in legacy
    assert "050001700111" in legacy and "14754" in legacy


def test_mixed_rates_print_each_rate_and_exempt_lines_without_tax():
    text = _text_layer(invoice_pdf(_mixed()))
    for label in ("13%", "6%", "免税", "不征税", "***", "430", "10176.99"):
        assert label in text


def test_an_individual_buyer_prints_without_a_tax_id():
    inv = _individual()
    text = _text_layer(invoice_pdf(inv))
    assert "张三" in text
    line = next(x for x in text.splitlines() if "张三" in x or "识别号" in x)
    assert line  # the label is there; no buyer ID follows it
    assert parse_invoice_xml(invoice_xml(inv))["buyer_tax_id"] == ""


def test_a_red_invoice_is_marked_and_negative():
    inv = _red()
    assert inv.total < 0
    text = _text_layer(invoice_pdf(inv))
    assert "红字发票" in text
    assert f"被红冲蓝字数电发票号码：{inv.original.number}" in text
    assert "¥-1060.00" in text and "负壹仟零陆拾圆整" in text
    assert "-1000.00" in text  # the line amount too


def test_forty_lines_continue_over_several_pages():
    inv = _many_lines()
    data = invoice_pdf(inv)
    pages = len(pdfium.PdfDocument(data))
    assert pages >= 3
    text = _text_layer(data)
    for page in range(1, pages + 1):
        assert f"共{pages}页 第{page}页" in text
    for i in range(40):
        assert f"{100 + i}.00" in text  # every line printed once, none lost at a page break
    assert "（续下页）" in text
    assert text.count("合计（大写）") == pages  # the form repeats, the totals print once
    assert text.count(f"¥{money(inv.total)}") == 1


def test_output_is_deterministic_for_the_same_invoice():
    inv = _special()
    first, second = invoice_pdf(inv), invoice_pdf(Invoice.objects.get(pk=inv.pk))
    assert first == second
    other = invoice_pdf(_general())
    assert (
        re.search(rb"/ID\s*\[<([0-9a-f]+)>", first)[1]
        != re.search(rb"/ID\s*\[<([0-9a-f]+)>", other)[1]
    )


def test_fonts_are_embedded_subsets_and_nothing_else():
    data = invoice_pdf(_mixed())
    base_fonts = re.findall(rb"/BaseFont\s*/([^\s/>]+)", data)
    assert base_fonts, "no font in the PDF"
    assert all(re.fullmatch(rb"[A-Z]{6}\+WenQuanYiMicroHei-\d+", f) for f in base_fonts)
    descriptors = len(re.findall(rb"/Type\s*/FontDescriptor", data))
    assert data.count(b"/FontFile2") == descriptors == len(base_fonts)
    assert b"Helvetica" not in data


def test_an_unsaved_invoice_renders_with_lines_passed_in():
    inv = Invoice(
        type_code="32",
        number="25112000000000000001",
        issue_date=DAY,
        seller_name="甲公司",
        seller_tax_id="91110108MA01YF8K3U",
        buyer_name="乙公司",
        amount=Decimal("100.00"),
        tax=Decimal("6.00"),
        total=Decimal("106.00"),
    )
    line = InvoiceLine(position=1, name="*信息技术服务*软件开发服务", amount=Decimal("100.00"),
                       rate=Decimal("0.06"), tax=Decimal("6.00"))  # fmt: skip
    assert "壹佰零陆圆整" in _text_layer(invoice_pdf(inv, lines=[line]))
    assert parse_invoice_xml(invoice_xml(inv, lines=[line]))["total"] == Decimal("106.00")


def test_a_record_whose_qr_payload_cannot_be_built_still_prints_without_qr():
    inv = Invoice(
        type_code="04",
        code="12345",  # not a 10- or 12-digit 发票代码: no valid QR payload exists
        number="00000001",
        issue_date=DAY,
        seller_name="甲公司",
        seller_tax_id="91110108MA01YF8K3U",
        buyer_name="乙公司",
        amount=Decimal("100.00"),
        tax=Decimal("3.00"),
        total=Decimal("103.00"),
    )
    data = invoice_pdf(inv, lines=[])
    assert "壹佰零叁圆整" in _text_layer(data)
    assert zxingcpp.read_barcodes(_render("no_qr", data)[0]) == []


def test_metadata_dates_the_pdf_at_its_issue_time():
    inv = _special()
    inv.issued_at = datetime.datetime(2025, 3, 7, 2, 15, 30, tzinfo=datetime.UTC)
    meta = pdfium.PdfDocument(invoice_pdf(inv)).get_metadata_dict()
    assert meta["CreationDate"] == "D:20250307101530+08'00'"  # Asia/Shanghai
    assert inv.number in meta["Title"] and meta["Author"] == inv.seller_name


# XML ------------------------------------------------------------------------------------------

PARTY = ("name", "tax_id", "address", "phone", "bank_name", "bank_account")


@pytest.mark.parametrize("name", list(BUILDERS))
def test_xml_round_trip_equals_the_record(name):
    inv = BUILDERS[name]()
    data = invoice_xml(inv)
    assert data.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    back = parse_invoice_xml(data)
    for field in ("type_code", "code", "number", "issue_date", "is_red", "drawer", "remarks"):
        assert back[field] == getattr(inv, field), field
    for field in ("amount", "tax", "total"):
        assert isinstance(back[field], Decimal) and back[field] == getattr(inv, field), field
    for side in ("seller", "buyer"):
        for field in PARTY:
            assert back[f"{side}_{field}"] == getattr(inv, f"{side}_{field}"), f"{side}_{field}"
    assert back["total_in_words"] == rmb.capital(inv.total)
    lines = list(inv.lines.order_by("position"))
    assert len(back["lines"]) == len(lines)
    for got, line in zip(back["lines"], lines, strict=True):
        for field in ("position", "name", "spec", "unit", "tax_code", "exemption"):
            assert got[field] == getattr(line, field), field
        for field in ("quantity", "unit_price", "amount", "rate", "tax"):
            assert got[field] == getattr(line, field), field
    if inv.is_red:
        assert back["original_number"] == inv.original.number


def test_xml_header_labels_blue_red_and_vat_kind():
    special = invoice_xml(_special()).decode()
    assert "<InIssuType>\n        <LabelCode>Y</LabelCode>" in special
    assert re.search(r"<GeneralOrSpecialVAT>\s*<LabelCode>01</LabelCode>", special)
    assert re.search(r"<EInvoiceTag>SWEI\d{4}</EInvoiceTag>", special)
    general = invoice_xml(_general()).decode()
    assert re.search(r"<GeneralOrSpecialVAT>\s*<LabelCode>02</LabelCode>", general)
    red = invoice_xml(_red()).decode()
    assert re.search(r"<InIssuType>\s*<LabelCode>N</LabelCode>", red)
    assert "<CreditNoteNumber>1101082509100261</CreditNoteNumber>" in red


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<EInvoice><TaxSupervisionInfo><InvoiceNumber>&lol4;</InvoiceNumber></TaxSupervisionInfo></EInvoice>
"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE EInvoice [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<EInvoice><EInvoiceData><AdditionalInformation><Remark>&xxe;</Remark></AdditionalInformation>
</EInvoiceData></EInvoice>
"""
PARAMETER_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE EInvoice [<!ENTITY % remote SYSTEM "http://127.0.0.1:9/evil.dtd"> %remote;]>
<EInvoice/>
"""
EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE EInvoice SYSTEM "http://127.0.0.1:9/evil.dtd">
<EInvoice/>
"""


@pytest.mark.parametrize(
    "data", [BILLION_LAUGHS, EXTERNAL_ENTITY, PARAMETER_ENTITY, EXTERNAL_DTD], ids=str
)
def test_hostile_xml_is_refused(data):
    with pytest.raises(InvoiceXmlError, match="DOCTYPE"):
        parse_invoice_xml(data)


@pytest.mark.parametrize(
    "data, message",
    [
        (b"<EInvoice><Header>", "格式错误"),
        (b"<?xml version='1.0'?><eInvoice/>", "根元素"),
        (b"<EInvoice><Header><EIid/></Header></EInvoice>", "发票号码"),
        (b"", "格式错误"),
    ],
)
def test_malformed_xml_is_refused_with_a_reason(data, message):
    with pytest.raises(InvoiceXmlError, match=message):
        parse_invoice_xml(data)


def test_a_real_shaped_xml_reads_with_prefixed_seller_and_buyer_elements():
    data = """<?xml version="1.0" encoding="UTF-8"?>
<EInvoice>
  <Header><EIid>26337904450900255091</EIid><EInvoiceTag>SWEI3300</EInvoiceTag>
    <Version>0.32</Version></Header>
  <EInvoiceData>
    <SellerInformation><SellerIdNum>91330000142942095H</SellerIdNum>
      <SellerName>浙江示例高速公路股份有限公司</SellerName></SellerInformation>
    <BuyerInformation><BuyerIdNum>91330106MACKX4QG41</BuyerIdNum>
      <BuyerName>杭州示例科技有限公司</BuyerName></BuyerInformation>
    <BasicInformation><TotalAmWithoutTax>5.45</TotalAmWithoutTax><TotalTaxAm>0.16</TotalTaxAm>
      <TotalTax-includedAmount>5.61</TotalTax-includedAmount>
      <TotalTax-includedAmountInChinese>伍圆陆角壹分</TotalTax-includedAmountInChinese>
      <Drawer>马斯妮</Drawer><RequestTime>2026-09-14 12:51:03</RequestTime></BasicInformation>
    <IssuItemInformation><ItemName>*生产生活服务*通行费</ItemName><UnPrice>5.45</UnPrice>
      <Amount>5.45</Amount><TaxRate>0.03</TaxRate><ComTaxAm>0.16</ComTaxAm>
      <TotaltaxIncludedAmount>5.61</TotaltaxIncludedAmount></IssuItemInformation>
  </EInvoiceData>
  <TaxSupervisionInfo><InvoiceNumber>26337904450900255091</InvoiceNumber>
    <IssueTime>2026-09-14</IssueTime></TaxSupervisionInfo>
</EInvoice>""".encode()
    back = parse_invoice_xml(data)
    assert back["number"] == "26337904450900255091"
    assert back["issue_date"] == datetime.date(2026, 9, 14)
    assert back["issued_at"] == datetime.datetime(2026, 9, 14, 12, 51, 3)
    assert (back["amount"], back["tax"], back["total"]) == tuple(
        Decimal(x) for x in ("5.45", "0.16", "5.61")
    )
    assert back["seller_name"] == "浙江示例高速公路股份有限公司"
    assert back["lines"][0]["rate"] == Decimal("0.03") and back["lines"][0]["quantity"] is None
