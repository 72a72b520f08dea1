"""A customer known only by an address (an email without a display name, an API call without
names) is shown by that address in the inbox and beside the case, not as "#535"."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from prevenance.cases.selectors import inbox
from prevenance.cases.tests.factories import open_email_case


def test_the_inbox_names_a_nameless_customer_by_their_address(client, supervisor):
    nameless = open_email_case("sans.nom@example.com", subject="Colis").case
    named = open_email_case("emma@example.com", subject="Facture").case
    named.customer.first_name, named.customer.last_name = "Emma", "Dupont"
    named.customer.save()
    client.force_login(supervisor)

    page = client.get("/cases/", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert "sans.nom@example.com" in page and f"#{nameless.customer_id}<" not in page
    assert "Emma Dupont" in page


def test_printing_a_customer_never_queries_and_named_pages_load_no_identity(supervisor):
    open_email_case("emma@example.com", subject="Facture").case.customer.__class__.objects.update(
        first_name="Emma", last_name="Dupont"
    )
    with CaptureQueriesContext(connection) as queries:
        items = inbox(supervisor, view="open").items
        labels = [str(case.customer) for case in items]
    assert labels == ["Emma Dupont"]
    assert not any("customers_identity" in query["sql"] for query in queries.captured_queries)


def test_the_case_page_names_a_nameless_customer_by_their_address(client, supervisor):
    case = open_email_case("sans.nom@example.com", subject="Colis").case
    client.force_login(supervisor)
    page = client.get(f"/cases/{case.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '">sans.nom@example.com</a></h2>' in page
