"""The email intake under concurrent deliveries: replies to one case, duplicates, one new sender."""

import pytest

from prevenance.cases.models import Case, Message
from prevenance.cases.services import ingest_email
from prevenance.cases.services.email_intake import Outcome
from prevenance.core.testing import run_concurrently
from prevenance.customers.models import Customer
from prevenance.interactions.models import Interaction

THREADS = 6


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def eml(message_id: str, *, sender: str = "claire@example.com", headers: str = "", subject: str = "Colis") -> bytes:
    return (f"From: {sender}\r\nTo: service.client@boutique-lumiere.fr\r\nSubject: {subject}\r\nMessage-ID: <{message_id}>\r\n"
            f"{headers}Content-Type: text/plain; charset=utf-8\r\n\r\nMessage {message_id}\r\n").encode()


def ingest(raw: bytes):
    return lambda: ingest_email(raw=raw)


@pytest.mark.django_db(transaction=True)
def test_concurrent_replies_to_one_case_are_all_kept_and_their_copies_merged():
    # Given Claire's case
    first = ingest_email(raw=eml("c0@example.com"))
    # When six replies, each copying someone new, arrive at the same instant
    replies = [eml(f"c{n}@example.com", subject="Re: Colis", headers=f"In-Reply-To: <c0@example.com>\r\nCc: friend{n}@example.com\r\n")
               for n in range(1, THREADS + 1)]
    results, errors = run_concurrently(*[ingest(raw) for raw in replies])
    # then every one is on the case, on the timeline once, and no copy was lost by another's update
    assert errors == []
    assert sorted(r.outcome for r in results) == [Outcome.APPENDED] * THREADS
    assert {r.case.pk for r in results} == {first.case.pk}
    assert Message.objects.filter(case=first.case).count() == THREADS + 1
    assert Interaction.objects.filter(ref_type="cases.case", ref_id=str(first.case.pk)).count() == THREADS + 1
    assert sorted(Case.objects.get(pk=first.case.pk).cc_addresses) == sorted(f"friend{n}@example.com" for n in range(1, THREADS + 1))
    assert Message.objects.filter(case=first.case, attachments__filename="message.eml").count() == THREADS + 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_deliveries_of_one_reply_store_it_once():
    first = ingest_email(raw=eml("c0@example.com"))
    reply = eml("c1@example.com", headers="In-Reply-To: <c0@example.com>\r\n")
    results, errors = run_concurrently(*[ingest(reply)] * THREADS)
    assert errors == []
    assert sorted(r.outcome for r in results) == sorted([Outcome.APPENDED] + [Outcome.DUPLICATE] * (THREADS - 1))
    assert {r.message.pk for r in results} == {Message.objects.get(message_id="c1@example.com").pk}
    assert Message.objects.filter(case=first.case).count() == 2
    assert Interaction.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_first_messages_of_one_new_sender_make_one_customer():
    raws = [eml(f"n{n}@example.com", sender="Nouvelle Cliente <nouvelle@example.com>") for n in range(THREADS)]
    results, errors = run_concurrently(*[ingest(raw) for raw in raws])
    assert errors == []
    assert [r.outcome for r in results] == [Outcome.CREATED] * THREADS
    assert Customer.objects.count() == 1
    references = sorted(Case.objects.values_list("reference", flat=True))
    assert len(set(references)) == THREADS  # each case its own number
