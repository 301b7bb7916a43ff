from decimal import Decimal

from django.conf import settings
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

    # No single-column indexes on the organizations: every composite index below leads with one
    # of them, which serves the foreign-key lookups as well (and a bulk import writes less).
    seller_org = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="sales",
        db_index=False,
    )
    seller_name = models.CharField(_("销售方名称"), max_length=200)
    seller_tax_id = models.CharField(_("销售方纳税人识别号"), max_length=26)
    seller_address = models.CharField(_("销售方地址"), max_length=200, blank=True)
    seller_phone = models.CharField(_("销售方电话"), max_length=40, blank=True)
    seller_bank_name = models.CharField(_("销售方开户银行"), max_length=100, blank=True)
    seller_bank_account = models.CharField(_("销售方银行账号"), max_length=40, blank=True)

    buyer_org = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="purchases",
        db_index=False,
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
        # What a bulk import maintains, each index for a query that needs it:
        # - the per-organization indexes are partial (the organization not null): most invoices
        #   concern one organization on the platform, and the other side's entries would be
        #   written for nothing (`seller_org = X` implies the condition, so queries use them);
        # - the statistics indexes lead with (organization, date): they serve the date-ordered
        #   list too;
        # - (organization, total) is the costliest to maintain (a random B-tree insert per row)
        #   and stays: the finder looks invoices up by amount, and lists sort by it;
        # - names have plain B-tree indexes, found through `SearchName` (see search.py).
        indexes = [
            models.Index(fields=["number"], name="invoice_number"),
            models.Index(fields=["seller_tax_id"], name="invoice_seller_tax_id"),
            models.Index(fields=["buyer_tax_id"], name="invoice_buyer_tax_id"),
            models.Index(fields=["seller_name"], name="invoice_seller_name"),
            models.Index(fields=["buyer_name"], name="invoice_buyer_name"),
            models.Index(
                fields=["seller_org", "total"],
                name="invoice_seller_total",
                condition=Q(seller_org__isnull=False),
            ),
            models.Index(
                fields=["buyer_org", "total"],
                name="invoice_buyer_total",
                condition=Q(buyer_org__isnull=False),
            ),
            models.Index(
                fields=["seller_org", "number"],
                name="invoice_seller_number",
                condition=Q(seller_org__isnull=False),
            ),
            models.Index(
                fields=["buyer_org", "number"],
                name="invoice_buyer_number",
                condition=Q(buyer_org__isnull=False),
            ),
            # Statistics: every aggregate of an organization's period reads only these indexes.
            models.Index(
                fields=[
                    "seller_org",
                    "issue_date",
                    "status",
                    "is_red",
                    "type_code",
                    "amount",
                    "tax",
                    "total",
                    "buyer_tax_id",
                ],
                name="invoice_seller_stats",
                condition=Q(seller_org__isnull=False),
            ),
            models.Index(
                fields=[
                    "buyer_org",
                    "issue_date",
                    "status",
                    "is_red",
                    "type_code",
                    "amount",
                    "tax",
                    "total",
                    "seller_tax_id",
                    "seller_org",
                ],
                name="invoice_buyer_stats",
                condition=Q(buyer_org__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.number}".strip()

    @property
    def identity(self) -> str:
        return f"{self.code}{self.number}" if self.code else self.number


class InvoiceLine(models.Model):
    """One line of an invoice (货物或应税劳务、服务)."""

    # Indexed by the unique (invoice, position) constraint, which leads with it.
    invoice = models.ForeignKey(
        Invoice, on_delete=models.CASCADE, related_name="lines", db_index=False
    )
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
    exemption = models.CharField(_("免税类型"), max_length=16, blank=True)

    class Meta:
        verbose_name = _("发票明细")
        verbose_name_plural = _("发票明细")
        ordering = ["invoice", "position"]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "position"], name="invoice_line_position"),
        ]
        indexes = [
            # Statistics by rate read the lines through this index alone.
            models.Index(
                fields=["invoice", "rate", "exemption", "amount", "tax"], name="invoice_line_stats"
            ),
            # Item-name search: the names come from `SearchName` (see search.py).
            models.Index(fields=["name"], name="invoice_line_name"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def total(self) -> Decimal:
        return self.amount + self.tax


class SearchNameKind(models.TextChoices):
    PARTY = "party", _("交易方名称")
    ITEM = "item", _("项目名称")


class SearchName(models.Model):
    """Every distinct seller, buyer and item name on the platform's invoices, once.

    Name-substring search (see search.py) matches the text against this small table through a
    trigram index, then finds the invoices by the exact names through plain B-tree indexes: a
    trigram index over every invoice cost a bulk import more than all its other indexes. Kept
    complete by database triggers on the invoice tables, whatever writes them; never pruned (a
    name no invoice carries any longer finds nothing)."""

    kind = models.CharField(max_length=5, choices=SearchNameKind.choices)
    name = models.CharField(max_length=200)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "name"], name="search_name_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class NumberSequence(models.Model):
    """The next 数电 sequence number for a region, year and channel. Locked while an invoice is
    issued, in the same transaction: a rolled-back issue gives its number back, so numbers are
    neither duplicated nor skipped."""

    region = models.CharField(max_length=2)
    year = models.PositiveSmallIntegerField()
    channel = models.CharField(max_length=1)
    last_value = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["region", "year", "channel"], name="number_sequence_key"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.year}-{self.region}-{self.channel}: {self.last_value}"


class Item(models.Model):
    """An organization's catalogue of goods and services (商品和服务)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="items")
    category = models.CharField(_("商品和服务分类简称"), max_length=60)
    name = models.CharField(_("名称"), max_length=150)
    tax_code = models.CharField(_("税收分类编码"), max_length=19)
    spec = models.CharField(_("规格型号"), max_length=100, blank=True)
    unit = models.CharField(pgettext_lazy("unit of measure", "单位"), max_length=20, blank=True)
    unit_price = models.DecimalField(
        _("单价（不含税）"), max_digits=28, decimal_places=13, null=True, blank=True
    )
    rate = models.DecimalField(_("税率/征收率"), max_digits=5, decimal_places=3)
    exemption = models.CharField(_("免税类型"), max_length=16, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("商品和服务")
        verbose_name_plural = _("商品和服务")
        ordering = ["category", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "category", "name", "spec"], name="item_unique_per_org"
            ),
        ]

    def __str__(self) -> str:
        return self.line_name

    @property
    def line_name(self) -> str:
        """As invoices print it: *简称*名称."""
        return f"*{self.category}*{self.name}"


class Buyer(models.Model):
    """An organization's directory of buyers (抬头)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="buyers")
    name = models.CharField(_("名称"), max_length=200)
    tax_id = models.CharField(_("统一社会信用代码/纳税人识别号"), max_length=26, blank=True)
    address = models.CharField(_("地址"), max_length=200, blank=True)
    phone = models.CharField(_("电话"), max_length=40, blank=True)
    bank_name = models.CharField(_("开户银行"), max_length=100, blank=True)
    bank_account = models.CharField(_("银行账号"), max_length=40, blank=True)
    email = models.EmailField(_("收票邮箱"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("购买方")
        verbose_name_plural = _("购买方")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name", "tax_id"], name="buyer_unique_per_org"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class DraftState(models.TextChoices):
    DRAFT = "draft", _("草稿")
    SUBMITTED = "submitted", _("待审核")
    ISSUED = "issued", _("已开具")


class Draft(models.Model):
    """An invoice being prepared (草稿 → 待审核 → 已开具), or a template to start drafts from."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="drafts")
    type_code = models.CharField(_("发票类型"), max_length=2, default="31")
    buyer_name = models.CharField(_("购买方名称"), max_length=200, blank=True)
    buyer_tax_id = models.CharField(_("购买方纳税人识别号"), max_length=26, blank=True)
    buyer_address = models.CharField(_("购买方地址"), max_length=200, blank=True)
    buyer_phone = models.CharField(_("购买方电话"), max_length=40, blank=True)
    buyer_bank_name = models.CharField(_("购买方开户银行"), max_length=100, blank=True)
    buyer_bank_account = models.CharField(_("购买方银行账号"), max_length=40, blank=True)
    buyer_email = models.EmailField(_("购买方邮箱"), blank=True)
    remarks = models.TextField(_("备注"), blank=True)
    prices_include_tax = models.BooleanField(_("含税录入"), default=False)
    state = models.CharField(
        _("状态"), max_length=16, choices=DraftState.choices, default=DraftState.DRAFT
    )
    is_template = models.BooleanField(_("模板"), default=False)
    template_name = models.CharField(_("模板名称"), max_length=100, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    review_reason = models.CharField(_("退回原因"), max_length=500, blank=True)
    issued_invoice = models.OneToOneField(
        Invoice, on_delete=models.PROTECT, null=True, blank=True, related_name="draft"
    )
    copied_from = models.ForeignKey(
        Invoice, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("发票草稿")
        verbose_name_plural = _("发票草稿")
        ordering = ["-updated_at"]
        indexes = [models.Index(fields=["organization", "state"], name="draft_org_state")]

    def __str__(self) -> str:
        return self.template_name or f"草稿 #{self.pk} {self.buyer_name}"


class DraftLine(models.Model):
    draft = models.ForeignKey(Draft, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField()
    item = models.ForeignKey(Item, on_delete=models.SET_NULL, null=True, blank=True)
    name = models.CharField(_("项目名称"), max_length=200)
    tax_code = models.CharField(_("税收分类编码"), max_length=19, blank=True)
    spec = models.CharField(_("规格型号"), max_length=100, blank=True)
    unit = models.CharField(pgettext_lazy("unit of measure", "单位"), max_length=20, blank=True)
    quantity = models.DecimalField(max_digits=28, decimal_places=13, null=True, blank=True)
    unit_price = models.DecimalField(max_digits=28, decimal_places=13, null=True, blank=True)
    amount = models.DecimalField(_("金额"), **MONEY)
    rate = models.DecimalField(_("税率/征收率"), max_digits=5, decimal_places=3)
    tax = models.DecimalField(_("税额"), **MONEY)
    exemption = models.CharField(_("免税类型"), max_length=16, blank=True)

    class Meta:
        ordering = ["draft", "position"]

    def __str__(self) -> str:
        return self.name


class RedLetterReason(models.TextChoices):
    ERROR = "1", _("开票有误")
    RETURN = "2", _("销货退回")
    SERVICE_ENDED = "3", _("服务终止")
    ALLOWANCE = "4", _("销售折让")


class RedLetterStatus(models.TextChoices):
    """红字确认单 states, with the national codes."""

    NO_CONFIRMATION = "01", _("无需确认")
    AWAITING_BUYER = "02", _("销方录入待购方确认")
    AWAITING_SELLER = "03", _("购方录入待销方确认")
    CONFIRMED = "04", _("购销双方已确认")
    REFUSED_BY_BUYER = "05", _("作废（购方已拒绝）")
    REFUSED_BY_SELLER = "06", _("作废（销方已拒绝）")
    LAPSED = "07", _("作废（超 72 小时未确认）")
    WITHDRAWN = "08", _("作废（发起方已撤销）")


class RedLetterRequest(models.Model):
    """A 红字确认单: asks to reverse a blue invoice in full or in part."""

    blue = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="red_requests")
    initiator = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(_("红冲原因"), max_length=1, choices=RedLetterReason.choices)
    status = models.CharField(_("状态"), max_length=2, choices=RedLetterStatus.choices)
    full = models.BooleanField(_("全额红冲"), default=True)
    amount = models.DecimalField(_("红冲金额"), **MONEY)  # negative
    tax = models.DecimalField(_("红冲税额"), **MONEY)  # negative
    lines = models.JSONField(_("红冲明细"), default=list)  # [{position, amount, tax, quantity}]
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    deadline = models.DateTimeField(_("确认期限"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    red_invoice = models.OneToOneField(
        Invoice, on_delete=models.PROTECT, null=True, blank=True, related_name="red_request"
    )

    class Meta:
        verbose_name = _("红字确认单")
        verbose_name_plural = _("红字确认单")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"红字确认单 #{self.pk}（{self.blue.number}）"

    @property
    def total(self) -> Decimal:
        return self.amount + self.tax
