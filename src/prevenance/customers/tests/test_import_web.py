"""The import/export page: permissions, the report after an upload, the downloads."""

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from prevenance.core.choices import AuditKind
from prevenance.core.models import AuditEvent
from prevenance.customers.models import Customer

DATA = Path(__file__).parent / "data"


def _upload(client, name, kind="customers", encoding="utf-8", content=None):
    data = content if content is not None else (DATA / name).read_bytes()
    return client.post(reverse("web:import"), {
        "kind": kind, "encoding": encoding, "file": SimpleUploadedFile(name, data, content_type="text/csv"),
    })


@pytest.mark.django_db
def test_anonymous_is_sent_to_log_in(client):
    response = client.get(reverse("web:import"))

    assert response.status_code == 302


@pytest.mark.django_db
def test_without_the_permissions_everything_is_403_and_nothing_imported(client, agent):
    client.force_login(agent)

    assert client.get(reverse("web:import")).status_code == 403
    assert _upload(client, "customers_fr.csv").status_code == 403
    assert client.get(reverse("web:export", args=["customers"])).status_code == 403
    assert Customer.objects.count() == 0
    assert not AuditEvent.objects.exists()


@pytest.mark.django_db
def test_the_page_offers_the_form_and_the_exports(client, supervisor):
    client.force_login(supervisor)

    response = client.get(reverse("web:import"))

    assert response.status_code == 200
    html = response.content.decode()
    assert 'enctype="multipart/form-data"' in html
    for kind in ("customers", "consents", "orders", "interactions"):
        assert f'href="{reverse("web:export", args=[kind])}"' in html


@pytest.mark.django_db
def test_an_upload_shows_the_report_with_line_and_column_and_is_audited(client, marketer):
    client.force_login(marketer)

    response = _upload(client, "customers_bad_rows.csv")

    assert response.status_code == 200
    report = response.context["report"]
    assert (report.created, report.refused) == (2, 4)
    html = response.content.decode()
    assert '<dd data-count="created">2</dd>' in html
    assert '<dd data-count="refused">4</dd>' in html
    assert '<tr><td class="num">3</td><td>email</td><td>“not-an-email” is not a valid email address.</td></tr>' in html
    assert "Ignored unknown columns: shoe_size." in html
    # The HTML in a name is stored as typed and never rendered as markup.
    assert "<script>alert(1)</script>" not in html
    event = AuditEvent.objects.get()
    assert (event.kind, event.actor, event.payload["file"]) == (AuditKind.IMPORT_RUN, marketer, "customers_bad_rows.csv")


@pytest.mark.django_db
def test_an_unreadable_upload_is_a_400_with_the_reason(client, supervisor):
    client.force_login(supervisor)

    response = _upload(client, "customers_cp1252.csv")

    assert response.status_code == 400
    assert response.context["form"].errors["file"] == [
        "Nothing imported: Line 1 is not valid utf-8 text. If the file comes from Excel or an older Windows program, "
        "try the encoding cp1252 (--encoding cp1252)."]
    assert Customer.objects.count() == 0


@pytest.mark.django_db
def test_the_encoding_and_kind_choices_are_checked(client, supervisor):
    client.force_login(supervisor)

    bad_kind = _upload(client, "customers_fr.csv", kind="spaceships")
    cp1252 = _upload(client, "customers_cp1252.csv", encoding="cp1252")

    assert bad_kind.status_code == 400
    assert list(bad_kind.context["form"].errors) == ["kind"]
    assert cp1252.status_code == 200
    assert Customer.objects.get().first_name == "Hélène"


@pytest.mark.django_db
def test_an_export_downloads_the_csv(client, supervisor):
    client.force_login(supervisor)
    _upload(client, "customers_fr.csv")

    response = client.get(reverse("web:export", args=["customers"]))

    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="prevenance-customers.csv"'
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert len(lines) == 3
    assert lines[1].startswith("C-100,Éloïse,Lefèvre,Eloise@Exemple.fr,")
    assert client.get(reverse("web:export", args=["spaceships"])).status_code == 404
