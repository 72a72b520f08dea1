"""Who an email went to, who the next reply goes to, and the people in copy an agent changes,
on the case page (docs/inbox.md, "Recipients"), through the Django test client."""

from email.utils import parseaddr

import pytest
from django.contrib.auth.models import Permission
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse

from prevenance.cases.choices import CaseAuditKind
from prevenance.cases.models import Case, Message
from prevenance.cases.selectors.reply_recipients import reply_recipients
from prevenance.cases.services import add_reply, change_case_copies, ingest_email, open_case
from prevenance.cases.services.common import MAX_ADDRESSES
from prevenance.cases.tests.factories import TeamFactory
from prevenance.core.choices import Channel
from prevenance.core.models import AuditEvent, WebhookDelivery, WebhookEndpoint
from prevenance.customers.choices import IdentityKind
from prevenance.customers.services import IdentityInput
from prevenance.customers.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}
MAILBOX = "sav@boutique.test"


@pytest.fixture(autouse=True)
def _sender(settings):
    settings.DEFAULT_FROM_EMAIL = "care@prevenance.test"


@pytest.fixture
def team(agent):
    return TeamFactory(name="Service client", email=MAILBOX, members=[agent])


def email_case(*, cc: str = "paul@example.com, marc@xn--exmple-cua.com") -> Case:
    """Claire writes to the team's mailbox with people in copy (one with an accented domain)."""
    raw = (
        f"From: claire@example.com\r\nTo: {MAILBOX}\r\nCc: {cc}\r\n"
        "Subject: Colis\r\nMessage-ID: <c1@example.com>\r\nDate: Mon, 23 Nov 2026 10:00:00 +0100\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\nToujours rien reçu.\r\n"
    ).encode()
    return Case.objects.get(pk=ingest_email(raw=raw).case.pk)


def page(client, case, **extra) -> str:
    response = client.get(reverse("cases:case", kwargs={"case_id": case.pk}), **extra)
    assert response.status_code == 200
    return response.content.decode()


def copies_url(case) -> str:
    return reverse("cases:case_copies", kwargs={"case_id": case.pk})


def audit_rows(case) -> list[dict]:
    return list(AuditEvent.objects.filter(kind=CaseAuditKind.COPIES_CHANGED, subject_id=case.pk).values_list("payload", flat=True))


def test_each_email_in_the_thread_shows_who_it_went_to(client, agent, team, committed):
    case = email_case()
    with committed():
        add_reply(case=case, author=agent, body="Nous regardons votre commande.")
    client.force_login(agent)
    text = page(client, case)
    inbound, outbound = text.split('class="msg msg-inbound"')[1], text.split('class="msg msg-outbound"')[1]
    # The customer's email: To our mailbox, Cc the two people, the accented domain as people read it
    assert f'<span class="recipients-label">To:</span> {MAILBOX}</div>' in inbound
    assert '<span class="recipients-label">Cc:</span> paul@example.com, marc@exämple.com</div>' in inbound
    # Our reply: To the customer, Cc the same people
    assert '<span class="recipients-label">To:</span> claire@example.com</div>' in outbound
    assert '<span class="recipients-label">Cc:</span> paul@example.com, marc@exämple.com</div>' in outbound
    assert "Bcc:" not in text  # nobody in blind copy: no empty line


def test_a_long_copy_list_shows_three_and_folds_the_others_and_bcc_shows_on_our_emails_only(client, agent, team, committed):
    case = email_case(cc=", ".join(f"p{number}@example.com" for number in range(1, 6)))
    with committed():
        reply = add_reply(case=case, author=agent, body="Bien reçu.")
    Message.objects.filter(pk=reply.pk).update(bcc_addresses=["archive@example.com"])
    Message.objects.filter(case=case, kind="inbound").update(bcc_addresses=["hidden@example.com"])
    client.force_login(agent)
    text = page(client, case)
    assert ('<span class="recipients-label">Cc:</span> p1@example.com, p2@example.com, p3@example.com '
            '<details class="more-recipients"><summary>and 2 more</summary> p4@example.com, p5@example.com</details>') in text
    assert '<span class="recipients-label">Bcc:</span> archive@example.com</div>' in text
    assert "hidden@example.com" not in text


def test_the_reply_box_names_the_recipients_the_reply_is_then_sent_to(client, agent, team, committed):
    case = email_case()
    client.force_login(agent)
    box = page(client, case).split('id="reply-recipients"')[1].split("</details>")[0]
    assert '<span class="recipients-label">To:</span> claire@example.com</div>' in box
    assert '<span class="recipients-label">Cc:</span> paul@example.com, marc@exämple.com</div>' in box
    assert f'<span class="recipients-label">From:</span> {MAILBOX}</div>' in box
    shown = reply_recipients(case)

    with committed():
        client.post(reverse("cases:case_reply", kwargs={"case_id": case.pk}), {"body": "Nous regardons."})
    [sent] = mail.outbox[:1]
    assert (sent.to, sent.cc, parseaddr(sent.from_email)[1]) == (shown.to, shown.cc, shown.mailbox)
    assert shown.to == ["claire@example.com"] and shown.cc == ["paul@example.com", "marc@xn--exmple-cua.com"]
    assert sorted(address for email in mail.outbox for address in email.recipients()) == sorted([*shown.to, *shown.cc])


def test_a_case_with_no_email_to_send_to_says_the_reply_will_not_be_emailed(client, agent, team):
    case = open_case(identities=[IdentityInput(IdentityKind.PHONE, "+33612345678")], channel=Channel.PHONE,
                     subject="Appel", body="Le client appelle pour son colis.", team=team).case
    client.force_login(agent)
    text = page(client, case)
    assert '<p class="notice" id="reply-not-sent">No sender for channel Phone: send this reply by that channel yourself.</p>' in text
    assert 'id="copies"' not in text  # nobody to copy on a reply that is not emailed


def test_an_agent_adds_people_in_copy_and_the_next_reply_copies_them(client, agent, team, committed):
    case = email_case(cc="paul@example.com")
    client.force_login(agent)
    response = client.post(copies_url(case), {"copies-add": "Jean@Exämple.com, luc@example.com; paul@example.com"}, **HX)
    assert response.status_code == 200
    case.refresh_from_db()
    assert case.cc_addresses == ["paul@example.com", "jean@xn--exmple-cua.com", "luc@example.com"]
    assert '<span class="recipients-label">Cc:</span> paul@example.com, jean@exämple.com, luc@example.com</div>' in response.content.decode()
    assert audit_rows(case) == [{"added": ["jean@xn--exmple-cua.com", "luc@example.com"], "removed": []}]
    assert AuditEvent.objects.get(kind=CaseAuditKind.COPIES_CHANGED).actor == agent

    with committed():
        add_reply(case=case, author=agent, body="Je mets Jean et Luc en copie.")
    assert mail.outbox[0].cc == ["paul@example.com", "jean@xn--exmple-cua.com", "luc@example.com"]


def test_an_agent_takes_someone_out_of_copy_without_javascript(client, agent, team, committed):
    case = email_case()
    client.force_login(agent)
    response = client.post(copies_url(case), {"copies-remove": "paul@example.com"})
    assert response.status_code == 302 and response["Location"].endswith(f"/cases/{case.pk}/#reply")
    case.refresh_from_db()
    assert case.cc_addresses == ["marc@xn--exmple-cua.com"]
    assert audit_rows(case) == [{"added": [], "removed": ["paul@example.com"]}]
    with committed():
        add_reply(case=case, author=agent, body="Paul n'est plus en copie.")
    assert [address for email in mail.outbox for address in email.recipients()] == ["claire@example.com", "marc@xn--exmple-cua.com"]


@pytest.mark.parametrize(("typed", "error"), [
    ("luc@example.com, pas-une-adresse", "“pas-une-adresse” is not a valid email address."),
    ("Claire@Example.com", "“claire@example.com” is the customer&#x27;s own address: replies go to it already."),
    (MAILBOX, f"“{MAILBOX}” is one of our own mailboxes: replies are sent from it, not to it."),
])
def test_an_address_that_cannot_be_copied_is_refused_on_the_field_with_nothing_written(client, agent, team, typed, error):
    case = email_case()
    client.force_login(agent)
    response = client.post(copies_url(case), {"copies-add": typed}, **HX)
    assert response.status_code == 400
    text = response.content.decode()
    assert f'<p class="error" id="id_copies-add-error">{error}</p>' in text
    assert '<details class="copies-edit" id="copies" open>' in text  # the error is in sight
    case.refresh_from_db()
    assert case.cc_addresses == ["paul@example.com", "marc@xn--exmple-cua.com"]
    assert audit_rows(case) == []


def test_a_user_who_cannot_change_the_case_cannot_change_its_copies(client, team):
    reader = UserFactory(username="reader")
    reader.user_permissions.add(*Permission.objects.filter(content_type__app_label="cases",
                                                           codename__in=["view_case", "add_message", "view_all_cases"]))
    case = email_case()
    client.force_login(reader)
    text = page(client, case)
    assert '<span class="recipients-label">Cc:</span> paul@example.com' in text  # who the reply goes to, yes
    assert 'id="copies"' not in text  # but no form to change it
    assert client.post(copies_url(case), {"copies-add": "luc@example.com"}).status_code == 403
    case.refresh_from_db()
    assert case.cc_addresses == ["paul@example.com", "marc@xn--exmple-cua.com"]
    assert audit_rows(case) == []


def test_a_change_of_copies_is_sent_as_case_updated_and_nothing_is_sent_when_nothing_changed(agent, team):
    WebhookEndpoint.objects.create(name="CRM", url="https://crm.example/hooks")
    case = email_case(cc="paul@example.com")
    before = WebhookDelivery.objects.filter(event="case.updated").count()
    change_case_copies(case=case, actor=agent, add=["luc@example.com"], remove=["paul@example.com"])
    change_case_copies(case=case, actor=agent, add=["luc@example.com"], remove=["nobody@example.com"])  # no change
    [delivery] = WebhookDelivery.objects.filter(event="case.updated").order_by("id")[before:]
    assert delivery.payload["data"]["changes"] == {"cc_addresses": {"from": ["paul@example.com"], "to": ["luc@example.com"]}}
    assert len(audit_rows(case)) == 1


def test_copies_are_capped_as_the_intake_caps_them(agent, team):
    case = email_case(cc="paul@example.com")
    with pytest.raises(ValidationError) as refused:
        change_case_copies(case=case, actor=agent, add=[f"p{number}@example.com" for number in range(MAX_ADDRESSES)])
    assert refused.value.message_dict == {"add": [f"At most {MAX_ADDRESSES} addresses."]}
    case.refresh_from_db()
    assert case.cc_addresses == ["paul@example.com"]
