"""The admin site names the product and leads back to the app."""

import pytest

from prevenance.core.roles import AGENT, SUPERVISOR, assign_role
from prevenance.customers.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser("root", "root@example.com", "correct horse battery")


def test_the_admin_names_prevenance_and_links_back_to_the_app(client, superuser):
    client.force_login(superuser)

    page = client.get("/admin/").content.decode()

    assert "<title>Settings and data | Prévenance admin</title>" in page
    assert '<a href="/admin/">Prévenance administration</a>' in page
    assert "<h1>Settings and data</h1>" in page
    assert '<a href="/">View site</a>' in page
    assert "Django" not in page


def test_the_admin_login_page_names_prevenance(client):
    page = client.get("/admin/login/").content.decode()

    assert "| Prévenance admin</title>" in page and "Prévenance administration" in page
    assert "Django" not in page


def test_served_under_a_sub_path_the_admin_leads_to_the_apps_root_there(client, superuser):
    client.force_login(superuser)

    page = client.get("/admin/", SCRIPT_NAME="/care").content.decode()

    assert '<a href="/care">View site</a>' in page


def test_the_account_menu_leads_staff_to_the_admin_and_no_one_else(client):
    supervisor, agent = UserFactory(username="nadia"), UserFactory(username="camille")
    assign_role(user=supervisor, role=SUPERVISOR)
    assign_role(user=agent, role=AGENT)
    link = '<a href="/admin/">Settings (admin)</a>'

    client.force_login(supervisor)
    assert link in client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    client.force_login(agent)
    assert link not in client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
