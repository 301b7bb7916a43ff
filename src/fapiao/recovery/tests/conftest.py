"""The organization, its issuer and a staff reviewer the 补录 tests share."""

import pytest

from fapiao import testing
from fapiao.accounts.models import Role, StaffRole, User


@pytest.fixture
def org():
    return testing.organization("甲单位有限公司")


@pytest.fixture
def issuer(org):
    return testing.member(org, Role.ISSUER)


@pytest.fixture
def staff():
    return User.objects.create_user(
        email="reviewer@example.com", password=testing.PASSWORD, staff_role=StaffRole.REVIEWER
    )
