"""Reply templates, placeholders and the relational signature (docs/templates-and-surveys.md)."""

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client

from prevenance.cases.choices import MessageKind, TemplatePurpose
from prevenance.cases.models import Case, ReplyTemplate, Signature
from prevenance.cases.services import (
    add_reply,
    apply_signature,
    create_reply_template,
    create_signature,
    delete_reply_template,
    ensure_default_templates,
    render_template,
    select_template,
    signature_for,
    update_reply_template,
    update_signature,
)
from prevenance.cases.services.default_templates import (
    CHANNEL_ACKNOWLEDGEMENTS,
    DEFAULT_SIGNATURES,
    DEFAULT_TEMPLATES,
)
from prevenance.cases.services.templates import (
    business_due,
    check_placeholders,
    clean_signature_fields,
    clean_template_fields,
    fill,
)
from prevenance.cases.tests.factories import TeamFactory, open_email_case
from prevenance.core.choices import Channel
from prevenance.core.models import AuditEvent, BusinessCalendar
from prevenance.customers.tests.factories import OrderFactory, UserFactory

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")
EVERY_PLACEHOLDER = (
    "{customer_first_name}|{customer_last_name}|{case_reference}|{case_subject}|{order_reference}|"
    "{agent_first_name}|{agent_name}|{team_name}|{due_date}"
)


def template(body, *, subject="", purpose=TemplatePurpose.REPLY, language="en", channel="", team=None, name=None, active=True):
    """A template row written directly: the service is tested on its own below."""
    return ReplyTemplate.objects.create(
        name=name or f"t{ReplyTemplate.objects.count()}", purpose=purpose, language=language, channel=channel, team=team,
        subject=subject, body=body, active=active,
    )


def claire_case(**kwargs) -> Case:
    hints = {"first_name": "Claire", "last_name": "Martin"}
    case = open_email_case("claire@example.com", subject="Colis abîmé", hints=hints, **kwargs).case
    return Case.objects.select_related("customer", "team", "order").get(pk=case.pk)


# --- rendering -------------------------------------------------------------------------------------

def test_every_placeholder_is_filled_from_the_case_and_the_agent(agent):
    team = TeamFactory(name="Service client")
    case = claire_case(team=team)
    order = OrderFactory(customer=case.customer, reference="CMD-2026-0042")
    due = dt.datetime(2030, 3, 5, 13, 0, tzinfo=dt.UTC)
    Case.objects.filter(pk=case.pk).update(order=order, first_response_due_at=due)
    case = Case.objects.select_related("customer", "team", "order").get(pk=case.pk)
    agent.first_name, agent.last_name = "Hugo", "Bernard"
    every = template(EVERY_PLACEHOLDER, subject="[{case_reference}] {case_subject}")
    subject, body = render_template(template=every, case=case, agent=agent)
    assert subject == f"[{case.reference}] Colis abîmé"
    assert body == (
        f"Claire|Martin|{case.reference}|Colis abîmé|CMD-2026-0042|Hugo|Hugo Bernard|Service client|Tuesday 5 March 2030 before 14:00"
    )


def test_missing_values_render_as_empty_text_and_never_crash():
    case = claire_case()  # no order, no team, no due time
    _subject, body = render_template(template=template(EVERY_PLACEHOLDER), case=case, agent=None)
    assert body == f"Claire|Martin|{case.reference}|Colis abîmé|||||"


def test_a_row_with_bad_braces_written_around_the_services_renders_as_written():
    case = claire_case()
    assert render_template(template=template("Bonjour {customer_first_name"), case=case) == ("", "Bonjour {customer_first_name")
    assert render_template(template=template("{unknown} {customer_first_name}"), case=case)[1] == " Claire"


def test_double_braces_write_literal_braces():
    assert render_template(template=template("{{case_reference}} = {case_reference}"), case=(case := claire_case()))[1] == (
        f"{{case_reference}} = {case.reference}"
    )


def test_the_due_date_is_said_in_business_words_in_the_language_and_time_zone():
    now = dt.datetime(2030, 3, 4, 9, 0, tzinfo=PARIS)  # a Monday
    assert business_due(dt.datetime(2030, 3, 4, 16, 30, tzinfo=PARIS), language="en", tz=PARIS, now=now) == "today before 16:30"
    assert business_due(dt.datetime(2030, 3, 5, 10, 0, tzinfo=PARIS), language="en", tz=PARIS, now=now) == "tomorrow before 10:00"
    assert business_due(dt.datetime(2030, 3, 7, 12, 0, tzinfo=PARIS), language="en", tz=PARIS, now=now) == "Thursday 7 March before 12:00"
    french = business_due(dt.datetime(2030, 3, 7, 12, 0, tzinfo=PARIS), language="fr", tz=PARIS, now=now)
    assert french.startswith("jeudi 7 mars") and french.endswith("12:00")
    # a time stored in UTC is said in the zone's local time
    montreal = ZoneInfo("America/Montreal")
    assert business_due(dt.datetime(2031, 1, 2, 15, 0, tzinfo=dt.UTC), language="en", tz=montreal, now=now) == (
        "Thursday 2 January 2031 before 10:00"
    )
    assert business_due(None, language="en", tz=PARIS) == ""
    # French writes the first of the month "1er"
    first = business_due(dt.datetime(2030, 4, 1, 10, 0, tzinfo=PARIS), language="fr", tz=PARIS, now=now)
    assert first.startswith("lundi 1er avril") and first.endswith("10:00")
    assert business_due(dt.datetime(2030, 4, 1, 10, 0, tzinfo=PARIS), language="en", tz=PARIS, now=now).startswith("Monday 1 April")


def test_the_due_date_uses_the_team_calendars_time_zone():
    calendar = BusinessCalendar.objects.create(name="Montréal", time_zone="America/Montreal")
    case = claire_case(team=TeamFactory(calendar=calendar))
    Case.objects.filter(pk=case.pk).update(first_response_due_at=dt.datetime(2031, 1, 2, 15, 0, tzinfo=dt.UTC))
    case = Case.objects.select_related("customer", "team__calendar").get(pk=case.pk)
    assert render_template(template=template("{due_date}"), case=case)[1] == "Thursday 2 January 2031 before 10:00"


def test_the_due_date_of_a_reopened_case_awaiting_an_answer_is_its_next_reply_due_time():
    # Given a case answered on time, then reopened: its next reply is due Friday 3 January 2031 11:00 Paris
    case = claire_case()
    Case.objects.filter(pk=case.pk).update(
        first_response_due_at=dt.datetime(2031, 1, 2, 9, 0, tzinfo=dt.UTC), first_response_at=dt.datetime(2031, 1, 2, 8, 0, tzinfo=dt.UTC),
        next_reply_due_at=dt.datetime(2031, 1, 3, 10, 0, tzinfo=dt.UTC),
    )
    case = Case.objects.select_related("customer", "team__calendar").get(pk=case.pk)
    # Then {due_date} says when the next answer is due, not the first one
    assert render_template(template=template("{due_date}"), case=case)[1] == "Friday 3 January 2031 before 11:00"
    # and once answered (no reply awaited), it is the first response's again
    Case.objects.filter(pk=case.pk).update(next_reply_due_at=None)
    case = Case.objects.select_related("customer", "team__calendar").get(pk=case.pk)
    assert render_template(template=template("{due_date}"), case=case)[1] == "Thursday 2 January 2031 before 10:00"


# --- validation: unknown placeholders and no code execution ------------------------------------------

@pytest.mark.parametrize(("text", "shown"), [
    ("Hello {first_name}", "{first_name}"),
    ("{customer_first_name.__class__}", "{customer_first_name.__class__}"),
    ("{case_reference[0]}", "{case_reference[0]}"),
    ("{case_reference!r}", "{case_reference!r}"),
    ("{due_date:>100}", "{due_date:>100}"),
    ("{}", "{}"),
    ("{survey_links}", "{survey_links}"),  # only survey invitations carry the links
])
def test_unknown_or_computed_placeholders_are_refused_by_name(supervisor, text, shown):
    with pytest.raises(ValidationError) as refused:
        create_reply_template(actor=supervisor, name="Bad", language="en", body=text)
    [message] = refused.value.message_dict["body"]
    assert message.startswith(f"Unknown placeholder {shown}.")
    assert "{customer_first_name}" in message  # the allowed list helps to fix it
    assert not ReplyTemplate.objects.exists()


def test_an_unbalanced_brace_is_refused_with_the_way_to_write_one(supervisor):
    with pytest.raises(ValidationError) as refused:
        create_reply_template(actor=supervisor, name="Bad", language="en", body="ok", subject="Ref {case_reference")
    assert "Unbalanced brace" in refused.value.message_dict["subject"][0]
    assert not ReplyTemplate.objects.exists()


def test_survey_invitations_may_use_the_survey_links(supervisor):
    created = create_reply_template(actor=supervisor, name="Survey", language="en", purpose=TemplatePurpose.SURVEY,
                                    body="{survey_links}\n{survey_url}")
    assert created.pk is not None


def test_every_bad_field_is_reported_at_once_and_nothing_is_written(supervisor):
    with pytest.raises(ValidationError) as refused:
        create_reply_template(actor=supervisor, name=" ", language="xx", channel="pigeon", purpose="poem", body="")
    assert set(refused.value.message_dict) == {"name", "language", "channel", "purpose", "body"}
    assert not ReplyTemplate.objects.exists()


# --- the services ---------------------------------------------------------------------------------

def test_a_supervisor_creates_changes_and_deletes_a_template_with_audit_rows(supervisor):
    created = create_reply_template(actor=supervisor, name="  Late   delivery ", language="fr", channel=Channel.EMAIL,
                                    subject="Votre commande {order_reference}", body="Bonjour {customer_first_name},")
    assert (created.name, created.purpose, created.language, created.channel) == ("Late delivery", "reply", "fr", "email")
    changed = update_reply_template(template=created, actor=supervisor, body="Bonsoir {customer_first_name},", active=False)
    assert (changed.body, changed.active, changed.subject) == ("Bonsoir {customer_first_name},", False, "Votre commande {order_reference}")
    with pytest.raises(ValidationError) as refused:
        update_reply_template(template=created, actor=supervisor, body="{oops}")
    assert "body" in refused.value.message_dict
    assert ReplyTemplate.objects.get(pk=created.pk).body == "Bonsoir {customer_first_name},"
    delete_reply_template(template=created, actor=supervisor)
    assert not ReplyTemplate.objects.exists()
    kinds = list(AuditEvent.objects.filter(kind__startswith="template.").order_by("id").values_list("kind", flat=True))
    assert kinds == ["template.created", "template.changed", "template.deleted"]


def test_an_update_from_a_stale_copy_keeps_what_someone_else_saved_meanwhile(supervisor):
    created = create_reply_template(actor=supervisor, name="Hello", language="en", body="Hello", subject="Old")
    stale = ReplyTemplate.objects.get(pk=created.pk)
    update_reply_template(template=created, actor=supervisor, subject="New")
    update_reply_template(template=stale, actor=supervisor, body="Hi {customer_first_name}")
    saved = ReplyTemplate.objects.get(pk=created.pk)
    assert (saved.subject, saved.body) == ("New", "Hi {customer_first_name}")
    ReplyTemplate.objects.filter(pk=created.pk).delete()
    with pytest.raises(ValidationError) as gone:
        update_reply_template(template=stale, actor=supervisor, body="Bye")
    assert gone.value.message_dict == {"template": ["This template was deleted meanwhile."]}


def test_agents_cannot_write_templates(agent):
    with pytest.raises(PermissionDenied):
        create_reply_template(actor=agent, name="Mine", language="en", body="Hello")
    with pytest.raises(PermissionDenied):
        create_reply_template(actor=None, name="Mine", language="en", body="Hello")
    assert not ReplyTemplate.objects.exists()


def test_a_second_template_with_the_same_name_language_and_channel_is_refused(supervisor):
    create_reply_template(actor=supervisor, name="Hello", language="en", body="Hello")
    with pytest.raises(ValidationError) as refused:
        create_reply_template(actor=supervisor, name="Hello", language="en", body="Hi")
    assert refused.value.message_dict == {"name": ["A template with this name already exists for this language and channel."]}
    create_reply_template(actor=supervisor, name="Hello", language="fr", body="Bonjour")  # another language is another template
    assert ReplyTemplate.objects.count() == 2


def test_signatures_refuse_unknown_placeholders_and_a_second_active_one(supervisor):
    with pytest.raises(ValidationError) as refused:
        create_signature(actor=supervisor, name="Brand", language="en", sign_off="Regards, {agent_nickname}")
    assert refused.value.message_dict["sign_off"][0].startswith("Unknown placeholder {agent_nickname}.")
    first = create_signature(actor=supervisor, name="Brand", language="en", sign_off="Regards")
    with pytest.raises(ValidationError) as clash:
        create_signature(actor=supervisor, name="Brand 2", language="en", sign_off="Cheers")
    assert clash.value.message_dict == {"language": ["There is already an active brand-wide signature in this language."]}
    update_signature(signature=first, actor=supervisor, active=False)
    create_signature(actor=supervisor, name="Brand 2", language="en", sign_off="Cheers")
    assert Signature.objects.filter(active=True).count() == 1


# --- choosing the template -----------------------------------------------------------------------

def test_the_template_in_the_customers_language_wins_then_the_sites_then_any():
    case = claire_case()  # a French customer
    assert case.customer.language == "fr"
    german = template("Hallo", purpose=TemplatePurpose.ACKNOWLEDGEMENT, language="de")
    assert select_template(purpose=TemplatePurpose.ACKNOWLEDGEMENT, case=case) == german
    english = template("Hello", purpose=TemplatePurpose.ACKNOWLEDGEMENT, language="en")
    assert select_template(purpose=TemplatePurpose.ACKNOWLEDGEMENT, case=case) == english
    french = template("Bonjour", purpose=TemplatePurpose.ACKNOWLEDGEMENT, language="fr")
    assert select_template(purpose=TemplatePurpose.ACKNOWLEDGEMENT, case=case) == french
    Case.objects.filter(pk=case.pk).update(language="en")  # the case's own language comes first
    case.refresh_from_db()
    assert select_template(purpose=TemplatePurpose.ACKNOWLEDGEMENT, case=case) == english


def test_the_channel_and_team_template_wins_over_the_generic_one_and_other_teams_never_apply():
    team, other = TeamFactory(), TeamFactory()
    case = claire_case(team=team)
    generic = template("generic", purpose=TemplatePurpose.ACKNOWLEDGEMENT, language="fr")
    template("sms", purpose=TemplatePurpose.ACKNOWLEDGEMENT, language="fr", channel=Channel.SMS)
    template("other team", purpose=TemplatePurpose.ACKNOWLEDGEMENT, language="fr", team=other)
    template("inactive", purpose=TemplatePurpose.ACKNOWLEDGEMENT, language="fr", channel=Channel.EMAIL, team=team, active=False)
    assert select_template(purpose=TemplatePurpose.ACKNOWLEDGEMENT, case=case) == generic
    ours = template("team", purpose=TemplatePurpose.ACKNOWLEDGEMENT, language="fr", team=team)
    assert select_template(purpose=TemplatePurpose.ACKNOWLEDGEMENT, case=case) == ours
    email = template("email", purpose=TemplatePurpose.ACKNOWLEDGEMENT, language="fr", channel=Channel.EMAIL)
    assert select_template(purpose=TemplatePurpose.ACKNOWLEDGEMENT, case=case) == email
    assert select_template(purpose=TemplatePurpose.SURVEY, case=case) is None


# --- the signature -------------------------------------------------------------------------------

def test_the_teams_signature_in_the_language_wins_over_the_brand_wide_one(agent):
    team = TeamFactory(name="Litiges")
    case = claire_case(team=team)
    assert signature_for(case) is None
    brand = Signature.objects.create(name="Brand", language="fr", sign_off="Cordialement,\n{agent_first_name}\nLe service client")
    Signature.objects.create(name="Brand EN", language="en", sign_off="Regards")
    assert signature_for(case) == brand
    ours = Signature.objects.create(name="Litiges", team=team, language="fr", sign_off="L'équipe {team_name}")
    assert signature_for(case) == ours
    Signature.objects.create(name="Other", team=TeamFactory(), language="fr", sign_off="Autre")
    assert signature_for(case) == ours
    assert apply_signature("Bonjour", case=case, agent=agent) == "Bonjour\n\nL'équipe Litiges"


def test_a_sign_off_line_left_empty_by_a_missing_value_is_dropped_and_never_added_twice(agent):
    case = claire_case()
    Signature.objects.create(name="Brand", language="fr", sign_off="Cordialement,\n{agent_first_name}\nLe service client")
    assert apply_signature("Bonjour", case=case, agent=None) == "Bonjour\n\nCordialement,\nLe service client"
    agent.first_name = "Hugo"
    signed = apply_signature("Bonjour  \n", case=case, agent=agent)
    assert signed == "Bonjour\n\nCordialement,\nHugo\nLe service client"
    assert apply_signature(signed, case=case, agent=agent) == signed


def test_an_email_reply_is_signed_unless_told_not_to_and_other_channels_are_not(agent):
    case = claire_case()
    agent.first_name = "Hugo"
    agent.save()
    Signature.objects.create(name="Brand", language="fr", sign_off="Cordialement,\n{agent_first_name} <le service client>")
    signed = add_reply(case=case, author=agent, body="Nous vous remboursons.", body_html="<p>Nous vous remboursons.</p>")
    assert signed.body_text == "Nous vous remboursons.\n\nCordialement,\nHugo <le service client>"
    assert signed.body_html == "<p>Nous vous remboursons.</p><p>Cordialement,<br>Hugo &lt;le service client&gt;</p>"
    unsigned = add_reply(case=case, author=agent, body="Sans signature.", sign=False)
    assert unsigned.body_text == "Sans signature."
    by_phone = add_reply(case=case, author=agent, body="Appel passé.", channel=Channel.PHONE)
    assert by_phone.body_text == "Appel passé."
    assert list(case.messages.filter(kind=MessageKind.OUTBOUND).values_list("author", flat=True)) == [agent.pk] * 3


# --- a closing typed by the agent ------------------------------------------------------------------

FR_SIGN_OFF = "Bien cordialement,\n{agent_first_name}\nService client"
EN_SIGN_OFF = "Kind regards,\n{agent_first_name}\nCustomer care"


@pytest.fixture
def signed_in_both(agent):
    Signature.objects.create(name="FR", language="fr", sign_off=FR_SIGN_OFF)
    Signature.objects.create(name="EN", language="en", sign_off=EN_SIGN_OFF)
    agent.first_name = "Sarah"
    agent.save(update_fields=["first_name"])
    return agent


@pytest.mark.parametrize(("language", "body"), [
    ("fr", "Votre colis part demain.\n\nCordialement,\nSarah"),
    ("fr", "Votre colis part demain.\n\n  Sincères   salutations. \n\nSarah Petit\n"),
    ("fr", "Pouvez-vous nous envoyer une photo ?\n\nMerci d’avance,\nSarah"),
    ("fr", "Votre colis part demain.\n\nBelle journée\u00a0!\nSarah"),
    ("en", "Your parcel leaves tomorrow.\n\nBest regards,\nSarah Petit"),
    ("en", "Your parcel leaves tomorrow.\n\nthank you!!\nSarah"),
    ("en", "Your parcel leaves tomorrow.\n\nCheers\nSarah"),
    # A name and a title under the closing: still the agent's own closing.
    ("en", "Your parcel leaves tomorrow.\n\nKind regards,\nSarah P.\nTeam lead, S.A.V. Paris"),
])
def test_a_reply_ending_with_the_agents_own_closing_gets_no_second_one(signed_in_both, language, body):
    case = claire_case()
    assert apply_signature(body, case=case, agent=signed_in_both, language=language) == body


@pytest.mark.parametrize(("language", "body", "why"), [
    ("fr", "Bonjour Claire,\n\nMerci de nous renvoyer le formulaire.", "a sentence starting like a closing"),
    ("en", "Hello Claire,\n\nThanks to your order number we found it.", "a sentence starting like a closing"),
    ("fr", "Merci !\n\nLe remboursement arrive sous cinq jours.\n\nLe formulaire est joint.", "more paragraphs after"),
    ("en", "Thanks,\nyour refund is on its way.", "a sentence after"),
    ("en", "Your parcel leaves tomorrow.\n\nBest regards,\nSarah\nCustomer care\nMaison Prévenance", "three lines after"),
    ("en", "Your parcel leaves tomorrow.\n\nRegards,\n" + "S" * 61, "a line too long to be a name"),
    ("fr", "Votre colis part demain.", "no closing at all"),
    # Thanks and wishes end many replies that still want the signature: without a name under
    # them they are not the agent's closing.
    ("fr", "Pouvez-vous nous envoyer une photo ?\n\nMerci !", "thanks without a name"),
    ("fr", "Votre colis part demain.\n\nBonne journée !", "a wish without a name"),
    ("en", "Could you send us a photo?\n\nThanks in advance.", "thanks without a name"),
])
def test_a_reply_without_a_closing_at_its_end_is_signed_as_before(signed_in_both, language, body, why):
    case = claire_case()
    sign_off = (FR_SIGN_OFF if language == "fr" else EN_SIGN_OFF).format(agent_first_name="Sarah")
    assert apply_signature(body, case=case, agent=signed_in_both, language=language) == f"{body}\n\n{sign_off}", why


@pytest.mark.parametrize("body", [
    "Votre colis part demain.\n\nMerci et bonne journée !\n\nSarah",
    "Votre colis part demain. Excellente journée,\nSarah Petit",
    "Votre colis part demain.\n\n— sarah",
])
def test_a_reply_ending_with_the_agents_own_name_is_signed_already(signed_in_both, body):
    # Whatever the words above it, the agent's first or full name as the last line is their
    # signature: the customer would otherwise read the name twice.
    signed_in_both.last_name = "Petit"
    signed_in_both.save(update_fields=["last_name"])
    assert apply_signature(body, case=claire_case(), agent=signed_in_both, language="fr") == body


def test_another_persons_name_as_the_last_line_is_signed_as_before(signed_in_both):
    body = "Votre colis part demain.\n\nMerci de votre patience, Claire"
    signed = apply_signature(body, case=claire_case(), agent=signed_in_both, language="fr")
    assert signed == f"{body}\n\nBien cordialement,\nSarah\nService client"


@pytest.mark.parametrize(("language", "body", "signed"), [
    ("fr", "Votre colis part demain.\n\nBIEN A VOUS !", "Votre colis part demain.\n\nBIEN A VOUS !\nSarah\nService client"),
    ("fr", "Votre colis part demain.\n\nCordialement,\n\n", "Votre colis part demain.\n\nCordialement,\nSarah\nService client"),
    ("en", "Your parcel leaves tomorrow.\n\nRegards", "Your parcel leaves tomorrow.\n\nRegards\nSarah\nCustomer care"),
])
def test_a_reply_ending_with_a_closing_alone_gets_the_name_and_team_under_it(signed_in_both, language, body, signed):
    # The agent's closing takes the place of the signature's: one closing, and the customer
    # still reads who answered.
    case = claire_case()
    assert apply_signature(body, case=case, agent=signed_in_both, language=language) == signed


def test_a_sign_off_that_does_not_start_with_a_closing_goes_whole_under_the_agents_closing(agent):
    Signature.objects.create(name="FR", language="fr", sign_off="{agent_first_name}, service client")
    agent.first_name = "Sarah"
    agent.save(update_fields=["first_name"])
    signed = apply_signature("Votre colis part demain.\n\nCordialement,", case=claire_case(), agent=agent, language="fr")
    assert signed == "Votre colis part demain.\n\nCordialement,\nSarah, service client"


def test_the_html_part_is_left_unsigned_with_the_text_when_the_agent_signed(signed_in_both):
    case = claire_case()
    own = add_reply(case=case, author=signed_in_both, body="Votre colis part demain.\n\nCordialement,\nSarah",
                    body_html="<p>Votre colis part demain.</p><p>Cordialement,<br>Sarah</p>")
    assert own.body_text == "Votre colis part demain.\n\nCordialement,\nSarah"
    assert own.body_html == "<p>Votre colis part demain.</p><p>Cordialement,<br>Sarah</p>"
    sentence = add_reply(case=case, author=signed_in_both, body="Merci de nous renvoyer le formulaire.",
                         body_html="<p>Merci de nous renvoyer le formulaire.</p>")
    assert sentence.body_text == "Merci de nous renvoyer le formulaire.\n\nBien cordialement,\nSarah\nService client"
    assert sentence.body_html == "<p>Merci de nous renvoyer le formulaire.</p><p>Bien cordialement,<br>Sarah<br>Service client</p>"
    closing = add_reply(case=case, author=signed_in_both, body="Votre colis part demain.\n\nCordialement,",
                        body_html="<p>Votre colis part demain.</p><p>Cordialement,</p>")
    assert closing.body_text == "Votre colis part demain.\n\nCordialement,\nSarah\nService client"
    assert closing.body_html == "<p>Votre colis part demain.</p><p>Cordialement,</p><p>Sarah<br>Service client</p>"


def test_an_acknowledgement_template_ending_with_its_own_closing_is_not_signed_again():
    # An administrator wrote the closing into the template: it is the message's last words.
    Signature.objects.create(name="FR", language="fr", sign_off=FR_SIGN_OFF)
    template("Bonjour {customer_first_name},\n\nNous avons bien reçu votre message.\n\nBien à vous,\nLe service client",
             purpose=TemplatePurpose.ACKNOWLEDGEMENT, language="fr")
    [ack] = claire_case().messages.filter(kind=MessageKind.OUTBOUND)
    assert ack.body_text == "Bonjour Claire,\n\nNous avons bien reçu votre message.\n\nBien à vous,\nLe service client"


# --- defaults and the admin ----------------------------------------------------------------------

def test_the_default_templates_exist_in_french_and_english_are_valid_and_created_once():
    created = ensure_default_templates()
    assert created == len(DEFAULT_TEMPLATES) + len(CHANNEL_ACKNOWLEDGEMENTS) + len(DEFAULT_SIGNATURES)
    for purpose in TemplatePurpose.values:
        assert set(ReplyTemplate.objects.filter(purpose=purpose).values_list("language", flat=True)) == {"fr", "en"}
    for row in ReplyTemplate.objects.all():
        clean_template_fields(name=row.name, purpose=row.purpose, language=row.language, channel=row.channel, team=row.team,
                              subject=row.subject, body=row.body)
    for row in Signature.objects.all():
        clean_signature_fields(name=row.name, team=row.team, language=row.language, tone_guidance=row.tone_guidance,
                               sign_off=row.sign_off)
    ReplyTemplate.objects.filter(purpose=TemplatePurpose.ACKNOWLEDGEMENT, language="fr").update(body="Edited", active=False)
    assert ensure_default_templates() == 0
    assert ReplyTemplate.objects.get(purpose=TemplatePurpose.ACKNOWLEDGEMENT, language="fr", channel="").body == "Edited"


def test_a_new_installations_french_texts_follow_french_typography():
    # Given a new installation, when it is bootstrapped
    ensure_default_templates()
    # Then its French templates and signature use the typographic apostrophe, and a no-break
    # space before the two-part punctuation and inside the quotation marks, all through
    texts = [text for row in ReplyTemplate.objects.filter(language="fr") for text in (row.subject, row.body)]
    texts += [text for row in Signature.objects.filter(language="fr") for text in (row.tone_guidance, row.sign_off)]
    for text in texts:
        assert "'" not in text, text
        assert not re.search(r"[ ][:;?!»]|«[ ]", text), text
    body = ReplyTemplate.objects.get(purpose=TemplatePurpose.ACKNOWLEDGEMENT, language="fr", channel="").body
    assert "Merci pour votre message\u00a0: nous l’avons bien reçu" in body and "Équipe en charge\u00a0: {team_name}" in body

def test_the_admin_refuses_an_unknown_placeholder_and_saves_through_the_service():
    admin_user = UserFactory(username="boss", role="admin", is_staff=True)
    client = Client()
    client.force_login(admin_user)
    form = {"name": "Merci", "purpose": "reply", "language": "fr", "channel": "", "team": "", "subject": "",
            "body": "Merci {prenom}", "active": "on"}
    refused = client.post("/admin/cases/replytemplate/add/", form)
    assert refused.status_code == 200
    assert "Unknown placeholder {prenom}." in refused.content.decode()
    assert not ReplyTemplate.objects.exists()
    saved = client.post("/admin/cases/replytemplate/add/", {**form, "body": "Merci {customer_first_name}"})
    assert saved.status_code == 302
    assert ReplyTemplate.objects.get().body == "Merci {customer_first_name}"
    assert AuditEvent.objects.filter(kind="template.created", actor=admin_user).count() == 1


def test_check_placeholders_accepts_plain_text():
    check_placeholders("No placeholder at all, {{ braces }} included.", field="body")


@pytest.mark.parametrize(("text", "values", "expected"), [
    # a label with nothing after it is left out, and leaves no double blank line
    ("Merci.\n\nÉquipe en charge : {team_name}\nRéponse prévue : {due_date}\n\nÀ bientôt.", {},
     "Merci.\n\nÀ bientôt."),
    ("Merci.\n\nÉquipe en charge : {team_name}\nRéponse prévue : {due_date}\n\nÀ bientôt.", {"team_name": "Livraisons"},
     "Merci.\n\nÉquipe en charge : Livraisons\n\nÀ bientôt."),
    ("Handled by: {team_name}\nExpected answer: {due_date}", {"due_date": "tomorrow before 10:00"},
     "Expected answer: tomorrow before 10:00"),
    # an empty name before punctuation takes its space with it; other text is kept as written
    ("Bonjour {customer_first_name},", {}, "Bonjour,"),
    ("Bonjour {customer_first_name},", {"customer_first_name": "Léa"}, "Bonjour Léa,"),
    ("Votre commande {order_reference} est partie.", {}, "Votre commande est partie."),  # one space, not two
    ("Dear {customer_first_name} {customer_last_name},", {"customer_last_name": "Smith"}, "Dear Smith,"),
    ("Dossier : {case_reference} (suivi)", {}, "Dossier : (suivi)"),  # more than a label: kept
])
def test_fill_leaves_out_what_would_read_as_a_blank(text, values, expected):
    assert fill(text, values) == expected
