"""CSV import of customers with their identities: errors by line and column, idempotence, French files."""

from datetime import date
from pathlib import Path

import pytest

from prevenance.core.choices import AuditKind, Channel
from prevenance.core.csvio import CsvFileError, RowError, run_import
from prevenance.core.models import AuditEvent
from prevenance.customers.choices import ConflictStatus, IdentityKind
from prevenance.customers.models import Customer, Identity, IdentityConflict
from prevenance.customers.tests.factories import CustomerFactory, IdentityFactory

DATA = Path(__file__).parent / "data"
HEADER = "external_id,first_name,last_name,email,phone,language,birth_date,postal_code,city,country\n"


def _import(text_or_name: str, *, encoding="utf-8", actor=None, kind="customers"):
    data = (DATA / text_or_name).read_bytes() if text_or_name.endswith(".csv") else text_or_name.encode()
    return run_import(kind=kind, data=data, encoding=encoding, actor=actor, filename="test.csv")


def _identities(customer):
    return sorted(Identity.objects.filter(customer=customer).values_list("kind", "normalized"))


@pytest.mark.django_db
def test_bad_rows_are_reported_by_line_and_column_and_the_good_rows_go_in():
    report = _import("customers_bad_rows.csv")

    assert report.errors == [
        RowError(3, "email", "“not-an-email” is not a valid email address."),
        RowError(4, "phone", "“123” is not a valid phone number."),
        RowError(5, "language", "“klingon” is not one of: fr, en."),
        RowError(6, "birth_date", "“31/02/1990” is not a date (use YYYY-MM-DD or DD/MM/YYYY)."),
        RowError(6, "country", "Use a two-letter ISO country code such as FR or GB."),
    ]
    assert report.warnings == ["Ignored unknown columns: shoe_size."]
    assert report.summary() == {"kind": "customers", "rows": 6, "created": 2, "updated": 0, "unchanged": 0, "refused": 4}
    jean = Identity.objects.get(kind=IdentityKind.EMAIL, normalized="jean.dupont@example.com").customer
    assert (jean.first_name, jean.last_name, jean.birth_date, jean.city, jean.country) == (
        "Jean", "Dupont", date(1980, 2, 1), "Paris", "FR")
    assert _identities(jean) == [("email", "jean.dupont@example.com"), ("external_id", "C-001"), ("phone", "+33612345678")]
    assert Identity.objects.get(normalized="C-001").source_channel == Channel.IMPORT
    # Refused rows left nothing behind, not even their valid identities.
    assert not Identity.objects.filter(normalized__in=["C-002", "C-003", "paul@example.com", "C-004", "C-005"]).exists()
    assert Customer.objects.count() == 2


@pytest.mark.django_db
def test_html_in_a_name_is_stored_as_text():
    _import("customers_bad_rows.csv")

    eve = Identity.objects.get(normalized="eve@example.com").customer
    assert eve.first_name == "<script>alert(1)</script>"
    assert eve.language == "en"


@pytest.mark.django_db
def test_reimporting_the_same_file_creates_nothing_twice():
    _import("customers_bad_rows.csv")
    before = (Customer.objects.count(), Identity.objects.count())

    report = _import("customers_bad_rows.csv")

    assert report.summary() == {"kind": "customers", "rows": 6, "created": 0, "updated": 0, "unchanged": 2, "refused": 4}
    assert (Customer.objects.count(), Identity.objects.count()) == before == (2, 5)


@pytest.mark.django_db
def test_a_known_customer_gets_blank_fields_filled_and_new_identities_but_nothing_overwritten():
    known = CustomerFactory(first_name="Jeanne", last_name="Dupont", city="", postal_code="", birth_date=None)
    IdentityFactory(customer=known, value="jeanne@example.com")

    report = _import(HEADER + "J-1,Jean,Durand,JEANNE@example.com,0611223344,fr,1970-05-06,75001,Paris,FR\n")

    assert report.summary()["updated"] == 1
    known.refresh_from_db()
    assert (known.first_name, known.last_name, known.city, known.postal_code, known.birth_date) == (
        "Jeanne", "Dupont", "Paris", "75001", date(1970, 5, 6))
    assert known.sort_key == "dupont jeanne"
    assert _identities(known) == [("email", "jeanne@example.com"), ("external_id", "J-1"), ("phone", "+33611223344")]


@pytest.mark.django_db
def test_the_same_person_twice_in_one_file_is_one_customer():
    report = _import(HEADER + "A-1,Ana,Lima,ana@example.com,,,,,,\n" + "A-1,,,,0611223344,,,,Lyon,\n")

    assert report.summary()["created"] == 1 and report.summary()["updated"] == 1
    ana = Customer.objects.get()
    assert ana.city == "Lyon"
    assert _identities(ana) == [("email", "ana@example.com"), ("external_id", "A-1"), ("phone", "+33611223344")]


@pytest.mark.django_db
def test_identities_of_two_customers_in_one_row_are_reported_not_guessed():
    first, second = CustomerFactory(city=""), CustomerFactory(city="")
    IdentityFactory(customer=first, value="first@example.com")
    IdentityFactory(customer=second, kind=IdentityKind.PHONE, value="+33611223344", normalized="+33611223344")

    report = _import(HEADER + ",Bob,,first@example.com,06 11 22 33 44,,,,Nice,\n")

    ids = sorted([first.pk, second.pk])
    assert report.errors == [RowError(2, "", f"These identities belong to different customers (#{ids[0]}, #{ids[1]}): "
                                             "a conflict was opened for a person to merge or dismiss; nothing was attached.")]
    conflict = IdentityConflict.objects.get()
    assert (conflict.customer_a_id, conflict.customer_b_id, conflict.status) == (ids[0], ids[1], ConflictStatus.OPEN)
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.city, second.city) == ("", "")
    assert Identity.objects.count() == 2


@pytest.mark.django_db
def test_oversized_fields_and_rows_without_identity_are_refused():
    long_name = "x" * 101
    report = _import(HEADER + f"L-1,{long_name},Long,,,,,,,\n" + ",Nobody,Known,,,,,,Paris,\n")

    assert report.errors == [
        RowError(2, "first_name", "At most 100 characters (got 101)."),
        RowError(3, "", "Give at least one identity (email, phone, card...)."),
    ]
    assert Customer.objects.count() == 0


@pytest.mark.django_db
def test_french_file_with_bom_semicolons_accents_and_french_dates():
    report = _import("customers_fr.csv")

    assert report.summary() == {"kind": "customers", "rows": 2, "created": 2, "updated": 0, "unchanged": 0, "refused": 0}
    assert report.warnings == []
    eloise = Identity.objects.get(normalized="C-100").customer
    assert (eloise.first_name, eloise.last_name, eloise.birth_date, eloise.postal_code, eloise.city,
            eloise.country, eloise.language) == ("Éloïse", "Lefèvre", date(1985, 7, 14), "69003", "Lyon", "FR", "fr")
    assert _identities(eloise) == [("email", "eloise@exemple.fr"), ("external_id", "C-100"),
                                   ("loyalty_card", "1234567890"), ("phone", "+33611223344")]
    gael = Identity.objects.get(normalized="C-101").customer
    assert (gael.last_name, gael.language) == ("Le Dû", "en")


@pytest.mark.django_db
def test_cp1252_file_when_told_and_a_clear_error_when_not():
    with pytest.raises(CsvFileError) as excinfo:
        _import("customers_cp1252.csv")
    assert excinfo.value.message == (
        "Line 1 is not valid utf-8 text. If the file comes from Excel or an older Windows program, "
        "try the encoding cp1252 (--encoding cp1252).")
    assert Customer.objects.count() == 0

    report = _import("customers_cp1252.csv", encoding="cp1252")

    assert report.created == 1
    helene = Identity.objects.get(normalized="helene@exemple.fr").customer
    assert (helene.first_name, helene.last_name, helene.city) == ("Hélène", "Génin", "Besançon")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "The file is empty."),
        ("  \n\n", "The file is empty."),
        (HEADER, "The file has a header but no data rows."),
        ("email,Courriel,E-mail\na@b.fr,a@b.fr,a@b.fr\n", "The columns “email” and “Courriel” both mean “email”: keep only one."),
        ("colour,size\nred,10\n", "No known column in the header; see the documented columns."),
    ],
)
def test_files_that_cannot_be_read_import_nothing_and_say_why(content, message):
    with pytest.raises(CsvFileError) as excinfo:
        _import(content)

    assert excinfo.value.message == message
    assert Customer.objects.count() == 0
    assert not AuditEvent.objects.exists()


@pytest.mark.django_db
def test_each_run_is_audited(admin_user):
    _import("customers_bad_rows.csv", actor=admin_user)

    event = AuditEvent.objects.get()
    assert (event.kind, event.actor, event.subject_type, event.subject_id) == (
        AuditKind.IMPORT_RUN, admin_user, "csv_import", "customers")
    assert event.payload["created"] == 2 and event.payload["refused"] == 4
    assert event.payload["first_errors"][0] == "line 3, column email: “not-an-email” is not a valid email address."
