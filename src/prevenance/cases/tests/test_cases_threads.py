"""Merging and splitting cases; cases under customer merge and GDPR erasure/export."""

import datetime as dt
import io
import json
import zipfile
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone

from prevenance.cases.choices import CaseStatus, MessageKind
from prevenance.cases.models import Attachment, Case, Message, Tag
from prevenance.cases.services import (
    add_inbound_message,
    add_reply,
    change_status,
    ensure_default_templates,
    ingest_email,
    merge_cases,
    request_gesture,
    split_message,
)
from prevenance.cases.tests.factories import open_email_case
from prevenance.core.models import AuditEvent
from prevenance.core.testing import run_concurrently
from prevenance.customers.services import (
    erase_customer,
    export_customer_data,
    merge_customers,
    write_customer_archive,
)
from prevenance.interactions.models import Interaction

pytestmark = pytest.mark.django_db


def two_cases_of_one_customer():
    first = open_email_case("same@example.com", subject="Colis", body="Le colis est abîmé.").case
    second = open_email_case("same@example.com", subject="Re: colis", body="Photo jointe.").case
    return first, second


def test_merge_moves_the_thread_and_closes_the_loser(supervisor):
    survivor, loser = two_cases_of_one_customer()
    loser.tags.add(Tag.objects.create(name="livraison"))
    reply = add_reply(case=loser, author=supervisor, body="Nous regardons.")
    merged = merge_cases(survivor=survivor, loser=loser, actor=supervisor)
    loser.refresh_from_db()
    assert merged == survivor
    assert (loser.merged_into, loser.status) == (survivor, CaseStatus.CLOSED)
    assert loser.closed_at is not None
    assert list(survivor.messages.values_list("body_text", flat=True)) == ["Le colis est abîmé.", "Photo jointe.", "Nous regardons."]
    assert loser.messages.count() == 0
    assert list(survivor.tags.values_list("name", flat=True)) == ["livraison"]
    survivor.refresh_from_db()
    assert survivor.first_response_at == reply.created_at
    assert set(Interaction.objects.values_list("ref_id", flat=True)) == {str(survivor.pk)}
    assert AuditEvent.objects.get(kind="case.merged").payload["loser"] == loser.pk


def test_a_merge_never_takes_the_acknowledgement_for_a_response_and_moves_the_gestures(supervisor):
    ensure_default_templates()  # each case gets its acknowledgement, an outbound email with no author
    survivor, loser = two_cases_of_one_customer()
    assert Message.objects.filter(kind=MessageKind.OUTBOUND, author__isnull=True).count() == 2
    gesture = request_gesture(case=loser, type="voucher", amount="20", currency="EUR", reason="Colis abîmé", actor=supervisor)
    merge_cases(survivor=survivor, loser=loser, actor=supervisor)
    survivor.refresh_from_db()
    assert survivor.first_response_at is None  # nobody has answered yet: the SLA clock still runs
    gesture.refresh_from_db()
    assert gesture.case == survivor
    assert AuditEvent.objects.get(kind="case.merged").payload["gestures"] == [gesture.pk]
    # and a split leaves the source without a response too
    split = split_message(message=survivor.messages.get(body_text="Photo jointe."), actor=supervisor)
    survivor.refresh_from_db()
    assert (survivor.first_response_at, split.first_response_at) == (None, None)


def test_an_open_case_merged_into_a_resolved_one_opens_it_again(supervisor):
    # The customer's unanswered message now sits on the survivor: left resolved, it would be
    # in no view and no SLA clock would run for it.
    survivor, loser = two_cases_of_one_customer()
    change_status(case=survivor, status=CaseStatus.RESOLVED, actor=supervisor)
    merge_cases(survivor=survivor, loser=loser, actor=supervisor)
    survivor.refresh_from_db()
    assert (survivor.status, survivor.resolved_at, survivor.reopen_count) == (CaseStatus.OPEN, None, 1)
    assert AuditEvent.objects.get(kind="case.merged").payload["reopened"] is True


def test_a_resolved_case_merged_into_a_resolved_one_leaves_it_resolved(supervisor):
    survivor, loser = two_cases_of_one_customer()
    for case in (survivor, loser):
        change_status(case=case, status=CaseStatus.RESOLVED, actor=supervisor)
    merge_cases(survivor=survivor, loser=loser, actor=supervisor)
    survivor.refresh_from_db()
    assert (survivor.status, survivor.reopen_count) == (CaseStatus.RESOLVED, 0)


def test_merging_again_changes_nothing(supervisor):
    survivor, loser = two_cases_of_one_customer()
    merge_cases(survivor=survivor, loser=loser, actor=supervisor)
    again = merge_cases(survivor=survivor, loser=loser, actor=supervisor)
    assert again == survivor
    assert AuditEvent.objects.filter(kind="case.merged").count() == 1


def test_a_reply_to_the_merged_case_lands_on_the_survivor(supervisor):
    survivor, loser = two_cases_of_one_customer()
    merge_cases(survivor=survivor, loser=loser, actor=supervisor)
    intake = add_inbound_message(case=loser, body="Des nouvelles ?")
    assert intake.case == survivor and intake.case_opened is False
    assert survivor.messages.count() == 3


def test_merge_refusals_change_nothing(supervisor):
    survivor, loser = two_cases_of_one_customer()
    stranger = open_email_case("other@example.com").case
    with pytest.raises(ValidationError) as itself:
        merge_cases(survivor=survivor, loser=survivor, actor=supervisor)
    with pytest.raises(ValidationError) as other_customer:
        merge_cases(survivor=survivor, loser=stranger, actor=supervisor)
    merge_cases(survivor=survivor, loser=loser, actor=supervisor)
    with pytest.raises(ValidationError) as already:
        merge_cases(survivor=stranger, loser=loser, actor=supervisor)
    assert itself.value.message_dict == {"loser": ["A case cannot be merged with itself."]}
    assert other_customer.value.message_dict == {"loser": ["These cases belong to different customers: merge the customers first."]}
    assert already.value.message_dict == {"loser": ["One of these cases was already merged into another case."]}
    assert stranger.messages.count() == 1
    assert Case.objects.get(pk=stranger.pk).status == CaseStatus.NEW


def test_split_moves_one_message_to_a_new_linked_case(agent):
    source = open_email_case("split@example.com", subject="Deux sujets", body="Colis abîmé.").case
    later = timezone.now() + dt.timedelta(minutes=5)
    other = add_inbound_message(case=source, body="Et ma facture ?", received_at=later).message
    new = split_message(message=other, actor=agent)
    other.refresh_from_db()
    source.refresh_from_db()
    assert (new.split_from, new.customer, new.status, new.subject) == (source, source.customer, CaseStatus.NEW, "Deux sujets")
    assert other.case == new
    assert new.last_customer_message_at == later
    assert list(source.messages.values_list("body_text", flat=True)) == ["Colis abîmé."]
    assert source.last_customer_message_at < later
    assert Interaction.objects.get(pk=other.interaction_id).ref_id == str(new.pk)
    assert AuditEvent.objects.get(kind="case.split").payload == {"from": source.pk, "message": other.pk}


def test_a_split_case_is_answered_from_the_same_mailbox_to_the_same_people_about_the_same_order(agent):
    from prevenance.cases.services.outbound import email_addressing
    from prevenance.customers.tests.factories import OrderFactory

    source = open_email_case("split@example.com", subject="Deux sujets", body="Colis abîmé.", mailbox="marque2@example.com",
                             cc=["conjoint@example.org"]).case
    Case.objects.filter(pk=source.pk).update(order=OrderFactory(customer=source.customer))
    source.refresh_from_db()
    other = add_inbound_message(case=source, body="Et ma facture ?", mailbox="marque2@example.com", cc=["compta@example.org"]).message
    new = split_message(message=other, actor=agent)
    # Copied: the people this message copied, not those of the source's own matter.
    assert (new.mailbox, new.cc_addresses, new.order) == ("marque2@example.com", ["compta@example.org"], source.order)
    addressing = email_addressing(new)
    assert (addressing["mailbox"], addressing["to_addresses"], addressing["cc_addresses"]) == (
        "marque2@example.com", ["split@example.com"], ["compta@example.org"])


def test_split_refuses_the_only_message_and_a_reply(agent):
    source = open_email_case().case
    only = source.messages.get()
    with pytest.raises(ValidationError) as alone:
        split_message(message=only, actor=agent)
    reply = add_reply(case=source, author=agent, body="Bonjour")
    with pytest.raises(ValidationError) as outbound:
        split_message(message=reply, actor=agent)
    assert alone.value.message_dict == {
        "message": ["This is the case's only message from the customer: there is nothing to split from."]}
    assert outbound.value.message_dict == {"message": ["Only a message from the customer can become a case of its own."]}
    assert Case.objects.count() == 1
    assert Message.objects.filter(case=source).count() == 2


def test_split_refuses_the_only_customer_message_beside_the_acknowledgement(agent):
    ensure_default_templates()
    source = open_email_case("seul@example.com").case
    assert source.messages.filter(kind=MessageKind.OUTBOUND).exists()  # the acknowledgement
    with pytest.raises(ValidationError) as alone:
        split_message(message=source.messages.get(kind=MessageKind.INBOUND), actor=agent)
    assert alone.value.messages == ["This is the case's only message from the customer: there is nothing to split from."]
    assert Case.objects.count() == 1


def test_a_split_case_gets_its_own_priority_not_the_sources_age_and_breach(agent):
    source = open_email_case("vieux@example.com", subject="Commande", body="Ma commande est en retard.").case
    Case.objects.filter(pk=source.pk).update(
        priority="urgent", priority_score=70,
        priority_reasons=[{"code": "age", "points": 20}, {"code": "sla_breached", "points": 30}],
    )
    other = add_inbound_message(case=source, body="Autre chose : merci pour la livraison, tout va bien.").message
    new = split_message(message=other, actor=agent)
    new.refresh_from_db()
    codes = {reason["code"] for reason in new.priority_reasons}
    assert not codes & {"age", "sla_breached"}
    assert new.priority != "urgent" and new.priority_score < 70


def test_merging_customers_moves_their_cases_and_messages(supervisor):
    survivor_case = open_email_case("keep@example.com").case
    loser_case = open_email_case("dup@example.com").case
    merge_customers(survivor=survivor_case.customer, loser=loser_case.customer, actor=supervisor)
    loser_case.refresh_from_db()
    assert loser_case.customer == survivor_case.customer
    assert set(Message.objects.values_list("customer_id", flat=True)) == {survivor_case.customer_id}
    # and now the two cases can be merged
    merge_cases(survivor=survivor_case, loser=loser_case, actor=supervisor)
    assert survivor_case.messages.count() == 2


def test_erasure_unlinks_cases_and_blanks_what_the_person_wrote(admin_user):
    intake = open_email_case("erase@example.com", subject="Mon adresse", body="J'habite 3 rue des Lilas.", sender_name="Claire")
    add_reply(case=intake.case, author=admin_user, body="Merci Claire.")
    erase_customer(customer=intake.case.customer, actor=admin_user)
    case = Case.objects.get()
    assert (case.customer, case.subject) == (None, "")
    assert list(Message.objects.values_list("customer_id", "body_text", "body_html", "sender_name", "sender_address")) == [
        (None, "", "", "", ""), (None, "", "", "", ""),
    ]
    # the case survives for statistics, but nobody is left to reply to
    with pytest.raises(ValidationError) as reply:
        add_reply(case=case, author=admin_user, body="Hello")
    with pytest.raises(ValidationError) as inbound:
        add_inbound_message(case=case, body="Me again")
    assert reply.value.message_dict == {"case": ["This case's customer was erased: there is no one to answer."]}
    assert inbound.value.message_dict == {
        "case": [f"Case {case.reference} belongs to an erased customer; open a new case from the sender instead."]
    }
    assert Message.objects.count() == 2


def test_gdpr_export_includes_cases_and_messages():
    intake = open_email_case("export@example.com", subject="Remboursement", body="Je veux être remboursée.")
    document = export_customer_data(customer=intake.case.customer)
    assert [row["reference"] for row in document["cases.case"]] == [intake.case.reference]
    assert [(row["kind"], row["body_text"]) for row in document["cases.message"]] == [(MessageKind.INBOUND, "Je veux être remboursée.")]


@pytest.mark.django_db(transaction=True)
def test_replies_during_a_customer_merge_are_all_kept_on_the_survivor():
    survivor = open_email_case("keep@example.com").case.customer
    case = open_email_case("loser@example.com").case
    loser = case.customer

    def replies(n: int):
        return lambda: [add_inbound_message(case=case, body=f"reply {n}-{i}") for i in range(5)]

    _results, errors = run_concurrently(*(replies(n) for n in range(3)), lambda: merge_customers(survivor=survivor, loser=loser))
    assert errors == []
    assert Message.objects.filter(case=case).count() == 16
    assert set(Message.objects.values_list("customer_id", flat=True)) == {survivor.pk}
    assert set(Interaction.objects.values_list("customer_id", flat=True)) == {survivor.pk}


def test_erasure_deletes_the_customers_attachments_and_their_files(admin_user, settings, tmp_path, django_capture_on_commit_callbacks):
    # given a customer's message with a file, and another customer's message with one
    settings.MEDIA_ROOT = tmp_path

    def attach(intake, content: bytes) -> Attachment:
        return Attachment.objects.create(
            message=intake.message, file=ContentFile(content, name="photo.jpg"), filename="photo.jpg",
            content_type="image/jpeg", size=len(content),
        )

    erased = attach(open_email_case("erase@example.com", subject="Photo", body="Voici la photo."), b"erased person's photo")
    kept = attach(open_email_case("other@example.com", subject="Photo", body="La mienne."), b"other person's photo")
    erased_path, kept_path = tmp_path / erased.file.name, tmp_path / kept.file.name
    assert erased_path.exists() and kept_path.exists()
    # when the first customer is erased
    with django_capture_on_commit_callbacks(execute=True):
        erase_customer(customer=erased.message.customer, actor=admin_user)
    # then their attachment row and file are gone; the other customer's stay
    assert list(Attachment.objects.values_list("pk", flat=True)) == [kept.pk]
    assert not erased_path.exists()
    assert kept_path.exists()


def read_archive(document_and_bytes) -> tuple[dict, dict[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(document_and_bytes)) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    return json.loads(files.pop("customer.json")), files


def test_gdpr_archive_holds_the_json_and_every_file_of_the_person(settings, tmp_path, supervisor):
    # given an email with a PDF from the person (its raw original is kept too), a file on
    # another of their cases, and someone else's file
    settings.MEDIA_ROOT = tmp_path
    raw = (Path(__file__).parent / "mail_corpus" / "12_mixed_attachments.eml").read_bytes()
    emailed = ingest_email(raw=raw)
    person = emailed.case.customer
    other_case = open_email_case("camille.roux@icloud.com", subject="Autre commande", body="Une autre question.").case
    assert other_case.customer == person
    photo = Attachment.objects.create(
        message=other_case.messages.filter(kind=MessageKind.INBOUND).get(), file=ContentFile(b"photo bytes", name="photo.jpg"), filename="../../photo.jpg",
        content_type="image/jpeg", size=11,
    )
    stranger = open_email_case("stranger@example.com").message
    Attachment.objects.create(message=stranger, file=ContentFile(b"not theirs", name="x.txt"), filename="x.txt", content_type="text/plain", size=10)
    # when their data is exported as an archive
    target = io.BytesIO()
    write_customer_archive(customer=person, target=target, actor=supervisor)
    document, files = read_archive(target.getvalue())
    # then every file of theirs is in it, byte for byte, where the JSON says, and nothing else
    theirs = Attachment.objects.filter(message__customer=person).order_by("pk")
    assert [entry["id"] for entry in document["files"]] == [a.pk for a in theirs]
    assert len(document["files"]) >= 3  # the raw .eml, its attachments, the photo
    for entry, attachment in zip(document["files"], theirs, strict=True):
        with attachment.open() as stored:
            assert files[entry["path"]] == stored.read()
        assert (entry["filename"], entry["size"], entry["message"]) == (attachment.filename, attachment.size, attachment.message_id)
    assert set(files) == {entry["path"] for entry in document["files"]}
    assert any(entry["filename"] == "message.eml" and files[entry["path"]] == raw for entry in document["files"])
    photo_entry = next(entry for entry in document["files"] if entry["id"] == photo.pk)
    assert photo_entry["path"] == f"files/attachment-{photo.pk}-photo.jpg"  # no directory from the name
    assert document["customer"]["id"] == person.pk
    assert AuditEvent.objects.get(kind="customer.exported").payload == {"records": [person.pk], "files": len(document["files"])}


def test_gdpr_archive_says_which_file_is_missing_and_keeps_the_rest(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    intake = open_email_case("missing@example.com", subject="Photos", body="Deux photos.")
    gone, kept = (
        Attachment.objects.create(message=intake.message, file=ContentFile(content, name=name), filename=name, content_type="image/jpeg", size=len(content))
        for name, content in (("gone.jpg", b"gone"), ("kept.jpg", b"kept"))
    )
    (tmp_path / gone.file.name).unlink()
    target = io.BytesIO()
    write_customer_archive(customer=intake.case.customer, target=target)
    document, files = read_archive(target.getvalue())
    entries = {entry["id"]: entry for entry in document["files"]}
    assert entries[gone.pk]["missing"] is True and entries[gone.pk]["path"] is None
    assert files == {entries[kept.pk]["path"]: b"kept"}


def test_gdpr_json_export_lists_the_files_without_their_bytes(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    intake = open_email_case("list@example.com", subject="Photo", body="Photo.")
    attachment = Attachment.objects.create(
        message=intake.message, file=ContentFile(b"abc", name="p.jpg"), filename="p.jpg", content_type="image/jpeg", size=3,
    )
    document = export_customer_data(customer=intake.case.customer)
    assert document["files"] == [{
        "model": "cases.attachment", "id": attachment.pk, "message": intake.message.pk, "filename": "p.jpg",
        "content_type": "image/jpeg", "size": 3, "path": f"files/attachment-{attachment.pk}-p.jpg",
    }]


def test_a_reply_from_before_the_survivor_opened_is_not_its_first_response(supervisor):
    # The older case was answered two days ago; the newer one, merged onto, never was.
    older = open_email_case("same@example.com", subject="Colis", received_at=timezone.now() - dt.timedelta(days=2)).case
    add_reply(case=older, author=supervisor, body="Nous regardons.")
    newer = open_email_case("same@example.com", subject="Toujours rien", body="Et maintenant ?").case
    merge_cases(survivor=newer, loser=older, actor=supervisor)
    newer.refresh_from_db()
    assert newer.first_response_at is None  # its own clock still runs: nobody answered this request


def test_a_late_reply_copies_the_people_it_adds_onto_the_follow_up_case(supervisor):
    case = open_email_case("claire@example.com").case
    change_status(case=case, status=CaseStatus.RESOLVED, actor=supervisor)
    change_status(case=case, status=CaseStatus.CLOSED, actor=supervisor)
    later = add_inbound_message(case=case, body="Je mets mon mari en copie.", cc=["paul@example.com"], channel="email",
                                sender_address="claire@example.com")
    assert later.case_opened
    assert later.case.cc_addresses == ["paul@example.com"]


def test_a_reply_racing_a_merge_joins_the_survivor_not_a_follow_up(supervisor, monkeypatch):
    survivor, loser = two_cases_of_one_customer()
    from prevenance.cases.services import common

    read = common.live_case_id

    def merge_right_after_reading(case_id):
        where = read(case_id)
        if where == loser.pk and not Case.objects.filter(merged_into=survivor).exists():
            merge_cases(survivor=survivor, loser=loser, actor=supervisor)  # commits between the read and the lock
        return where

    monkeypatch.setattr(common, "live_case_id", merge_right_after_reading)
    reply = add_inbound_message(case=loser, body="Une précision.", channel="email", sender_address="same@example.com")
    assert (reply.case.pk, reply.case_opened) == (survivor.pk, False)
    assert Case.objects.count() == 2


def test_a_case_waiting_for_the_customer_opens_when_their_answer_is_merged_in(supervisor):
    waiting, _other = two_cases_of_one_customer()
    add_reply(case=waiting, author=supervisor, body="Pouvez-vous envoyer une photo ?")
    change_status(case=waiting, status=CaseStatus.PENDING_CUSTOMER, actor=supervisor)
    # The customer answered with a new email that opened a case of its own
    answer = open_email_case("same@example.com", subject="Photo", body="Voici la photo.").case
    merge_cases(survivor=waiting, loser=answer, actor=supervisor)
    waiting.refresh_from_db()
    assert waiting.status == CaseStatus.OPEN and waiting.sla_paused_at is None
    # A merged case with nothing new from the customer leaves the wait alone
    change_status(case=waiting, status=CaseStatus.PENDING_CUSTOMER, actor=supervisor)
    merge_cases(survivor=waiting, loser=_other, actor=supervisor)
    waiting.refresh_from_db()
    assert waiting.status == CaseStatus.PENDING_CUSTOMER


def test_a_case_without_sla_waiting_for_the_customer_opens_for_their_answer_despite_later_edits(supervisor):
    from prevenance.cases.services import set_case_labels

    waiting, _other = two_cases_of_one_customer()
    assert waiting.sla_policy_id is None  # no policy: no pause time to go by
    add_reply(case=waiting, author=supervisor, body="Pouvez-vous envoyer une photo ?")
    change_status(case=waiting, status=CaseStatus.PENDING_CUSTOMER, actor=supervisor)
    answer = open_email_case("same@example.com", subject="Photo", body="Voici la photo.").case
    # A tag set after the answer came touches the case (updated_at)
    set_case_labels(case=waiting, tags=[Tag.objects.create(name="photo")], root_cause=None, actor=supervisor)
    merge_cases(survivor=waiting, loser=answer, actor=supervisor)
    waiting.refresh_from_db()
    assert waiting.status == CaseStatus.OPEN


def test_cases_of_erased_customers_are_not_merged(supervisor, admin_user):
    # Two people's cases, both kept (unlinked) after each person was erased: nothing says they are one customer's
    first = open_email_case("anne@example.com").case
    second = open_email_case("paul@example.com").case
    for case in (first, second):
        erase_customer(customer=case.customer, actor=admin_user)
    first.refresh_from_db()
    second.refresh_from_db()
    with pytest.raises(ValidationError) as erased:
        merge_cases(survivor=first, loser=second, actor=supervisor)
    assert erased.value.message_dict == {"loser": ["A case of an erased customer cannot be merged."]}
    second.refresh_from_db()
    assert (second.merged_into_id, second.status, second.messages.count()) == (None, CaseStatus.NEW, 1)
    assert not AuditEvent.objects.filter(kind="case.merged").exists()


def out_of_office(case: Case) -> Message:
    """The customer's automatic reply to our email about `case`, which the email intake stores on it."""
    address = case.messages.get(kind=MessageKind.INBOUND).sender_address
    raw = (f"From: {address}\r\nTo: care@prevenance.test\r\nSubject: Absente [{case.reference}]\r\n"
           f"Message-ID: <absente-{case.pk}@example.com>\r\nAuto-Submitted: auto-replied\r\n"
           "Content-Type: text/plain; charset=utf-8\r\n\r\nJe suis absente jusqu'au 3.\r\n").encode()
    result = ingest_email(raw=raw)
    assert result.case.pk == case.pk and result.message.automatic == "auto_reply"
    return result.message


def test_an_out_of_office_is_not_a_customer_message_a_split_can_leave_behind_or_take(agent):
    source = open_email_case("absente@example.com", subject="Colis", body="Mon colis est abîmé.").case
    automatic = out_of_office(source)
    only = source.messages.get(kind=MessageKind.INBOUND, automatic="")
    with pytest.raises(ValidationError) as alone:
        split_message(message=only, actor=agent)
    with pytest.raises(ValidationError) as machine:
        split_message(message=automatic, actor=agent)
    assert alone.value.messages == ["This is the case's only message from the customer: there is nothing to split from."]
    assert machine.value.messages == ["Only a message from the customer can become a case of its own."]
    assert Case.objects.count() == 1
    assert set(source.messages.values_list("pk", flat=True)) == {only.pk, automatic.pk}


def test_the_case_page_offers_no_split_for_an_out_of_office_or_the_message_beside_it(client, agent):
    source = open_email_case("absente@example.com", subject="Colis", body="Mon colis est abîmé.").case
    out_of_office(source)
    client.force_login(agent)
    page = client.get(reverse("cases:case", kwargs={"case_id": source.pk}))
    assert page.status_code == 200
    assert "Split into a new case" not in page.content.decode()
    # A second message from the customer: both of theirs can be split, never the automatic reply
    add_inbound_message(case=source, body="Et ma facture ?")
    page = client.get(reverse("cases:case", kwargs={"case_id": source.pk})).content.decode()
    assert page.count("Split into a new case") == 2
