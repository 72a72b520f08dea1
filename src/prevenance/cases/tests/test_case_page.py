"""The case page and its actions, through the Django test client on a real database."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone

from prevenance.cases.choices import CaseStatus, GestureStatus, MessageKind, TemplatePurpose
from prevenance.cases.models import (
    Attachment,
    Case,
    Gesture,
    Message,
    ReplyTemplate,
    RootCause,
    Tag,
)
from prevenance.cases.services import (
    add_note,
    add_reply,
    assign_case,
    change_status,
    ingest_email,
    merge_cases,
    request_gesture,
    set_case_labels,
)
from prevenance.cases.tests.factories import TeamFactory, open_email_case
from prevenance.core.models import AuditEvent
from prevenance.core.testing import run_concurrently
from prevenance.customers.models import Identity
from prevenance.customers.tests.factories import OrderFactory, UserFactory

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def setup(agent, supervisor):
    """A case of the agent's team (with a reply and a note) and one of another team."""
    ours_team, other_team = TeamFactory(members=[agent]), TeamFactory(members=[supervisor])
    ours = open_email_case("camille@example.com", subject="Colis abîmé", body="Mon colis est arrivé abîmé.").case
    ours.customer.first_name = "Camille"
    ours.customer.save(update_fields=["first_name"])
    ours = assign_case(case=ours, team=ours_team, actor=supervisor)
    add_reply(case=ours, author=supervisor, body="Nous sommes désolés, un nouveau colis part demain.")
    add_note(case=ours, author=supervisor, body="Transporteur prévenu.")
    theirs = assign_case(case=open_email_case("other@example.com", subject="Secret").case, team=other_team, actor=supervisor)
    return {"case": ours, "other": theirs, "team": ours_team}


def url(name, case, **kwargs):
    return reverse(f"cases:{name}", kwargs={"case_id": case.pk, **kwargs})


def gesture_form(*, currency: str = "EUR", **fields) -> dict:
    """The gesture form's POST: its fields carry the "gesture-" prefix (apart from the case's own)."""
    return {f"gesture-{name}": value for name, value in {**fields, "currency": currency}.items()}


def test_the_case_page_shows_the_thread_and_the_customer(client, agent, setup):
    client.force_login(agent)
    response = client.get(url("case", setup["case"]))
    assert response.status_code == 200
    text = response.content.decode()
    assert setup["case"].reference in text
    for words in ("Mon colis est arrivé abîmé.", "un nouveau colis part demain", "Transporteur prévenu."):
        assert words in text
    assert "msg-inbound" in text and "msg-outbound" in text and "msg-note" in text
    assert "Camille" in text  # the customer sidebar
    # Only the moves the workflow allows from "open" are offered.
    assert 'value="resolved"' in text and 'value="new"' not in text


def test_another_teams_case_and_a_missing_case_are_both_404(client, agent, setup):
    client.force_login(agent)
    assert client.get(url("case", setup["other"])).status_code == 404
    assert client.get(reverse("cases:case", kwargs={"case_id": 10**9})).status_code == 404
    response = client.post(url("case_reply", setup["other"]), {"body": "hello"})
    assert response.status_code == 404
    assert not Message.objects.filter(case=setup["other"], kind=MessageKind.OUTBOUND).exists()


def test_a_user_without_the_case_permission_is_refused_and_a_visitor_is_sent_to_log_in(client, marketer, setup):
    client.force_login(marketer)
    assert client.get(url("case", setup["case"])).status_code == 403
    client.logout()
    response = client.get(url("case", setup["case"]))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_message_html_is_shown_sanitised(client, agent, setup):
    Message.objects.create(
        case=setup["case"], customer=setup["case"].customer, kind=MessageKind.INBOUND, channel="email",
        body_text="x", body_html='<p>Bonjour <b>vous</b></p><script>alert("x")</script><img src=x onerror="alert(1)">',
    )
    client.force_login(agent)
    text = client.get(url("case", setup["case"])).content.decode()
    assert "<b>vous</b>" in text
    assert 'alert("x")' not in text and "onerror" not in text


def test_what_went_wrong_reading_a_message_is_shown_on_it_and_in_the_api(client, agent, setup):
    Message.objects.create(
        case=setup["case"], customer=setup["case"].customer, kind=MessageKind.INBOUND, channel="email", body_text="Voir pièce jointe.",
        problems=[{"code": "attachment_refused", "detail": "facture.exe: a program or script, refused for safety"},
                  {"code": "charset", "detail": ""}, {"code": "from_a_later_version", "detail": ""}],
    )
    client.force_login(agent)
    text = client.get(url("case", setup["case"]), HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "msg-problems" in text and "facture.exe" in text
    assert "facture.exe: programme ou script, refusé par sécurité" in text  # the stored English reason, shown in French
    assert "Une pièce jointe a été refusée" in text  # the label, in the reader's language
    assert "from_a_later_version" in text  # an unknown code is shown as it is, never a 500
    thread = client.get(f"/api/v1/cases/{setup['case'].pk}/messages").json()["items"]
    assert [problem["code"] for problem in thread[-1]["problems"]] == ["attachment_refused", "charset", "from_a_later_version"]
    assert thread[0]["problems"] == []


def test_replying_adds_the_message_and_redirects(client, agent, setup):
    client.force_login(agent)
    response = client.post(url("case_reply", setup["case"]), {"body": "Voici votre numéro de suivi."})
    assert response.status_code == 302
    reply = Message.objects.filter(case=setup["case"], kind=MessageKind.OUTBOUND).order_by("-id").first()
    assert reply.body_text.startswith("Voici votre numéro de suivi.") and reply.author == agent


def test_an_htmx_reply_answers_with_the_refreshed_thread(client, agent, setup):
    client.force_login(agent)
    response = client.post(url("case_reply", setup["case"]), {"body": "Réponse par HTMX."}, **HX)
    assert response.status_code == 200
    text = response.content.decode()
    assert 'id="case-main"' in text and "Réponse par HTMX." in text and "<html" not in text


def test_an_empty_reply_is_refused_next_to_the_field_and_nothing_is_written(client, agent, setup):
    client.force_login(agent)
    before = Message.objects.count()
    response = client.post(url("case_reply", setup["case"]), {"body": "   "}, **HX)
    assert response.status_code == 400
    assert 'id="id_body-error"' in response.content.decode()
    assert Message.objects.count() == before


def test_a_reply_and_a_note_take_files_from_the_page(client, agent, setup, settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.MEDIA_ROOT = tmp_path
    client.force_login(agent)
    label = SimpleUploadedFile("etiquette.pdf", b"%PDF-1.4 label")
    response = client.post(url("case_reply", setup["case"]), {"body": "Voici l'étiquette.", "attachments": [label]}, **HX)
    assert response.status_code == 200
    reply = Message.objects.filter(case=setup["case"], kind=MessageKind.OUTBOUND).order_by("-id").first()
    [file] = reply.attachments.all()
    assert (file.filename, file.content_type) == ("etiquette.pdf", "application/pdf")
    assert f'href="{url("case_attachment", setup["case"], attachment_id=file.pk)}"' in response.content.decode()
    assert 'enctype="multipart/form-data"' in response.content.decode()

    note_file = SimpleUploadedFile("photo.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 8)
    client.post(url("case_note", setup["case"]), {"note-body": "Photo du carton.", "note-attachments": [note_file]})
    note = Message.objects.filter(case=setup["case"], kind=MessageKind.NOTE).order_by("-id").first()
    assert list(note.attachments.values_list("filename", flat=True)) == ["photo.png"]

    before = Message.objects.count()
    refused = client.post(url("case_reply", setup["case"]),
                          {"body": "Et ceci.", "attachments": [SimpleUploadedFile("virus.exe", b"MZ\x90\x00")]}, **HX)
    assert refused.status_code == 400
    assert "virus.exe" in refused.content.decode() and 'id="id_attachments-error"' in refused.content.decode()
    assert Message.objects.count() == before


def test_a_note_is_added(client, agent, setup):
    client.force_login(agent)
    response = client.post(url("case_note", setup["case"]), {"note-body": "Rappeler jeudi."})
    assert response.status_code == 302
    assert Message.objects.filter(case=setup["case"], kind=MessageKind.NOTE, body_text="Rappeler jeudi.").exists()


def test_status_buttons_move_the_case_and_a_refused_move_says_why(client, agent, setup):
    client.force_login(agent)
    assert client.post(url("case_status", setup["case"]), {"status": "resolved"}).status_code == 302
    setup["case"].refresh_from_db()
    assert setup["case"].status == CaseStatus.RESOLVED
    response = client.post(url("case_status", setup["case"]), {"status": "pending_customer"}, **HX)
    assert response.status_code == 400
    assert "cannot go from" in response.content.decode()
    setup["case"].refresh_from_db()
    assert setup["case"].status == CaseStatus.RESOLVED


def test_assign_to_me_keeps_the_team(client, agent, setup):
    client.force_login(agent)
    assert client.post(url("case_take", setup["case"])).status_code == 302
    setup["case"].refresh_from_db()
    assert setup["case"].assignee == agent and setup["case"].team == setup["team"]


def test_assigning_someone_outside_the_team_is_refused_on_the_field(client, agent, supervisor, setup):
    supervisor.first_name, supervisor.last_name = "Sarah", "Petit"
    supervisor.save(update_fields=["first_name", "last_name"])
    client.force_login(agent)
    response = client.post(url("case_assign", setup["case"]), {"team": setup["team"].pk, "assignee": supervisor.pk}, **HX)
    assert response.status_code == 400
    assert f"Sarah Petit is not a member of the team {setup['team'].name}." in response.content.decode()  # the name shown in the picker
    setup["case"].refresh_from_db()
    assert setup["case"].assignee is None


def test_tags_and_root_cause_are_saved_with_an_audit_row(client, agent, setup):
    tag = Tag.objects.create(name="livraison")
    cause = RootCause.objects.create(name="Transporteur")
    client.force_login(agent)
    response = client.post(url("case_labels", setup["case"]), {"type": setup["case"].type, "language": "fr", "tags": [tag.pk], "root_cause": cause.pk})
    assert response.status_code == 302
    case = Case.objects.get(pk=setup["case"].pk)
    assert list(case.tags.all()) == [tag] and case.root_cause == cause
    assert AuditEvent.objects.filter(kind="case.labels_changed", subject_id=str(case.pk)).count() == 1


def test_an_inactive_root_cause_is_refused(agent, setup):
    retired = RootCause.objects.create(name="Ancien", active=False)
    with pytest.raises(ValidationError) as caught:
        set_case_labels(case=setup["case"], tags=[], root_cause=retired, actor=agent)
    assert "root_cause" in caught.value.message_dict
    assert Case.objects.get(pk=setup["case"].pk).root_cause is None


def test_merge_needs_the_merge_permission_and_a_supervisor_merges(client, agent, supervisor, setup):
    survivor = setup["case"]
    loser = open_email_case("camille@example.com", subject="Toujours rien").case
    client.force_login(agent)
    assert client.post(url("case_merge", survivor), {"loser": loser.reference}).status_code == 403
    client.force_login(supervisor)
    bad = client.post(url("case_merge", survivor), {"loser": "C-1999-000001"}, **HX)
    assert bad.status_code == 400 and "No case you can see has this reference." in bad.content.decode()
    assert client.post(url("case_merge", survivor), {"loser": loser.reference.lower()}).status_code == 302
    loser.refresh_from_db()
    assert loser.merged_into == survivor and loser.status == CaseStatus.CLOSED


def test_split_moves_a_customer_message_to_a_new_case(client, agent, setup):
    case = setup["case"]
    second = Message.objects.create(case=case, customer=case.customer, kind=MessageKind.INBOUND, channel="email", body_text="Autre sujet")
    client.force_login(agent)
    response = client.post(url("case_split", case, message_id=second.pk))
    second.refresh_from_db()
    assert second.case_id != case.pk
    assert response.status_code == 302 and response["Location"] == url("case", second.case)
    # A message of another case cannot be split through this one.
    other = Message.objects.filter(case=setup["other"]).first()
    assert client.post(url("case_split", case, message_id=other.pk)).status_code == 404


def test_a_split_case_the_agent_cannot_open_leaves_them_on_the_source_saying_where_it_went(client, agent, supervisor, setup):
    # The agent holds a case of a team they left since: they see it as its assignee; the split
    # case keeps its team and has nobody assigned, so its page would answer "not found".
    case, team = setup["case"], setup["team"]
    case = assign_case(case=case, assignee=agent, team=team, actor=supervisor)
    team.members.remove(agent)
    second = Message.objects.create(case=case, customer=case.customer, kind=MessageKind.INBOUND, channel="email", body_text="Autre sujet")
    client.force_login(agent)

    response = client.post(url("case_split", case, message_id=second.pk), follow=True)

    second.refresh_from_db()
    new_case = second.case
    assert (new_case.split_from_id, new_case.team, new_case.assignee) == (case.pk, team, None)
    assert response.redirect_chain == [(url("case", case), 302)]
    assert [str(message) for message in response.context["messages"]] == [
        f"Message moved to the new case {new_case.reference}, in the {team.name} team's cases; you cannot open it from your teams."
    ]
    htmx = client.post(url("case_split", case, message_id=Message.objects.create(
        case=case, customer=case.customer, kind=MessageKind.INBOUND, channel="email", body_text="Encore autre chose").pk), **HX)
    assert htmx.status_code == 200 and "HX-Redirect" not in htmx
    assert "you cannot open it from your teams." in htmx.content.decode()


def test_the_gesture_form_shows_the_delegation_and_grants_within_it(client, agent, setup):
    client.force_login(agent)
    page = client.get(url("case", setup["case"])).content.decode()
    assert "50.00 EUR" in page or "50,00 EUR" in page
    ok = client.post(url("case_gesture", setup["case"]), gesture_form(type="voucher", amount="20,00", reason="Colis abîmé"))
    assert ok.status_code == 302
    big = client.post(url("case_gesture", setup["case"]), gesture_form(type="refund", amount="120", reason="Canapé"))
    assert big.status_code == 302
    statuses = dict(Gesture.objects.filter(case=setup["case"]).values_list("amount", "status"))
    assert statuses == {Decimal("20.00"): GestureStatus.GRANTED, Decimal("120.00"): GestureStatus.REQUESTED}


def test_a_bad_gesture_amount_is_refused_on_the_field_and_nothing_is_written(client, agent, setup):
    client.force_login(agent)
    response = client.post(url("case_gesture", setup["case"]), gesture_form(type="refund", amount="-5", reason="x"), **HX)
    assert response.status_code == 400
    assert 'id="id_gesture-amount-error"' in response.content.decode()
    assert not Gesture.objects.exists()


def test_picking_a_template_fills_the_reply_box(client, agent, setup):
    template = ReplyTemplate.objects.create(
        name="Excuses", purpose=TemplatePurpose.REPLY, language="fr", body="Bonjour {customer_first_name}, votre dossier {case_reference}.",
    )
    ReplyTemplate.objects.create(name="Accusé", purpose=TemplatePurpose.ACKNOWLEDGEMENT, language="fr", body="Reçu")
    client.force_login(agent)
    page = client.get(url("case", setup["case"])).content.decode()
    assert "Excuses" in page and "Accusé" not in page
    response = client.get(url("case_template", setup["case"]), {"template": template.pk}, **HX)
    assert response.status_code == 200
    assert f"Bonjour Camille, votre dossier {setup['case'].reference}." in response.content.decode()


def test_attachments_download_only_for_those_who_may_see_the_case(client, agent, setup, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    message = setup["case"].messages.first()
    attachment = Attachment(message=message, filename="photo colis.jpg", content_type="image/jpeg", size=4)
    attachment.file.save("photo.jpg", ContentFile(b"JPEG"), save=True)
    other_message = setup["other"].messages.first()
    hidden = Attachment(message=other_message, filename="secret.pdf", content_type="application/pdf", size=3)
    hidden.file.save("secret.pdf", ContentFile(b"PDF"), save=True)
    client.force_login(agent)
    response = client.get(url("case_attachment", setup["case"], attachment_id=attachment.pk))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"JPEG"
    assert response["Content-Disposition"].startswith("attachment;")
    # Another team's file, even through a case the agent can see, is a 404.
    assert client.get(url("case_attachment", setup["other"], attachment_id=hidden.pk)).status_code == 404
    assert client.get(url("case_attachment", setup["case"], attachment_id=hidden.pk)).status_code == 404


def test_the_original_of_an_email_downloads_from_the_database(client, agent, setup, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    raw = (f"From: camille@example.com\r\nSubject: Re: [{setup['case'].reference}] Colis\r\n"
           "Message-ID: <orig-1@example.com>\r\n\r\nMon colis.\r\n").encode()
    result = ingest_email(raw=raw)  # threaded on the case by the reference in its subject
    assert result.case.pk == setup["case"].pk
    original = result.message.attachments.get(filename="message.eml")
    assert original.file.name == "" and list(tmp_path.iterdir()) == []  # no file: the bytes are in the row
    client.force_login(agent)
    response = client.get(url("case_attachment", setup["case"], attachment_id=original.pk))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == raw
    assert response["Content-Disposition"] == 'attachment; filename="message.eml"'


def test_the_thread_says_where_each_email_stands_and_why_one_was_not_sent(client, agent, setup):
    reply = setup["case"].messages.get(kind=MessageKind.OUTBOUND)
    client.force_login(agent)

    def shown(**state) -> str:
        Message.objects.filter(pk=reply.pk).update(**state)
        page = client.get(url("case", setup["case"])).content.decode()
        start = page.index(f'id="message-{reply.pk}"')
        return page[start:page.index("</li>", start)]

    later = timezone.now() + timedelta(minutes=2)
    assert "sending" in shown(sent_at=None, send_error="", delivery_due_at=later)  # in the outbox
    retrying = shown(send_error="Sending failed: [Errno 111] Connection refused", delivery_due_at=later)
    assert "not sent yet, next attempt" in retrying and "Connection refused" in retrying
    given_up = shown(send_error="Sending failed: refused (given up: no more attempts)", delivery_due_at=None)
    assert "not sent" in given_up and "not sent yet" not in given_up and "given up" in given_up
    sent = shown(sent_at=timezone.now(), send_error="", delivery_due_at=None)
    assert "sent" in sent and "not sent" not in sent and "sending" not in sent


def test_a_closed_case_offers_no_reply_box(client, agent, setup):
    change_status(case=setup["case"], status=CaseStatus.CLOSED, actor=agent)
    client.force_login(agent)
    text = client.get(url("case", setup["case"])).content.decode()
    assert 'id="reply-form"' not in text and "This case takes no more replies." in text


def test_an_agent_without_a_team_sees_a_triage_case(client, setup):
    newcomer = UserFactory(role="agent")
    triage = open_email_case("triage@example.com").case
    client.force_login(newcomer)
    assert client.get(url("case", triage)).status_code == 200
    assert client.get(url("case", setup["case"])).status_code == 404


@pytest.mark.django_db(transaction=True)
def test_two_agents_saving_labels_at_once_leave_one_of_the_two_choices(agent, supervisor):
    case = open_email_case("race@example.com").case
    first, second = Tag.objects.create(name="colis"), Tag.objects.create(name="facture")
    results, errors = run_concurrently(
        lambda: set_case_labels(case=case, tags=[first], root_cause=None, actor=agent),
        lambda: set_case_labels(case=case, tags=[second], root_cause=None, actor=supervisor),
    )
    assert errors == [] and len(results) == 2
    assert list(Case.objects.get(pk=case.pk).tags.all()) in ([first], [second])
    assert AuditEvent.objects.filter(kind="case.labels_changed", subject_id=str(case.pk)).count() == 2


def test_the_sidebar_warns_when_the_customers_address_bounces(client, agent, setup):
    Identity.objects.filter(normalized="camille@example.com").update(bounced_at=timezone.now(), bounce_reason="5.1.1 User unknown")
    client.force_login(agent)
    text = client.get(url("case", setup["case"])).content.decode()
    assert "camille@example.com bounced on" in text
    assert 'title="5.1.1 User unknown"' in text


def test_the_sidebar_dates_the_customer_from_their_first_order_when_the_record_is_younger(client, agent, setup):
    OrderFactory(customer=setup["case"].customer, ordered_at=datetime(2016, 5, 2, 10, 0, tzinfo=UTC))
    client.force_login(agent)
    text = client.get(url("case", setup["case"]), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Customer since 2 May 2016" in text


def test_the_gesture_form_of_a_merged_case_shows_the_delegation_left_on_its_survivor(client, agent, supervisor, setup):
    survivor = setup["case"]
    request_gesture(case=survivor, type="refund", amount="50", currency="EUR", reason="Retard", actor=agent)  # the agent's whole limit
    loser = assign_case(case=open_email_case("camille@example.com", subject="Re: colis").case, team=setup["team"], actor=supervisor)
    merge_cases(survivor=survivor, loser=loser, actor=supervisor)
    client.force_login(agent)
    page = client.get(url("case", loser)).content.decode()
    assert "You have no delegation" in page or "0.00 EUR" in page
    assert "50.00 EUR" not in page.split('id="delegation"')[1].split("</p>")[0]


def test_someone_without_delegation_who_may_set_the_limits_is_shown_where(client, agent, admin_user, setup):
    from prevenance.cases.models import DelegationLimit

    DelegationLimit.objects.filter(group__name="agent").delete()
    limits_page = reverse("admin:cases_delegationlimit_changelist")
    client.force_login(admin_user)  # a superuser with no role: no limit of their own
    delegation = client.get(url("case", setup["case"])).content.decode().split('id="delegation"')[1].split("</p>")[0]
    assert "You have no delegation" in delegation and f'href="{limits_page}"' in delegation

    client.force_login(agent)
    delegation = client.get(url("case", setup["case"])).content.decode().split('id="delegation"')[1].split("</p>")[0]
    assert "You have no delegation" in delegation and limits_page not in delegation


def test_a_gesture_sent_after_the_customer_was_erased_says_why(client, agent, admin_user, setup):
    from prevenance.customers.services import erase_customer

    erase_customer(customer=setup["case"].customer, actor=admin_user)
    client.force_login(agent)
    response = client.post(url("case_gesture", setup["case"]), gesture_form(type="refund", amount="10", reason="x"))
    assert response.status_code == 400
    assert "no gesture can be made" in response.content.decode()


def test_the_reply_box_shows_the_tone_guidance_and_a_sign_off_typed_by_hand_is_not_added_twice(client, agent, setup):
    from prevenance.cases.services import ensure_default_templates

    ensure_default_templates()
    agent.first_name = "Marie"
    agent.save(update_fields=["first_name"])
    client.force_login(agent)
    page = client.get(url("case", setup["case"])).content.decode()
    assert "tone-guidance" in page and "Écrivez comme une personne" in page  # the case is in French
    assert "Bien cordialement,<br>Marie<br>Le service client" in page
    # The browser posts the text box's line breaks as CRLF; the sign-off the agent typed counts
    typed = "Votre colis part demain.\r\n\r\nBien cordialement,\r\nMarie\r\nLe service client"
    assert client.post(url("case_reply", setup["case"]), {"body": typed}).status_code == 302
    sent = Message.objects.filter(case=setup["case"], kind=MessageKind.OUTBOUND, author=agent).get()
    assert sent.body_text.count("Bien cordialement") == 1 and "\r" not in sent.body_text


def test_a_reply_ending_with_the_agents_own_closing_is_not_signed_again_and_the_box_says_so(client, agent, setup):
    from prevenance.cases.services import ensure_default_templates

    ensure_default_templates()
    agent.first_name = "Marie"
    agent.save(update_fields=["first_name"])
    client.force_login(agent)
    page = client.get(url("case", setup["case"])).content.decode()
    hint = page[page.index('id="reply-sign-off"'):page.index("</small>", page.index('id="reply-sign-off"'))]
    assert "Bien cordialement,<br>Marie<br>Le service client" in hint and "If it ends with your own closing" in hint
    english = ReplyTemplate.objects.filter(purpose="reply", language="en").first()
    picked = client.get(url("case_template", setup["case"]), {"template": english.pk}).content.decode()
    assert "If it ends with your own closing" in picked
    # The agent closes the reply herself (the browser posts CRLF): the customer reads one closing.
    typed = "Votre colis part demain.\r\n\r\nCordialement,\r\nMarie"
    assert client.post(url("case_reply", setup["case"]), {"body": typed}).status_code == 302
    # A reply that only thanks in a sentence is signed as before.
    assert client.post(url("case_reply", setup["case"]), {"body": "Merci de nous renvoyer le formulaire."}).status_code == 302
    own, sentence = Message.objects.filter(case=setup["case"], kind=MessageKind.OUTBOUND, author=agent).order_by("id")
    assert own.body_text == "Votre colis part demain.\n\nCordialement,\nMarie"
    assert sentence.body_text == "Merci de nous renvoyer le formulaire.\n\nBien cordialement,\nMarie\nLe service client"


def test_templates_in_the_cases_language_come_first_and_a_reply_from_another_is_signed_in_its_language(client, agent, setup):
    from prevenance.cases.models import ReplyTemplate
    from prevenance.cases.services import ensure_default_templates

    ensure_default_templates()
    agent.first_name = "Marie"
    agent.save(update_fields=["first_name"])
    client.force_login(agent)
    page = client.get(url("case", setup["case"]), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    picker = page[page.index('id="id_template"'):page.index("</select>", page.index('id="id_template"'))]
    own, others = picker.split("Other languages", 1)
    assert "In the case's language (French)" in own and "(en)" not in own and "(en)" in others

    english = ReplyTemplate.objects.filter(purpose="reply", language="en").first()
    french = ReplyTemplate.objects.filter(purpose="reply", language="fr").first()
    # Picking a template swaps in the sign-off the reply will carry, in that template's language.
    picked = client.get(url("case_template", setup["case"]), {"template": english.pk}).content.decode()
    assert 'id="reply-sign-off" hx-swap-oob="true"' in picked and "Kind regards,<br>Marie" in picked
    assert "Bien cordialement,<br>Marie" in client.get(url("case_template", setup["case"]), {"template": french.pk}).content.decode()
    assert client.post(url("case_reply", setup["case"]), {"body": "Your parcel leaves tomorrow.", "template": english.pk}).status_code == 302
    sent = Message.objects.filter(case=setup["case"], kind=MessageKind.OUTBOUND, author=agent).get()
    assert sent.body_text.endswith("Kind regards,\nMarie\nCustomer care") and "Bien cordialement" not in sent.body_text


def test_a_refused_gesture_shows_who_decided_and_why(client, agent, supervisor, setup):
    from prevenance.cases.services import refuse_gesture

    supervisor.first_name, supervisor.last_name = "Claire", "Morel"
    supervisor.save(update_fields=["first_name", "last_name"])
    waiting = request_gesture(case=setup["case"], type="refund", amount="120", currency="EUR", reason="Colis abîmé", actor=agent)
    refuse_gesture(gesture=waiting, actor=supervisor, reason="Montant trop élevé pour un premier geste")
    client.force_login(agent)
    gestures = client.get(url("case", setup["case"])).content.decode().split('id="gestures"')[1]
    assert "Claire Morel" in gestures and "Montant trop élevé pour un premier geste" in gestures


def test_a_case_is_merged_by_its_number_alone_and_the_page_says_so(client, supervisor, setup):
    other = open_email_case("camille@example.com", subject="Re: colis").case
    client.force_login(supervisor)
    number = str(int(other.reference.rsplit("-", 1)[1]))  # "3" for C-2026-000003
    response = client.post(url("case_merge", setup["case"]), {"loser": number}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    other.refresh_from_db()
    assert other.merged_into_id == setup["case"].pk
    assert f"Case {other.reference} merged into this one" in response.content.decode()
    refused = client.post(url("case_merge", setup["case"]), {"loser": "999999"})
    assert refused.status_code == 400 and "No case you can see has this reference." in refused.content.decode()


def test_a_split_case_names_the_case_it_was_split_from_with_a_link(client, agent, supervisor, setup):
    from prevenance.cases.services import add_inbound_message, split_message

    second = add_inbound_message(case=setup["case"], body="Et la facture ?", sender_address="camille@example.com").message
    split = split_message(message=second, actor=supervisor)
    client.force_login(supervisor)
    page = client.get(url("case", split)).content.decode()
    source = setup["case"]
    assert f'Split from <a href="/cases/{source.pk}/">{source.reference}</a>.' in page
    assert "the original case" not in page


def test_a_split_case_from_another_teams_case_does_not_name_it(client, agent, supervisor, setup):
    """The source moved to a team the agent is not in: neither its reference nor a link that would answer 404."""
    from prevenance.cases.services import add_inbound_message, split_message

    second = add_inbound_message(case=setup["case"], body="Et la facture ?", sender_address="camille@example.com").message
    split = split_message(message=second, actor=supervisor)
    assign_case(case=setup["case"], team=TeamFactory(), actor=supervisor)
    client.force_login(agent)
    page = client.get(url("case", split)).content.decode()
    assert "Split from a case of another team." in page
    assert f'href="/cases/{setup["case"].pk}/"' not in page and "Split from <a" not in page


def test_an_internal_note_is_not_labelled_with_the_cases_channel(client, agent, setup):
    client.force_login(agent)
    page = client.get(url("case", setup["case"])).content.decode()
    note = page.split('class="msg msg-note"')[1].split("</li>")[0]
    assert "Transporteur prévenu." in note and "· Email" not in note


def test_a_gesture_on_a_merged_case_says_it_went_to_the_survivor(client, agent, supervisor, setup):
    loser = assign_case(case=open_email_case("camille@example.com", subject="Re: colis").case, team=setup["team"], actor=supervisor)
    merge_cases(survivor=setup["case"], loser=loser, actor=supervisor)
    client.force_login(agent)
    answer = client.post(url("case_gesture", loser), gesture_form(type="refund", amount="10", reason="Retard"),
                         HTTP_HX_REQUEST="true")
    assert setup["case"].gestures.count() == 1
    assert f"Gesture recorded on {setup['case'].reference}" in answer.content.decode()


def test_odd_digits_typed_as_a_case_number_are_refused_not_a_500(client, supervisor, setup):
    client.force_login(supervisor)
    for typed in ("²", "①", "٣"):
        assert client.post(url("case_merge", setup["case"]), {"loser": typed}).status_code == 400


def test_the_sign_off_shows_without_tone_guidance_and_only_when_the_reply_is_signed(client, agent, setup):
    from prevenance.cases.models import Signature
    from prevenance.cases.services import open_case
    from prevenance.core.choices import Channel
    from prevenance.customers.choices import IdentityKind
    from prevenance.customers.services import IdentityInput

    Signature.objects.create(name="Zorg", language="fr", tone_guidance="", sign_off="Bien à vous,\nL'équipe Zorg")
    client.force_login(agent)
    assert "Zorg" in client.get(url("case", setup["case"])).content.decode()
    phone = open_case(identities=[IdentityInput(IdentityKind.PHONE, "+33611111111")], channel=Channel.PHONE,
                      subject="Appel", body="Le client rappellera.", team=setup["team"]).case
    assert "Your reply is signed" not in client.get(url("case", phone)).content.decode()  # a phone reply is not signed
