"""Demo organizations and people (`fapiao demo`)."""

from dataclasses import dataclass

from allauth.account.models import EmailAddress
from django.db import transaction

from fapiao.accounts.models import Membership, Organization, Role, StaffRole, User
from fapiao.audit.events import EventCode
from fapiao.audit.services import event_record
from fapiao.rules import regions

DEMO_PASSWORD = "Yunfan-Demo-2026"

DEMO_ORG = {
    "name": "北京云帆数字科技有限公司",
    "tax_id": "91110108MA01YF8K3U",
    "address": "北京市海淀区中关村大街27号中关村大厦12层1208室",
    "phone": "010-62551208",
    "bank_name": "招商银行北京中关村支行",
    "bank_account": "110912345610801",
}
SECOND_ORG = {
    "name": "上海明澜商贸有限公司",
    "tax_id": "91310115MA1K4LPB0G",
    "address": "上海市浦东新区张杨路188号汤臣中心9楼",
    "phone": "021-58781188",
    "bank_name": "中国工商银行上海张杨路支行",
    "bank_account": "1001202109000188216",
}
DEMO_PEOPLE = [
    # email, name, mobile, organization key, role
    ("admin@yunfan.demo", "张伟", "13800000001", "demo", Role.ADMIN),
    ("issuer@yunfan.demo", "王丽", "13800000002", "demo", Role.ISSUER),
    ("reviewer@yunfan.demo", "李强", "13800000003", "demo", Role.REVIEWER),
    ("viewer@yunfan.demo", "赵敏", "13800000004", "demo", Role.VIEWER),
    ("admin@minglan.demo", "陈静", "13900000001", "second", Role.ADMIN),
]
DEMO_STAFF = [
    # email, name, mobile, staff role
    ("staff@fapiao.demo", "周敏", "13700000001", StaffRole.REVIEWER),
]


@dataclass(frozen=True)
class DemoAccounts:
    organization: Organization
    second_organization: Organization
    logins: list[tuple[str, str, str]]  # (email, name, role label)


def _organization(fields: dict) -> tuple[Organization, bool]:
    region = regions.region_from_uscc(fields["tax_id"])
    return Organization.objects.get_or_create(
        tax_id=fields["tax_id"],
        defaults={**fields, "region_code": region.code if region else ""},
    )


def _person(email: str, name: str, mobile: str, **extra) -> User:
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        user = User.objects.create_user(
            email=email, password=DEMO_PASSWORD, name=name, mobile=mobile, **extra
        )
    EmailAddress.objects.update_or_create(
        user=user, email=email, defaults={"verified": True, "primary": True}
    )
    return user


@transaction.atomic
def demo_accounts_create() -> DemoAccounts:
    (demo, demo_new), (second, second_new) = _organization(DEMO_ORG), _organization(SECOND_ORG)
    orgs = {"demo": demo, "second": second}
    new = {"demo": demo_new, "second": second_new}
    logins = []
    for email, name, mobile, staff_role in DEMO_STAFF:
        user = _person(email, name, mobile, staff_role=staff_role)
        logins.append((email, f"{name}（平台工作人员）", staff_role.label))
    for email, name, mobile, org_key, role in DEMO_PEOPLE:
        user = _person(email, name, mobile)
        _, joined = Membership.objects.get_or_create(
            user=user, organization=orgs[org_key], defaults={"role": role}
        )
        if joined and new[org_key]:
            # The operation log of a demo organization starts as a real one would.
            org = orgs[org_key]
            if role == Role.ADMIN:
                event_record(
                    code=EventCode.ORG_CREATED,
                    actor=user,
                    organization=org,
                    obj=org,
                    details={"tax_id": org.tax_id, "demo": True},
                )
            else:
                event_record(
                    code=EventCode.ORG_JOIN_APPROVED,
                    actor=None,
                    organization=org,
                    actor_label="演示数据",
                    description=f"批准 {user} 的加入申请（{role.label}）",
                    details={"user": email, "role": role, "demo": True},
                )
        logins.append((email, f"{name}（{orgs[org_key].name}）", role.label))
    return DemoAccounts(
        organization=orgs["demo"], second_organization=orgs["second"], logins=logins
    )
