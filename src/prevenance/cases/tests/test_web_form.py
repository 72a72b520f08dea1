"""The public contact form: a visitor's request becomes a case; robots, floods and bad files do not."""

import logging
import os
import re
import time
import uuid

import pytest
from django.core.cache import caches
from django.core.cache.backends.db import DatabaseCache
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from prevenance.cases import ratelimit
from prevenance.cases.choices import CaseStatus, CaseType, MessageKind
from prevenance.cases.models import Attachment, Case, Message, SuspendedMessage
from prevenance.cases.services.web_form import submit_contact_form
from prevenance.core.choices import Channel
from prevenance.core.testing import run_concurrently
from prevenance.customers.choices import IdentityKind
from prevenance.customers.models import Customer, Identity
from prevenance.customers.tests.factories import CustomerFactory, IdentityFactory, OrderFactory
from prevenance.interactions.models import Interaction
from prevenance.settings import shared_cache

pytestmark = pytest.mark.django_db

URL = "/cases/contact/"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(200)
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"
EXE = b"MZ\x90\x00\x03" + bytes(300)


def _clear_limits() -> None:
    # The rate-limit table outlives a test's transaction in transactional tests: start empty.
    # Never Redis: clear() empties its whole database, which other tests share.
    if isinstance(caches["shared"], DatabaseCache):
        caches["shared"].clear()


@pytest.fixture(autouse=True)
def _fresh_limits_and_media(settings, tmp_path):
    _clear_limits()
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PREVENANCE_CONTACT_FORM_LIMIT = 5
    settings.PREVENANCE_CONTACT_FORM_WINDOW = 600
    settings.PREVENANCE_TRUSTED_PROXIES = 0
    settings.PREVENANCE_ATTACHMENT_MAX_BYTES = 1024 * 1024
    settings.PREVENANCE_CONTACT_FORM_MAX_FILES = 3
    yield
    _clear_limits()


def form_data(**overrides) -> dict:
    data = {
        "first_name": "Inès", "last_name": "Moreau", "email": "ines.moreau@example.fr", "phone": "06 11 22 33 44",
        "type": CaseType.COMPLAINT, "order": "", "subject": "Canapé livré taché",
        "body": "Le canapé est arrivé avec une tache sur l'assise.", "website": "", "submission_id": uuid.uuid4().hex,
    }
    data.update(overrides)
    return data


def post(client, ip="203.0.113.7", **kwargs):
    return client.post(URL, kwargs.pop("data", None) or form_data(), REMOTE_ADDR=ip, **kwargs)


def stored_nothing() -> bool:
    return not Case.objects.exists() and not Message.objects.exists() and not Customer.objects.exists() and not Attachment.objects.exists()


def media_files(settings) -> list:
    root = settings.MEDIA_ROOT
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


class TestPage:
    def test_anyone_gets_the_form_with_a_label_for_every_field_a_person_fills(self, client):
        response = client.get(URL)

        assert response.status_code == 200
        html = response.content.decode()
        for field in ("first_name", "last_name", "email", "phone", "type", "order", "subject", "body", "attachments"):
            assert f'<label for="id_{field}">' in html
        assert 'enctype="multipart/form-data"' in html
        assert 'name="csrfmiddlewaretoken"' in html

    def test_the_honeypot_is_hidden_from_people_screen_readers_and_the_tab_order(self, client):
        html = client.get(URL).content.decode()

        wrapper = re.search(r'<div class="visually-hidden" aria-hidden="true">(.*?)</div>', html, re.S)
        assert wrapper is not None
        assert 'name="website"' in wrapper.group(1)
        assert 'tabindex="-1"' in wrapper.group(1)
        assert 'autocomplete="off"' in wrapper.group(1)

    def test_the_page_follows_the_language_switch(self, client):
        client.post("/i18n/setlang/", {"language": "fr", "next": URL})

        html = client.get(URL).content.decode()

        assert '<html lang="fr">' in html
        assert 'id="language-select"' in html
        assert '<option value="fr" selected>' in html

    def test_it_is_also_in_english(self, client):
        html = client.get(URL, HTTP_ACCEPT_LANGUAGE="en").content.decode()

        assert '<html lang="en">' in html
        assert "Contact us" in html


class TestSubmission:
    def test_a_valid_request_opens_a_web_case_for_the_resolved_customer_and_thanks_with_its_reference(self, client):
        response = post(client)

        assert response.status_code == 302
        assert response["Location"] == reverse("cases:contact_thanks")
        case = Case.objects.get()
        assert (case.channel, case.type, case.subject, case.status) == (
            Channel.WEB, CaseType.COMPLAINT, "Canapé livré taché", CaseStatus.NEW)
        message = case.messages.get(kind=MessageKind.INBOUND)
        assert (message.kind, message.channel, message.sender_address, message.sender_name) == (
            MessageKind.INBOUND, Channel.WEB, "ines.moreau@example.fr", "Inès Moreau")
        assert message.body_text == "Le canapé est arrivé avec une tache sur l'assise."
        assert message.author is None
        customer = case.customer
        assert (customer.first_name, customer.last_name) == ("Inès", "Moreau")
        assert sorted(customer.identities.values_list("kind", "normalized")) == [
            (IdentityKind.EMAIL, "ines.moreau@example.fr"), (IdentityKind.PHONE, "+33611223344")]
        assert Interaction.objects.filter(customer=customer, channel=Channel.WEB, ref_id=str(case.pk)).count() == 1

        thanks = client.get(response["Location"])
        assert thanks.status_code == 200
        assert f'<strong class="nowrap">{case.reference}</strong>' in thanks.content.decode()

    def test_a_known_customer_writing_again_gets_the_case_on_their_record(self, client):
        known = CustomerFactory(first_name="Inès", last_name="Moreau")
        IdentityFactory(customer=known, kind=IdentityKind.EMAIL, value="ines.moreau@example.fr")

        post(client, data=form_data(phone=""))

        assert Case.objects.get().customer == known
        assert Customer.objects.count() == 1

    def test_the_language_of_the_page_becomes_a_new_customers_language(self, client):
        client.post("/i18n/setlang/", {"language": "en", "next": URL})

        post(client)

        assert Case.objects.get().customer.language == "en"

    def test_a_phone_number_alone_is_enough(self, client):
        response = post(client, data=form_data(email=""))

        assert response.status_code == 302
        assert Case.objects.get().customer.identities.get().kind == IdentityKind.PHONE

    def test_the_same_submission_twice_stores_one_case(self, client):
        data = form_data()

        first = post(client, data=data)
        second = post(client, data=data)

        assert first.status_code == second.status_code == 302
        case = Case.objects.get()
        stored_id = case.messages.get(kind=MessageKind.INBOUND).message_id
        assert stored_id.startswith(f"<{uuid.UUID(data['submission_id']).hex}.")
        assert case.reference in client.get(reverse("cases:contact_thanks")).content.decode()

    def test_the_same_form_sent_again_with_other_words_is_a_new_message(self, client):
        # The browser's Back button shows the form as it was, with its submission_id: a visitor
        # who writes something else and sends it must not have it dropped as a duplicate.
        data = form_data()
        post(client, data=data)
        post(client, data={**data, "subject": "Autre question", "body": "Et pour la facture ?"})

        assert sorted(Case.objects.values_list("subject", flat=True)) == sorted([data["subject"], "Autre question"])

    def test_the_same_words_sent_again_with_the_forgotten_photo_are_a_new_message(self, client, settings, tmp_path):
        settings.MEDIA_ROOT = tmp_path
        data = form_data()
        post(client, data=data)
        post(client, data={**data, "attachments": [SimpleUploadedFile("photo.pdf", PDF)]})
        post(client, data={**data, "attachments": [SimpleUploadedFile("photo.pdf", PDF)]})  # and that one twice

        assert Case.objects.count() == 2
        assert Attachment.objects.filter(filename="photo.pdf").count() == 1


class TestValidation:
    @pytest.mark.parametrize(
        ("overrides", "field", "message"),
        [
            ({"email": "", "phone": ""}, "email", "Give an email address or a phone number, so that we can answer you."),
            ({"email": "not an address"}, "email", "Enter a valid email address."),
            ({"phone": "12"}, "phone", "“12” is not a valid phone number."),
            ({"subject": ""}, "subject", "This field is required."),
            ({"body": ""}, "body", "This field is required."),
            ({"first_name": ""}, "first_name", "This field is required."),
            ({"type": "incident"}, "type", "Select a valid choice. incident is not one of the available choices."),
            ({"submission_id": "../../etc"}, "submission_id", "This form has expired; please reload the page."),
        ],
    )
    def test_bad_input_is_shown_next_to_the_field_and_nothing_is_stored(self, client, overrides, field, message):
        response = post(client, data=form_data(**overrides))

        assert response.status_code == 400
        assert response.context["form"].errors[field] == [message]
        assert stored_nothing()

    def test_the_service_takes_only_a_uuid_as_submission_id(self):
        # Anything else could name a message stored from another channel and return its case.
        with pytest.raises(ValidationError) as refused:
            submit_contact_form(submission_id="<CAF00@mail.example>", first_name="A", email="a@example.fr", subject="S", body="B")

        assert refused.value.message_dict == {"submission_id": ["This form has expired; please reload the page."]}
        assert stored_nothing()

    def test_a_field_in_error_points_to_its_message_for_screen_readers(self, client):
        html = post(client, data=form_data(subject="")).content.decode()

        assert re.search(r'<input[^>]*name="subject"[^>]*aria-describedby="id_subject-error"', html)
        assert '<p class="error" id="id_subject-error">' in html
        assert 'aria-invalid="true"' in html

    def test_what_was_typed_is_kept_when_the_form_comes_back(self, client):
        html = post(client, data=form_data(phone="12")).content.decode()

        assert "Le canapé est arrivé avec une tache sur l&#x27;assise." in html
        assert 'value="Canapé livré taché"' in html


class TestHoneypot:
    def test_a_filled_honeypot_pretends_success_opens_no_case_and_is_kept_aside_for_review(self, client, caplog):
        data = form_data(website="https://spam.example")
        with caplog.at_level(logging.WARNING, logger="prevenance.cases.views.web_form"):
            response = post(client, ip="198.51.100.9", data=data)
            again = post(client, ip="198.51.100.9", data=data)  # the same submission posted twice: kept once

        assert response.status_code == again.status_code == 302
        assert response["Location"] == reverse("cases:contact_thanks")
        assert stored_nothing()
        # Not dropped: a person's password manager may have filled the field in (docs/contact-form.md).
        kept = SuspendedMessage.objects.get()
        assert (kept.reason, kept.channel, kept.subject, kept.sender) == ("honeypot", "web", "Canapé livré taché", "ines.moreau@example.fr 06 11 22 33 44")
        assert (kept.form_data["first_name"], kept.form_data["website"], kept.client) == ("Inès", "https://spam.example", "198.51.100.9")
        assert any("honeypot" in record.getMessage() and "198.51.100.9" in record.getMessage() for record in caplog.records)
        thanks = client.get(response["Location"]).content.decode()
        assert "C-" not in thanks

    def test_a_robot_that_also_breaks_the_rules_is_still_told_it_worked(self, client):
        response = post(client, data=form_data(website="x", email="", phone="", subject="", submission_id="not-a-uuid", body="x" * 30_000))

        assert response.status_code == 302
        assert stored_nothing()
        kept = SuspendedMessage.objects.get()
        assert (kept.message_id, len(kept.body), kept.sender) == ("", 20_000, "")


class TestRateLimit:
    def test_the_submission_after_the_limit_gets_a_429_with_the_reason_and_the_text_kept(self, client, settings):
        settings.PREVENANCE_CONTACT_FORM_LIMIT = 3

        statuses = [post(client).status_code for _ in range(3)]
        refused = post(client, data=form_data(subject="Quatrième message"))

        assert statuses == [302, 302, 302]
        assert refused.status_code == 429
        assert 0 < int(refused["Retry-After"]) <= 600
        html = refused.content.decode()
        assert "You have already sent 3 messages in the last 10 minutes." in html
        assert 'value="Quatrième message"' in html
        assert Case.objects.count() == 3

    def test_a_refused_file_uses_no_slot(self, client, settings):
        # A visitor who picks a wrong kind of file five times is not locked out for ten minutes.
        settings.PREVENANCE_CONTACT_FORM_LIMIT = 1
        wrong = post(client, data={**form_data(), "attachments": [SimpleUploadedFile("setup.exe", EXE, "application/octet-stream")]})
        assert wrong.status_code == 400
        assert post(client).status_code == 302
        assert Case.objects.count() == 1

    def test_separate_addresses_have_separate_counters(self, client, settings):
        settings.PREVENANCE_CONTACT_FORM_LIMIT = 2
        for _ in range(2):
            post(client, ip="203.0.113.1")

        assert post(client, ip="203.0.113.1").status_code == 429
        assert post(client, ip="203.0.113.2").status_code == 302
        assert post(client, ip="2001:db8:1:2::1").status_code == 302
        assert Case.objects.count() == 4

    def test_one_ipv6_home_network_is_one_client(self, client, settings):
        settings.PREVENANCE_CONTACT_FORM_LIMIT = 1
        post(client, ip="2001:db8:1:2::1")

        assert post(client, ip="2001:db8:1:2:aaaa::99").status_code == 429

    def test_a_forged_forwarded_header_does_not_reset_the_counter_without_a_trusted_proxy(self, client, settings):
        settings.PREVENANCE_CONTACT_FORM_LIMIT = 1
        post(client, HTTP_X_FORWARDED_FOR="10.0.0.1")

        assert post(client, HTTP_X_FORWARDED_FOR="10.0.0.2").status_code == 429

    def test_behind_a_trusted_proxy_the_address_it_saw_is_the_client(self, client, settings):
        settings.PREVENANCE_CONTACT_FORM_LIMIT = 1
        settings.PREVENANCE_TRUSTED_PROXIES = 1
        proxy = "10.0.0.254"
        post(client, ip=proxy, HTTP_X_FORWARDED_FOR="198.51.100.1")

        # A forged entry to the left of what our proxy appended changes nothing.
        assert post(client, ip=proxy, HTTP_X_FORWARDED_FOR="1.2.3.4, 198.51.100.1").status_code == 429
        assert post(client, ip=proxy, HTTP_X_FORWARDED_FOR="198.51.100.2").status_code == 302

    def test_invalid_submissions_do_not_use_up_the_allowance(self, client, settings):
        settings.PREVENANCE_CONTACT_FORM_LIMIT = 1
        assert post(client, data=form_data(subject="")).status_code == 400

        assert post(client).status_code == 302

    def test_a_robot_uses_up_its_allowance(self, client, settings):
        settings.PREVENANCE_CONTACT_FORM_LIMIT = 1
        post(client, data=form_data(website="spam"))

        assert post(client).status_code == 429
        assert stored_nothing()


def _shared_cache_on(backend: str, settings) -> None:
    if backend == "redis":
        url = os.environ.get("CELERY_TEST_REDIS_URL")
        if not url:
            pytest.skip("CELERY_TEST_REDIS_URL is not set (e.g. redis://127.0.0.1:6379/15): no Redis to test against")
        # A prefix of its own: other tests share this Redis database.
        settings.CACHES = {**settings.CACHES, "shared": {**shared_cache(url), "KEY_PREFIX": f"h6-{uuid.uuid4().hex}"}}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("backend", ["database", pytest.param("redis", marks=pytest.mark.redis)])
def test_a_flood_of_simultaneous_requests_passes_exactly_the_limit(backend, settings):
    _shared_cache_on(backend, settings)
    verdicts, errors = run_concurrently(*[lambda: ratelimit.hit("test-flood", "203.0.113.50", count=5, window=600)] * 12)

    assert errors == []
    assert sum(v.allowed for v in verdicts) == 5
    refused = ratelimit.peek("test-flood", "203.0.113.50", count=5, window=600)
    assert refused.allowed is False
    assert 590 <= refused.retry_after <= 600
    assert ratelimit.peek("test-flood", "203.0.113.51", count=5, window=600).allowed is True


@pytest.mark.parametrize("backend", ["database", pytest.param("redis", marks=pytest.mark.redis)])
def test_a_slot_frees_up_when_its_window_has_passed(backend, settings):
    _shared_cache_on(backend, settings)

    # A 3-second window: a stalled machine between the first two hits must not let it expire.
    assert ratelimit.hit("test-window", "203.0.113.60", count=1, window=3).allowed is True
    assert ratelimit.hit("test-window", "203.0.113.60", count=1, window=3).allowed is False
    time.sleep(3.2)
    assert ratelimit.hit("test-window", "203.0.113.60", count=1, window=3).allowed is True


class TestOrderReference:
    def test_the_senders_own_order_is_linked(self, client):
        customer = CustomerFactory()
        IdentityFactory(customer=customer, kind=IdentityKind.EMAIL, value="ines.moreau@example.fr")
        order = OrderFactory(customer=customer, reference="CMD-2026-00042")

        post(client, data=form_data(order="cmd-2026-00042"))

        case = Case.objects.get()
        assert case.order == order
        assert case.messages.get(kind=MessageKind.INBOUND).body_text.endswith("Order reference given in the form: cmd-2026-00042")

    def test_someone_elses_order_is_not_linked_and_the_answer_is_the_same_as_for_no_order(self, client):
        OrderFactory(reference="CMD-2026-00099")  # another customer's

        theirs = post(client, ip="203.0.113.1", data=form_data(order="CMD-2026-00099"))
        missing = post(client, ip="203.0.113.2", data=form_data(order="CMD-0000-00000", email="other@example.fr", phone=""))

        assert (theirs.status_code, theirs["Location"]) == (missing.status_code, missing["Location"])
        assert list(Case.objects.values_list("order", flat=True)) == [None, None]
        # What the customer typed is kept for the agent to check.
        assert Case.objects.filter(messages__body_text__contains="CMD-2026-00099").count() == 1

    def test_identities_of_two_customers_link_no_order(self, client):
        first, second = CustomerFactory(), CustomerFactory()
        IdentityFactory(customer=first, kind=IdentityKind.EMAIL, value="ines.moreau@example.fr")
        IdentityFactory(customer=second, kind=IdentityKind.PHONE, value="+33611223344", normalized="+33611223344")
        OrderFactory(customer=second, reference="CMD-2026-00007")

        post(client, data=form_data(order="CMD-2026-00007"))

        assert Case.objects.get().order is None


class TestAttachments:
    def test_accepted_files_are_stored_through_the_storage_on_the_inbound_message(self, client, settings):
        files = [SimpleUploadedFile("photo tache.png", PNG, "image/png"), SimpleUploadedFile("facture.pdf", PDF, "application/pdf")]

        response = post(client, data={**form_data(), "attachments": files})

        assert response.status_code == 302
        message = Case.objects.get().messages.get(kind=MessageKind.INBOUND)
        stored = {a.filename: a for a in message.attachments.all()}
        assert sorted(stored) == ["facture.pdf", "photo tache.png"]
        assert (stored["facture.pdf"].content_type, stored["facture.pdf"].size) == ("application/pdf", len(PDF))
        assert stored["photo tache.png"].file.read() == PNG
        assert stored["photo tache.png"].file.name.startswith("cases/")
        assert len(media_files(settings)) == 2

    def test_a_long_name_in_a_script_of_several_bytes_a_letter_is_stored_and_shown_whole(self, client, settings):
        # 250 characters are 750 bytes of UTF-8: more than a file system takes for one name.
        name = "請求書" * 83 + ".pdf"

        response = post(client, data={**form_data(), "attachments": [SimpleUploadedFile(name, PDF)]})

        assert response.status_code == 302
        attachment = Attachment.objects.get()
        assert attachment.filename == name
        assert attachment.file.name.endswith("書.pdf") and len(os.path.basename(attachment.file.name).encode()) <= 255
        assert attachment.file.read() == PDF

    @pytest.mark.parametrize(
        ("upload", "reason"),
        [
            (SimpleUploadedFile("setup.exe", EXE, "application/octet-stream"), "“setup.exe”: a program or script, refused for safety."),
            (SimpleUploadedFile("photo.jpg", EXE, "image/jpeg"), "“photo.jpg”: a program or script, refused for safety."),
            (SimpleUploadedFile("photo.jpg", b"GIF89a" + bytes(20), "image/jpeg"),
             "“photo.jpg” does not contain what its name says (image/jpeg)."),
            (SimpleUploadedFile("archive.zip", b"PK\x03\x04" + bytes(20), "application/zip"),
             "“archive.zip”: this kind of file is not accepted (accepted: .csv, .docx, .gif, .heic, .jpeg, .jpg, .ods, .odt, .pdf, "
             ".png, .txt, .webp, .xlsx)."),
            (SimpleUploadedFile("vide.pdf", b"", "application/pdf"), "The submitted file is empty."),
        ],
    )
    def test_a_refused_file_is_explained_and_nothing_is_stored(self, client, settings, upload, reason):
        response = post(client, data={**form_data(), "attachments": [SimpleUploadedFile("ok.pdf", PDF), upload]})

        assert response.status_code == 400
        assert reason in response.context["form"].errors["attachments"]
        assert stored_nothing()
        assert media_files(settings) == []

    def test_a_file_over_the_size_limit_is_refused_with_the_limit(self, client, settings):
        settings.PREVENANCE_ATTACHMENT_MAX_BYTES = 1000
        big = SimpleUploadedFile("scan.pdf", PDF + bytes(2000), "application/pdf")

        response = post(client, data={**form_data(), "attachments": [big]})

        assert response.status_code == 400
        assert response.context["form"].errors["attachments"] == ["“scan.pdf” is 2 KB; each file may be at most 1000 bytes."]
        assert stored_nothing()

    def test_too_many_files_are_refused(self, client, settings):
        files = [SimpleUploadedFile(f"p{i}.pdf", PDF) for i in range(4)]

        response = post(client, data={**form_data(), "attachments": files})

        assert response.context["form"].errors["attachments"] == ["At most 3 files."]
        assert stored_nothing()

    def test_a_request_larger_than_all_the_files_allowed_is_refused_before_it_is_read(self, client, settings):
        settings.PREVENANCE_ATTACHMENT_MAX_BYTES = 1000
        settings.PREVENANCE_CONTACT_FORM_MAX_FILES = 1
        huge = SimpleUploadedFile("scan.pdf", PDF + bytes(2 * 1024 * 1024), "application/pdf")

        response = post(client, data={**form_data(), "attachments": [huge]})

        assert response.status_code == 413
        assert "What you sent is too large" in response.content.decode()
        assert stored_nothing()

    def test_files_written_before_a_failure_are_removed(self, settings):
        # The disk fails on the second file: neither the first file nor the half-written one stays.
        class Exploding(SimpleUploadedFile):
            def chunks(self, chunk_size=None):
                yield PNG
                raise OSError("disk full")

        with pytest.raises(OSError, match="disk full"):
            submit_contact_form(
                submission_id=uuid.uuid4().hex, first_name="Inès", email="ines@example.fr", subject="Photos", body="Voici.",
                files=[SimpleUploadedFile("a.png", PNG), Exploding("b.png", PNG)],
            )

        assert media_files(settings) == []
        assert stored_nothing()


class TestCsrf:
    def test_a_post_without_the_token_is_refused(self):
        client = Client(enforce_csrf_checks=True)

        response = client.post(URL, form_data(), REMOTE_ADDR="203.0.113.7")

        assert response.status_code == 403
        assert stored_nothing()

    def test_a_post_with_the_token_of_the_page_goes_through(self):
        client = Client(enforce_csrf_checks=True)
        html = client.get(URL).content.decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)

        response = client.post(URL, {**form_data(), "csrfmiddlewaretoken": token}, REMOTE_ADDR="203.0.113.7")

        assert response.status_code == 302
        assert Case.objects.count() == 1


def test_identity_rows_are_not_left_behind_by_a_refused_submission(client):
    post(client, data={**form_data(), "attachments": [SimpleUploadedFile("x.exe", EXE)]})

    assert not Identity.objects.exists()


class TestConfiguration:
    def test_the_shared_cache_is_the_database_unless_a_redis_url_is_given(self):
        assert shared_cache("")["BACKEND"] == "django.core.cache.backends.db.DatabaseCache"
        assert shared_cache("redis://127.0.0.1:6379/1") == {
            "BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:6379/1"}

    def test_another_cache_url_stops_the_start_up_with_the_reason(self):
        with pytest.raises(ImproperlyConfigured, match="SHARED_CACHE_URL must be a redis:// URL"):
            shared_cache("memcached://127.0.0.1:11211")

    @pytest.mark.parametrize(
        ("proxies", "forwarded", "expected"),
        [
            (0, "198.51.100.1", "10.0.0.254"),
            (1, "", "10.0.0.254"),  # did not come through our proxy
            (1, "not-an-address", "10.0.0.254"),
            (1, "6.6.6.6, 198.51.100.1", "198.51.100.1"),
            (2, "6.6.6.6, 198.51.100.1, 10.0.0.1", "198.51.100.1"),
            (2, "198.51.100.1", "10.0.0.254"),
            (1, "198.51.100.1:52100", "198.51.100.1"),  # a gateway writing the client's port too
            (1, "[2001:db8::1]:443", "2001:db8::1"),
            (1, "2001:db8::1", "2001:db8::1"),
            (1, "[not-an-address]:443", "10.0.0.254"),
        ],
    )
    def test_the_client_address_behind_proxies(self, rf, settings, proxies, forwarded, expected):
        settings.PREVENANCE_TRUSTED_PROXIES = proxies
        request = rf.get(URL, REMOTE_ADDR="10.0.0.254", HTTP_X_FORWARDED_FOR=forwarded)

        assert ratelimit.client_ip(request) == expected


@pytest.mark.django_db(transaction=True)
def test_the_same_submission_posted_twice_at_once_stores_one_case_and_one_copy_of_its_files(settings):
    submission = uuid.uuid4().hex

    def send():
        return submit_contact_form(
            submission_id=submission, first_name="Inès", email="ines@example.fr", subject="Photos", body="Voici la photo.",
            files=[SimpleUploadedFile("tache.png", PNG, "image/png")],
        )

    intakes, errors = run_concurrently(send, send)

    assert errors == []
    assert sorted(intake.created for intake in intakes) == [False, True]
    assert intakes[0].case.pk == intakes[1].case.pk
    assert Case.objects.count() == Message.objects.filter(kind=MessageKind.INBOUND).count() == 1
    assert Attachment.objects.count() == 1
    assert len(media_files(settings)) == 1


@pytest.mark.django_db
def test_the_form_states_its_file_size_limit_as_customers_read_it(client, settings):
    settings.PREVENANCE_ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024
    french = client.get(URL, HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    english = client.get(URL, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "10\xa0Mo" in french or "10 Mo" in french
    assert "Mio" not in french and "10,0" not in french
    assert "10 MB" in english and "10.0 MB" not in english
