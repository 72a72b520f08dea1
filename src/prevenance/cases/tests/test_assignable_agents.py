"""Who may be given a case (selectors.assignees.agents): the same people as Django's
`with_perm("cases.change_case")`, written as uncorrelated subqueries for speed."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from prevenance.cases.selectors.assignees import agents
from prevenance.customers.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_agents_are_the_active_users_who_may_change_cases_whichever_way_they_got_it(agent, supervisor, marketer, admin_user, nobody):
    # Given people with the permission through a role (group), given it directly, superusers,
    # an inactive agent, and people without it
    direct = UserFactory(username="direct")
    direct.user_permissions.add(Permission.objects.get(content_type__app_label="cases", codename="change_case"))
    UserFactory(username="root", is_superuser=True)
    UserFactory(username="inactive-root", is_superuser=True, is_active=False)
    UserFactory(username="gone", role="agent", is_active=False)
    # When the assignable agents are listed
    listed = list(agents().values_list("username", flat=True))
    # Then they are exactly those Django's permission check names, in username order, each once
    expected = list(get_user_model().objects.with_perm("cases.change_case").order_by("username").values_list("username", flat=True))
    assert listed == expected
    assert {"agent", "supervisor", "direct", "root"} <= set(listed)
    assert not {"marketer", "nobody", "inactive-root", "gone"} & set(listed)
    assert all(get_user_model().objects.get(username=name).has_perm("cases.change_case") for name in listed)
