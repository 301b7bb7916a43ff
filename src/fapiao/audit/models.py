import hashlib
import json

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from fapiao.accounts.models import Organization

PLATFORM_CHAIN = "platform"


class AppendOnlyError(RuntimeError):
    pass


class EventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("操作记录只能追加，不能修改。")

    def delete(self):
        raise AppendOnlyError("操作记录只能追加，不能删除。")


class Event(models.Model):
    """One entry of the operation log (操作记录). Append-only; chained by hash per organization.

    The database refuses UPDATE and DELETE on this table (triggers in the migration), and the
    chain makes any change made around that visible to `fapiao audit verify`.
    """

    chain = models.CharField(_("记录链"), max_length=32, editable=False)
    sequence = models.PositiveBigIntegerField(_("序号"), editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("操作人"),
    )
    actor_label = models.CharField(_("操作人"), max_length=200, blank=True)
    api_client = models.CharField(_("接口客户端"), max_length=100, blank=True)
    code = models.CharField(_("事件代码"), max_length=64)
    description = models.CharField(_("描述"), max_length=500)
    object_type = models.CharField(_("对象类型"), max_length=64, blank=True)
    object_id = models.CharField(_("对象编号"), max_length=64, blank=True)
    object_label = models.CharField(_("对象"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("时间"), editable=False)
    ip = models.GenericIPAddressField(_("IP 地址"), null=True, blank=True)
    user_agent = models.CharField(_("浏览器"), max_length=400, blank=True)
    details = models.JSONField(_("详情"), default=dict, blank=True)
    prev_hash = models.CharField(max_length=64, editable=False)
    hash = models.CharField(max_length=64, editable=False)

    objects = EventQuerySet.as_manager()

    class Meta:
        verbose_name = _("操作记录")
        verbose_name_plural = _("操作记录")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["chain", "sequence"], name="audit_event_chain_seq"),
        ]
        indexes = [
            models.Index(fields=["organization", "-created_at"], name="audit_event_org_time"),
            models.Index(fields=["actor", "-created_at"], name="audit_event_actor_time"),
            models.Index(fields=["code"], name="audit_event_code"),
            models.Index(fields=["object_type", "object_id"], name="audit_event_object"),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.description}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.get("force_insert"):
            raise AppendOnlyError("操作记录只能追加，不能修改。")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("操作记录只能追加，不能删除。")

    def payload(self) -> dict:
        """What the hash covers: everything recorded about the event."""
        return {
            "chain": self.chain,
            "sequence": self.sequence,
            "organization": self.organization_id,
            "actor": self.actor_id,
            "actor_label": self.actor_label,
            "api_client": self.api_client,
            "code": self.code,
            "description": self.description,
            "object": [self.object_type, self.object_id, self.object_label],
            "created_at": self.created_at.isoformat(timespec="microseconds"),
            "ip": self.ip,
            "user_agent": self.user_agent,
            "details": self.details,
            "prev_hash": self.prev_hash,
        }

    def compute_hash(self) -> str:
        text = json.dumps(self.payload(), ensure_ascii=False, sort_keys=True, default=str)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


class ChainHead(models.Model):
    """The latest link of each chain; locked while an event is appended, so links never fork."""

    chain = models.CharField(max_length=32, unique=True)
    sequence = models.PositiveBigIntegerField(default=0)
    hash = models.CharField(max_length=64, default="0" * 64)

    def __str__(self) -> str:
        return f"{self.chain} #{self.sequence}"


def chain_for(organization_id: int | None) -> str:
    return f"org:{organization_id}" if organization_id else PLATFORM_CHAIN
