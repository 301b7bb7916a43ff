from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Model
from django.utils import timezone, translation

from fapiao.audit import context
from fapiao.audit.events import DESCRIPTIONS, EventCode
from fapiao.audit.export import events_workbook
from fapiao.audit.models import ChainHead, Event, chain_for
from fapiao.audit.selectors import events_for_organization


def event_record(
    *,
    code: EventCode,
    actor=None,
    organization=None,
    obj: Model | None = None,
    description: str | Callable[[], str] | None = None,
    details: dict[str, Any] | None = None,
    api_client: str = "",
    actor_label: str | None = None,
) -> Event:
    """Append an event to the operation log, in the caller's transaction.

    Call it inside the same transaction as the change it records: if the change rolls back, so
    does its event. `description` defaults to the code's Chinese description. The log is kept in
    Chinese whatever language the actor reads the pages in: a description that names a
    translated label (a role, a status) is passed as a function, called here in Chinese.
    """
    if description is None:
        with translation.override("zh-hans"):
            description = str(DESCRIPTIONS[code])
    elif callable(description):
        with translation.override("zh-hans"):
            description = description()
    meta = context.current()
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    organization_id = organization.pk if organization is not None else None
    chain = chain_for(organization_id)
    with transaction.atomic():
        head = _locked_head(chain)
        event = Event(
            chain=chain,
            sequence=head.sequence + 1,
            organization_id=organization_id,
            actor=actor,
            actor_label=actor_label if actor_label is not None else _label(actor),
            api_client=api_client,
            code=str(code),
            description=description[:500],
            object_type=obj._meta.model_name if obj is not None else "",
            object_id=str(obj.pk) if obj is not None else "",
            object_label=str(obj)[:200] if obj is not None else "",
            created_at=timezone.now(),
            ip=meta.ip if meta else None,
            user_agent=meta.user_agent if meta else "",
            details=details or {},
            prev_hash=head.hash,
        )
        # Round-trip the details through JSON now, so the hash covers what the database stores.
        event.details = _json_roundtrip(event.details)
        event.hash = event.compute_hash()
        event.save(force_insert=True)
        head.sequence, head.hash = event.sequence, event.hash
        head.save(update_fields=["sequence", "hash"])
    return event


@transaction.atomic
def audit_log_export(*, organization, actor, filters: dict, filter_summary: dict) -> bytes:
    """The organization's log (filtered) as .xlsx; the export itself is logged."""
    events = events_for_organization(organization=organization, **filters)
    content, rows = events_workbook(events.iterator(chunk_size=2000))
    event_record(
        code=EventCode.AUDIT_EXPORTED,
        actor=actor,
        organization=organization,
        details={"filter": filter_summary, "rows": rows},
    )
    return content


def _locked_head(chain: str) -> ChainHead:
    head = ChainHead.objects.select_for_update().filter(chain=chain).first()
    if head is not None:
        return head
    try:
        with transaction.atomic():
            ChainHead.objects.create(chain=chain)
    except IntegrityError:
        pass  # created by a concurrent writer meanwhile
    return ChainHead.objects.select_for_update().get(chain=chain)


def _label(actor) -> str:
    if actor is None:
        return ""
    name = getattr(actor, "name", "") or ""
    return f"{name} <{actor.email}>" if name else actor.email


def _json_roundtrip(value):
    import json

    return json.loads(json.dumps(value, ensure_ascii=False, default=str))
