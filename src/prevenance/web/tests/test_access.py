"""Every page: login required, the right role or a translated 403, 404 for unknown ids."""

import pytest
from django.urls import reverse

from prevenance.customers.models import IdentityConflict
from prevenance.customers.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair(db):
    first, second = CustomerFactory(), CustomerFactory()
    conflict = IdentityConflict.objects.create(customer_a=first, customer_b=second, identities=[])
    return first, second, conflict


def _url(name, pair):
    first, second, conflict = pair
    args = {
        "home": [],
        "customer_search": [],
        "customer": [first.pk],
        "customer_timeline": [first.pk],
        "customer_edit": [first.pk],
        "customer_erase": [first.pk],
        "customer_merge": [first.pk, second.pk],
        "conflicts": [],
        "api_keys": [],
    }[name]
    return reverse(f"web:{name}", args=args)


PAGES = ["home", "customer_search", "customer", "customer_timeline", "customer_edit",
         "customer_erase", "customer_merge", "conflicts", "api_keys"]


@pytest.mark.parametrize("name", PAGES)
def test_anonymous_visitors_are_sent_to_login(client, pair, name):
    url = _url(name, pair)

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('web:login')}?next={url}"


# (page, role) -> expected status for a GET
MATRIX = {
    "customer": {"agent": 200, "supervisor": 200, "marketer": 200, "admin_user": 200, "nobody": 403},
    "customer_search": {"agent": 200, "supervisor": 200, "marketer": 200, "admin_user": 200, "nobody": 403},
    "customer_timeline": {"agent": 200, "supervisor": 200, "marketer": 200, "admin_user": 200, "nobody": 403},
    "customer_edit": {"agent": 200, "supervisor": 200, "marketer": 403, "admin_user": 200, "nobody": 403},
    "customer_erase": {"agent": 403, "supervisor": 403, "marketer": 403, "admin_user": 200, "nobody": 403},
    "customer_merge": {"agent": 403, "supervisor": 200, "marketer": 403, "admin_user": 200, "nobody": 403},
    "conflicts": {"agent": 403, "supervisor": 200, "marketer": 403, "admin_user": 200, "nobody": 403},
    "home": {"agent": 200, "supervisor": 200, "marketer": 200, "admin_user": 200, "nobody": 200},
    "api_keys": {"agent": 200, "supervisor": 200, "marketer": 200, "admin_user": 200, "nobody": 200},
}


@pytest.mark.parametrize("role", ["agent", "supervisor", "marketer", "admin_user", "nobody"])
@pytest.mark.parametrize("name", PAGES)
def test_each_page_answers_each_role_as_its_permissions_say(request, login, pair, name, role):
    client = login(request.getfixturevalue(role))

    response = client.get(_url(name, pair))

    assert response.status_code == MATRIX[name][role]


def test_the_403_page_is_ours_and_translated(login, nobody, pair):
    client = login(nobody)

    response = client.get(_url("customer", pair), HTTP_ACCEPT_LANGUAGE="fr")

    assert response.status_code == 403
    assert [t.name for t in response.templates][:2] == ["403.html", "web/base.html"]
    assert '<html lang="fr">' in response.content.decode()


@pytest.mark.parametrize("name", ["customer", "customer_edit", "customer_timeline"])
def test_unknown_customer_ids_give_404(login, agent, name):
    client = login(agent)

    response = client.get(reverse(f"web:{name}", args=[987654]))

    assert response.status_code == 404


def test_merge_screen_with_an_unknown_id_gives_404(login, supervisor, pair):
    client = login(supervisor)

    response = client.get(reverse("web:customer_merge", args=[pair[0].pk, 987654]))

    assert response.status_code == 404


@pytest.mark.parametrize(
    ("name", "role"),
    [("customer_export", "agent"), ("customer_export", "marketer"), ("customer_erase", "supervisor"),
     ("customer_consent", "nobody"), ("customer_edit", "marketer")],
)
def test_writes_are_refused_to_roles_without_the_permission(request, login, pair, name, role):
    client = login(request.getfixturevalue(role))
    customer = pair[0]
    before = (customer.first_name, customer.erased_at)

    response = client.post(reverse(f"web:{name}", args=[customer.pk]),
                           {"first_name": "Changed", "confirm": str(customer.pk), "action": "grant",
                            "purpose": "surveys", "channel": "phone", "method": "verbal"})

    assert response.status_code == 403
    customer.refresh_from_db()
    assert (customer.first_name, customer.erased_at) == before
    assert customer.consent_events.count() == 0


def test_a_merge_post_is_refused_to_marketing_and_nothing_moves(login, marketer, pair):
    client = login(marketer)
    first, second, _conflict = pair

    response = client.post(reverse("web:customer_merge", args=[first.pk, second.pk]), {"survivor": first.pk})

    assert response.status_code == 403
    second.refresh_from_db()
    assert second.merged_into_id is None


def test_dismissing_a_conflict_is_refused_to_an_agent(login, agent, pair):
    client = login(agent)
    conflict = pair[2]

    response = client.post(reverse("web:conflict_dismiss", args=[conflict.pk]))

    assert response.status_code == 403
    conflict.refresh_from_db()
    assert conflict.status == "open"


def test_favicon_ico_leads_to_the_icon_the_pages_name(client):
    # The Django admin's pages name no icon: browsers ask for /favicon.ico (a 404 in every log).
    answer = client.get("/favicon.ico")
    assert answer.status_code == 301 and answer["Location"].endswith("web/favicon.svg")
    icon = client.get(answer["Location"])
    assert icon.status_code == 200 and b"<svg" in b"".join(icon.streaming_content if icon.streaming else [icon.content])
