from decimal import Decimal

from django.db import models
from django.db.models import F, Q, Value
from django.db.models.functions import Abs
from django.db.models.lookups import LessThan
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from fapiao.accounts.models import Organization

MONEY = {"max_digits": 18, "decimal_places": 2}


class InvoiceStatus(models.IntegerChoices):
    """The tax status of an invoice, with the codes the national platform uses."""

    NORMAL = 0, _("正常")
    VOIDED = 2, _("作废")
    RED_LETTERED = 3, _("已红冲")
    PARTLY_RED = 7, _("部分红冲")
    FULLY_RED = 8, _("全额红冲")


class InvoiceSource(models.TextChoices):
    ISSUED = "issued", _("平台开具")
    IMPORTED = "imported", _("批量导入")
    RECOVERED = "recovered", _("补录")
    API = "api", _("接口上传")


class Invoice(models.Model):
    """One invoice, recorded once on the platform however many organizations it concerns.

    Its identity is the 发票代码 + 发票号码 of legacy invoices, or the 20-digit number alone for
    数电 invoices (stored with an empty code), unique in the database. The seller's and the buyer's
    organizations, where they are on the platform, both see it.
    """

    type_code = models.CharField(_("发票类型代码"), max_length=2)
    code = models.CharField(_("发票代码"), max_length=12, blank=True, default="")
    number = models.CharField(_("发票号码"), max_length=20)
    issue_date = models.DateField(_("开票日期"))
    issued_at = models.DateTimeField(_("开票时间"), null=True, blank=True)

    seller_org = models.ForeignKey(
        Organization, on_delete=models.PROTECT, null=True, blank=True, related_name="sales"
    )
    seller_name = models.CharField(_("销售方名称"), max_length=200)
    seller_tax_id = models.CharField(_("销售方纳税人识别号"), max_length=26)
    seller_address = models.CharField(_("销售方地址"), max_length=200, blank=True)
    seller_phone = models.CharField(_("销售方电话"), max_length=40, blank=True)
    seller_bank_name = models.CharField(_("销售方开户银行"), max_length=100, blank=True)
    seller_bank_account = models.CharField(_("销售方银行账号"), max_length=40, blank=True)

    buyer_org = models.ForeignKey(
        Organization, on_delete=models.PROTECT, null=True, blank=True, related_name="purchases"
    )
    buyer_name = models.CharField(_("购买方名称"), max_length=200)
    buyer_tax_id = models.CharField(_("购买方纳税人识别号"), max_length=26, blank=True)
    buyer_address = models.CharField(_("购买方地址"), max_length=200, blank=True)
    buyer_phone = models.CharField(_("购买方电话"), max_length=40, blank=True)
    buyer_bank_name = models.CharField(_("购买方开户银行"), max_length=100, blank=True)
    buyer_bank_account = models.CharField(_("购买方银行账号"), max_length=40, blank=True)
    buyer_email = models.EmailField(_("购买方邮箱"), blank=True)

    amount = models.DecimalField(_("合计金额"), **MONEY)
    tax = models.DecimalField(_("合计税额"), **MONEY)
    total = models.DecimalField(_("价税合计"), **MONEY)

    check_code = models.CharField(_("校验码"), max_length=20, blank=True)
    remarks = models.TextField(_("备注"), blank=True)
    drawer = models.CharField(_("开票人"), max_length=50, blank=True)
    reviewer_name = models.CharField(_("复核人"), max_length=50, blank=True)

    status = models.PositiveSmallIntegerField(
        _("发票状态"), choices=InvoiceStatus.choices, default=InvoiceStatus.NORMAL
    )
    source = models.CharField(_("来源"), max_length=16, choices=InvoiceSource.choices)
    is_red = models.BooleanField(_("红字发票"), default=False)
    original = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="red_invoices",
        verbose_name=_("对应蓝字发票"),
    )

    created_at = models.DateTimeField(_("记录时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("发票")
        verbose_name_plural = _("发票")
        ordering = ["-issue_date", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["code", "number"], name="invoice_identity_unique"),
            # SQLite keeps decimals as floating point: compare within half a fen.
            models.CheckConstraint(
                condition=LessThan(
                    Abs(F("total") - F("amount") - F("tax")), Value(Decimal("0.005"))
                ),
                name="invoice_total_is_amount_plus_tax",
            ),
            models.CheckConstraint(
                condition=Q(is_red=False) | Q(original__isnull=False) | Q(source="imported"),
                name="invoice_red_has_original",
            ),
        ]
        indexes = [
            models.Index(fields=["seller_org", "-issue_date"], name="invoice_seller_date"),
            models.Index(fields=["buyer_org", "-issue_date"], name="invoice_buyer_date"),
            models.Index(fields=["number"], name="invoice_number"),
            models.Index(fields=["seller_tax_id"], name="invoice_seller_tax_id"),
            models.Index(fields=["buyer_tax_id"], name="invoice_buyer_tax_id"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.number}".strip()

    @property
    def identity(self) -> str:
        return f"{self.code}{self.number}" if self.code else self.number


class InvoiceLine(models.Model):
    """One line of an invoice (货物或应税劳务、服务)."""

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField(_("序号"))
    name = models.CharField(_("项目名称"), max_length=200)
    tax_code = models.CharField(_("税收分类编码"), max_length=19, blank=True)
    spec = models.CharField(_("规格型号"), max_length=100, blank=True)
    unit = models.CharField(pgettext_lazy("unit of measure", "单位"), max_length=20, blank=True)
    quantity = models.DecimalField(
        _("数量"), max_digits=28, decimal_places=13, null=True, blank=True
    )
    unit_price = models.DecimalField(
        _("单价"), max_digits=28, decimal_places=13, null=True, blank=True
    )
    amount = models.DecimalField(_("金额"), **MONEY)
    rate = models.DecimalField(_("税率/征收率"), max_digits=5, decimal_places=3)
    tax = models.DecimalField(_("税额"), **MONEY)
    exemption = models.CharField(_("免税类型"), max_length=8, blank=True)

    class Meta:
        verbose_name = _("发票明细")
        verbose_name_plural = _("发票明细")
        ordering = ["invoice", "position"]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "position"], name="invoice_line_position"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def total(self) -> Decimal:
        return self.amount + self.tax
