"""Mark as spam and blocked senders (docs/cases.md, "Spam and blocked senders"): the case closes
as spam and its sender is blocked; the sender's next email or contact form is kept aside,
unacknowledged; "Not spam" undoes both; the admin lists and unblocks."""

import uuid
from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from prevenance.cases.choices import (
    BlockedSenderAuditKind,
    CaseAuditKind,
    CaseStatus,
    MessageKind,
    SuspendedStatus,
    SuspensionReason,
)
from prevenance.cases.models import BlockedSender, Case, Message, SuspendedMessage
from prevenance.cases.selectors.blocked_senders import is_blocked_sender
from prevenance.cases.selectors.dashboard import Period, case_dashboard
from prevenance.cases.selectors.inbox import ALL, OPEN, inbox, inbox_count, resolve_view
from prevenance.cases.services import (
    add_reply,
    change_status,
    ensure_default_templates,
    ingest_email,
)
from prevenance.cases.services.email_intake import Outcome
from prevenance.cases.services.outbound import deliver, send_due_emails
from prevenance.cases.services.spam import block_sender, mark_as_spam, mark_not_spam, unblock_sender
from prevenance.cases.services.suspended import recover_suspended
from prevenance.cases.tests.factories import open_email_case
from prevenance.core.choices import Channel
from prevenance.core.models import AuditEvent, WebhookDelivery
from prevenance.core.roles import SUPERVISOR, assign_role
from prevenance.customers.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SPAMMER = "Promo@Cheap-Pills.example"


def eml(*, sender: str = SPAMMER, message_id: str, subject: str = "Offre exceptionnelle", headers: str = "") -> bytes:
    return (
        f"From: {sender}\r\nTo: service.client@boutique-lumiere.fr\r\nSubject: {subject}\r\n"
        f"Message-ID: <{message_id}>\r\nDate: Mon, 23 Nov 2026 10:00:00 +0100\r\n{headers}"
        f"Content-Type: text/plain; charset=utf-8\r\n\r\nAchetez maintenant.\r\n"
    ).encode()


@pytest.fixture(autouse=True)
def _acknowledged(settings, tmp_path):
    """New cases are acknowledged, as after `prevenance bootstrap`; files out of the checkout."""
    settings.MEDIA_ROOT = tmp_path
    settings.DEFAULT_FROM_EMAIL = "care@prevenance.test"
    ensure_default_templates()


def spam_case(django_capture_on_commit_callbacks) -> Case:
    """A case a spammer's first email opened (acknowledged, as every new case is)."""
    with django_capture_on_commit_callbacks(execute=True):
        result = ingest_email(raw=eml(message_id="spam-1@cheap-pills.example"))
    assert result.outcome == Outcome.CREATED
    return result.case


def outbound_count() -> int:
    return Message.objects.filter(kind=MessageKind.OUTBOUND).count()


class TestMarking:
    def test_marking_closes_as_spam_blocks_the_sender_and_audits(self, agent, django_capture_on_commit_callbacks):
        case = spam_case(django_capture_on_commit_callbacks)
        case = mark_as_spam(case=case, actor=agent)
        assert (case.status, case.spam) == (CaseStatus.CLOSED, True)
        assert case.closed_at is not None and case.resolved_at is None  # closed, never resolved: no survey
        blocked = BlockedSender.objects.get()
        assert (blocked.address, blocked.blocked_by, blocked.from_case_id) == ("promo@cheap-pills.example", agent, case.pk)
        kinds = set(AuditEvent.objects.filter(actor=agent).values_list("kind", flat=True))
        assert {CaseAuditKind.MARKED_SPAM, CaseAuditKind.STATUS_CHANGED, BlockedSenderAuditKind.BLOCKED} <= kinds

    def test_no_webhook_case_resolved_and_case_updated_shows_spam(self, agent, receiver, django_capture_on_commit_callbacks):
        case = spam_case(django_capture_on_commit_callbacks)
        with django_capture_on_commit_callbacks(execute=True):
            mark_as_spam(case=case, actor=agent)
        events = list(WebhookDelivery.objects.order_by("id").values_list("event", "payload"))
        assert "case.resolved" not in [event for event, _payload in events]
        updated = [payload for event, payload in events if event == "case.updated"][-1]
        assert updated["data"]["object"]["spam"] is True
        assert updated["data"]["changes"]["status"] == {"from": "new", "to": "closed"}
        with django_capture_on_commit_callbacks(execute=True):
            mark_not_spam(case=case, actor=agent)
        event, payload = WebhookDelivery.objects.order_by("id").values_list("event", "payload").last()
        assert event == "case.updated" and payload["data"]["object"]["spam"] is False
        assert payload["data"]["changes"] == {"status": {"from": "closed", "to": "open"}, "spam": {"from": True, "to": False}}

    def test_an_acknowledgement_still_in_the_outbox_is_not_sent(self, agent, django_capture_on_commit_callbacks):
        case = spam_case(django_capture_on_commit_callbacks)  # its acknowledgement waits for the sweep
        mark_as_spam(case=case, actor=agent)
        with django_capture_on_commit_callbacks(execute=True):
            send_due_emails(now=timezone.now() + timedelta(hours=1))
        assert mail.outbox == []
        ack = case.messages.get(kind=MessageKind.OUTBOUND)
        assert ack.delivery_due_at is None and ack.sent_at is None

    def test_an_acknowledgement_whose_send_task_is_already_queued_is_not_sent(self, agent, django_capture_on_commit_callbacks):
        # Given a new case whose acknowledgement's send task was queued at intake (workers behind)
        case = spam_case(django_capture_on_commit_callbacks)
        ack = case.messages.get(kind=MessageKind.OUTBOUND)
        # When the case is marked as spam, then the queued task runs
        mark_as_spam(case=case, actor=agent)
        assert deliver(message_id=ack.pk) is False
        # Then nothing was sent to the spammer, and the message says why
        assert mail.outbox == []
        ack.refresh_from_db()
        assert (ack.sent_at, ack.delivery_due_at, ack.send_error) == (None, None, "Not sent: the case was marked as spam.")

    def test_refused_after_a_reply_to_the_customer_and_nothing_changes(self, agent, django_capture_on_commit_callbacks):
        case = spam_case(django_capture_on_commit_callbacks)
        add_reply(case=case, author=agent, body="Bonjour, de quoi s'agit-il ?")
        with pytest.raises(ValidationError) as refused:
            mark_as_spam(case=case, actor=agent)
        assert refused.value.message_dict == {"case": ["The customer was already answered on this case: it is not spam."]}
        case.refresh_from_db()
        assert (case.status, case.spam) == (CaseStatus.OPEN, False) and not BlockedSender.objects.exists()

    def test_refused_on_a_case_not_opened_by_email_or_form(self, agent):
        case = open_email_case("marc@example.com", channel=Channel.PHONE).case
        with pytest.raises(ValidationError):
            mark_as_spam(case=case, actor=agent)
        assert not BlockedSender.objects.exists()

    def test_refused_on_a_closed_case(self, agent, django_capture_on_commit_callbacks):
        case = spam_case(django_capture_on_commit_callbacks)
        change_status(case=case, status=CaseStatus.CLOSED, actor=agent)
        with pytest.raises(ValidationError):
            mark_as_spam(case=case, actor=agent)
        assert not BlockedSender.objects.exists()

    def test_a_web_form_case_can_be_marked(self, agent):
        case = open_email_case("bot@spam.example", channel=Channel.WEB).case
        mark_as_spam(case=case, actor=agent)
        assert is_blocked_sender("BOT@spam.example")


class TestOutOfViewsAndFigures:
    def test_a_spam_case_leaves_every_inbox_view_and_the_dashboard(self, supervisor, django_capture_on_commit_callbacks):
        case = spam_case(django_capture_on_commit_callbacks)
        other = open_email_case("claire@example.com").case
        change_status(case=other, status=CaseStatus.CLOSED, actor=supervisor)
        now = timezone.now()
        period = Period(start=now - timedelta(days=1), end=now + timedelta(hours=1))
        before = case_dashboard(supervisor, period)
        mark_as_spam(case=case, actor=supervisor)
        for view in (OPEN, ALL):
            assert case.pk not in [item.pk for item in inbox(supervisor, view=view).items]
        assert [item.pk for item in inbox(supervisor, view=ALL).items] == [other.pk]  # a plain closed case stays
        assert inbox_count(supervisor, view=resolve_view(supervisor, ALL)) == 1
        after = case_dashboard(supervisor, period)
        assert sum(b.count for b in before.backlog_by_status) == 1 and sum(b.count for b in after.backlog_by_status) == 0
        email_before = [line for line in before.contacts.lines if line.channel == Channel.EMAIL][0]
        email_after = [line for line in after.contacts.lines if line.channel == Channel.EMAIL][0]
        assert (email_before.cases, email_after.cases) == (2, 1)
        assert email_after.contacts == email_before.contacts - 1  # the spammer's message is no contact

    def test_pages_of_all_cases_skip_spam_without_skipping_or_repeating_other_cases(self, supervisor):
        # Given six closed cases from six senders, two of them marked as spam
        cases = [open_email_case(f"sender{n}@example.com").case for n in range(6)]
        for case in cases[1::3]:
            mark_as_spam(case=case, actor=supervisor)
        for case in cases:
            if not Case.objects.get(pk=case.pk).spam:
                change_status(case=case, status=CaseStatus.CLOSED, actor=supervisor)
        # When a supervisor reads "All cases" two by two, following "Load more"
        seen, cursor, sizes = [], None, []
        while True:
            page = inbox(supervisor, view=ALL, limit=2, cursor=cursor)
            seen += [item.pk for item in page.items]
            sizes.append(len(page.items))
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        # Then every case not marked as spam shows once, and no spam case shows
        spam = {case.pk for case in cases[1::3]}
        assert sorted(seen) == sorted(case.pk for case in cases if case.pk not in spam)
        assert len(seen) == len(set(seen)) == 4
        assert sizes == [1, 2, 1]  # the pages holding a spam case show one row fewer
        assert inbox_count(supervisor, view=resolve_view(supervisor, ALL)) == 4


class TestIntake:
    def test_the_blocked_senders_next_email_is_kept_aside_unacknowledged(self, agent, django_capture_on_commit_callbacks):
        mark_as_spam(case=spam_case(django_capture_on_commit_callbacks), actor=agent)
        cases, sent = Case.objects.count(), outbound_count()
        raw = eml(sender="PROMO@cheap-pills.EXAMPLE", message_id="spam-2@cheap-pills.example")  # blocked whatever its case
        with django_capture_on_commit_callbacks(execute=True):
            result = ingest_email(raw=raw)
            send_due_emails(now=timezone.now() + timedelta(hours=1))
        assert (result.outcome, result.reason) == (Outcome.SUSPENDED, SuspensionReason.SENDER_BLOCKED)
        kept = SuspendedMessage.objects.get()
        assert (kept.reason, kept.status, kept.subject) == (SuspensionReason.SENDER_BLOCKED, SuspendedStatus.WAITING, "Offre exceptionnelle")
        assert kept.raw_bytes() is not None  # nothing the sender wrote is lost
        assert (Case.objects.count(), outbound_count(), mail.outbox) == (cases, sent, [])
        # The same email delivered again is kept once.
        assert ingest_email(raw=raw).suspended == kept
        assert SuspendedMessage.objects.count() == 1

    def test_a_reply_threaded_to_the_spam_case_is_kept_aside_too(self, agent, django_capture_on_commit_callbacks):
        case = spam_case(django_capture_on_commit_callbacks)
        mark_as_spam(case=case, actor=agent)
        result = ingest_email(raw=eml(message_id="spam-3@cheap-pills.example", headers="In-Reply-To: <spam-1@cheap-pills.example>\r\n"))
        assert result.outcome == Outcome.SUSPENDED and result.case is None
        assert case.messages.filter(kind=MessageKind.INBOUND).count() == 1

    def test_other_senders_still_open_cases(self, agent, django_capture_on_commit_callbacks):
        mark_as_spam(case=spam_case(django_capture_on_commit_callbacks), actor=agent)
        result = ingest_email(raw=eml(sender="claire@example.com", message_id="claire-1@example.com"))
        assert result.outcome == Outcome.CREATED

    def test_the_blocked_senders_contact_form_is_kept_aside_unacknowledged(self, client, agent):
        block_sender(address="Bot@Spam.example", actor=agent)
        data = {"first_name": "Bot", "last_name": "", "email": "bot@SPAM.example", "phone": "", "type": "question", "order": "",
                "subject": "Gagnez un iPhone", "body": "Cliquez ici.", "website": "", "submission_id": uuid.uuid4().hex}
        response = client.post("/cases/contact/", data, REMOTE_ADDR="203.0.113.9")
        assert response.status_code == 302 and response["Location"] == reverse("cases:contact_thanks")
        kept = SuspendedMessage.objects.get()
        assert (kept.channel, kept.reason, kept.form_data["email"]) == (Channel.WEB, SuspensionReason.SENDER_BLOCKED, "bot@SPAM.example")
        assert not Case.objects.exists() and not Message.objects.exists() and mail.outbox == []

    def test_the_suspended_page_names_the_reason_and_offers_unblocking(self, client, supervisor, agent):
        block_sender(address=SPAMMER, actor=agent)
        ingest_email(raw=eml(message_id="spam-4@cheap-pills.example"))
        client.force_login(supervisor)
        html = client.get(reverse("cases:suspended")).content.decode()
        assert "Sender blocked as spam" in html
        assert 'name="unblock"' in html


class TestRecovery:
    def test_recovering_opens_the_case_and_the_sender_stays_blocked_unless_asked(self, supervisor, agent):
        block_sender(address=SPAMMER, actor=agent)
        kept = ingest_email(raw=eml(message_id="real-1@cheap-pills.example")).suspended
        case = recover_suspended(suspended_id=kept.pk, actor=supervisor, email=SPAMMER)
        assert case.channel == Channel.EMAIL and not case.spam
        assert case.messages.filter(kind=MessageKind.OUTBOUND).exists()  # acknowledged as any recovered message
        assert is_blocked_sender(SPAMMER)
        kept.refresh_from_db()
        assert (kept.status, kept.case_id) == (SuspendedStatus.RECOVERED, case.pk)

    def test_recovering_with_unblock_unblocks_from_the_page(self, client, supervisor, agent):
        block_sender(address=SPAMMER, actor=agent)
        kept = ingest_email(raw=eml(message_id="real-2@cheap-pills.example")).suspended
        client.force_login(supervisor)
        response = client.post(reverse("cases:suspended_recover", kwargs={"suspended_id": kept.pk}),
                               {"email": "promo@cheap-pills.example", "unblock": "on"})
        assert response.status_code == 302
        assert not is_blocked_sender(SPAMMER)
        assert AuditEvent.objects.filter(kind=BlockedSenderAuditKind.UNBLOCKED, actor=supervisor).exists()
        assert ingest_email(raw=eml(message_id="real-3@cheap-pills.example")).outcome == Outcome.CREATED

    def test_unblocking_while_recovering_under_another_address_unblocks_the_sender(self, supervisor, agent):
        # Given a blocked sender's message, recovered under the address the person typed instead
        block_sender(address=SPAMMER, actor=agent)
        kept = ingest_email(raw=eml(message_id="real-4@cheap-pills.example")).suspended
        recover_suspended(suspended_id=kept.pk, actor=supervisor, email="claire@example.com", unblock=True)
        # Then the sender the message was kept for is unblocked, not the typed address
        assert not is_blocked_sender(SPAMMER)
        assert ingest_email(raw=eml(message_id="real-5@cheap-pills.example")).outcome == Outcome.CREATED


class TestNotSpam:
    def test_not_spam_reopens_and_unblocks(self, agent, django_capture_on_commit_callbacks):
        case = mark_as_spam(case=spam_case(django_capture_on_commit_callbacks), actor=agent)
        case = mark_not_spam(case=case, actor=agent)
        assert (case.status, case.spam, case.closed_at) == (CaseStatus.OPEN, False, None)
        assert not BlockedSender.objects.exists()
        assert AuditEvent.objects.filter(kind=CaseAuditKind.NOT_SPAM, subject_id=str(case.pk), actor=agent).exists()
        # The sender's next email opens a case again.
        assert ingest_email(raw=eml(message_id="spam-5@cheap-pills.example")).outcome == Outcome.CREATED

    def test_not_spam_refused_on_a_case_not_marked(self, agent, django_capture_on_commit_callbacks):
        case = spam_case(django_capture_on_commit_callbacks)
        with pytest.raises(ValidationError):
            mark_not_spam(case=case, actor=agent)


class TestBlockedList:
    def test_the_address_is_unique_whatever_its_case(self, agent):
        first = block_sender(address="Spam@Example.COM", actor=agent)
        again = block_sender(address="  spam@example.com ", actor=agent)
        assert first.pk == again.pk and BlockedSender.objects.get().address == "spam@example.com"
        assert is_blocked_sender("SPAM@example.com") and not is_blocked_sender("other@example.com")

    def test_a_bad_address_is_refused(self, agent):
        with pytest.raises(ValidationError) as refused:
            block_sender(address="pas une adresse", actor=agent)
        assert "address" in refused.value.message_dict and not BlockedSender.objects.exists()

    def test_unblocking_an_address_not_blocked_changes_nothing(self, agent):
        assert unblock_sender(address="nobody@example.com", actor=agent) is False


class TestCasePage:
    def test_the_action_is_offered_asked_first_and_marks(self, client, agent, django_capture_on_commit_callbacks):
        case = spam_case(django_capture_on_commit_callbacks)
        client.force_login(agent)
        page = client.get(reverse("cases:case", kwargs={"case_id": case.pk})).content.decode()
        assert 'id="mark-spam"' in page and "hx-confirm=\"Mark this case as spam?" in page
        response = client.post(reverse("cases:case_spam", kwargs={"case_id": case.pk}))
        assert response.status_code == 302
        case.refresh_from_db()
        assert case.spam and case.status == CaseStatus.CLOSED
        page = client.get(reverse("cases:case", kwargs={"case_id": case.pk})).content.decode()
        assert 'id="spam-banner"' in page and 'id="not-spam"' in page and 'id="mark-spam"' not in page
        response = client.post(reverse("cases:case_not_spam", kwargs={"case_id": case.pk}))
        assert response.status_code == 302
        case.refresh_from_db()
        assert not case.spam and case.status == CaseStatus.OPEN

    def test_not_offered_once_answered(self, client, agent, django_capture_on_commit_callbacks):
        case = spam_case(django_capture_on_commit_callbacks)
        add_reply(case=case, author=agent, body="Bonjour")
        client.force_login(agent)
        page = client.get(reverse("cases:case", kwargs={"case_id": case.pk})).content.decode()
        assert 'id="mark-spam"' not in page
        response = client.post(reverse("cases:case_spam", kwargs={"case_id": case.pk}))
        assert response.status_code == 400 and "already answered" in response.content.decode()
        assert not BlockedSender.objects.exists()

    def test_a_role_that_may_not_close_is_refused(self, client, marketer, django_capture_on_commit_callbacks):
        case = spam_case(django_capture_on_commit_callbacks)
        client.force_login(marketer)
        assert client.post(reverse("cases:case_spam", kwargs={"case_id": case.pk})).status_code == 403
        case.refresh_from_db()
        assert not case.spam and case.status == CaseStatus.NEW and not BlockedSender.objects.exists()

    def test_not_spam_refused_to_a_role_that_may_not_close(self, client, marketer, agent, django_capture_on_commit_callbacks):
        case = mark_as_spam(case=spam_case(django_capture_on_commit_callbacks), actor=agent)
        client.force_login(marketer)
        assert client.post(reverse("cases:case_not_spam", kwargs={"case_id": case.pk})).status_code == 403
        assert BlockedSender.objects.exists()

    def test_the_api_shows_the_spam_flag(self, client, agent, django_capture_on_commit_callbacks):
        case = mark_as_spam(case=spam_case(django_capture_on_commit_callbacks), actor=agent)
        client.force_login(agent)
        response = client.get(f"/api/v1/cases/{case.pk}")
        assert response.status_code == 200 and response.json()["spam"] is True


class TestAdmin:
    def test_the_admin_lists_searches_and_unblocks(self, client, agent, django_capture_on_commit_callbacks):
        case = mark_as_spam(case=spam_case(django_capture_on_commit_callbacks), actor=agent)
        block_sender(address="other@example.com", actor=agent)
        supervisor = UserFactory(username="nadia")
        assign_role(user=supervisor, role=SUPERVISOR)  # staff: the admin site is theirs
        client.force_login(supervisor)
        listing = client.get(reverse("admin:cases_blockedsender_changelist"), {"q": "PROMO@"}).content.decode()
        assert "promo@cheap-pills.example" in listing and "other@example.com" not in listing and case.reference in listing
        row = BlockedSender.objects.get(address="promo@cheap-pills.example")
        response = client.post(reverse("admin:cases_blockedsender_delete", args=[row.pk]), {"post": "yes"})
        assert response.status_code == 302
        assert not is_blocked_sender(SPAMMER) and is_blocked_sender("other@example.com")
        assert AuditEvent.objects.filter(kind=BlockedSenderAuditKind.UNBLOCKED, actor=supervisor).exists()
        # The case stays closed as spam: unblocking is not "Not spam".
        case.refresh_from_db()
        assert case.spam

    def test_an_agent_has_no_admin_list(self, client, agent):
        client.force_login(agent)
        assert client.get(reverse("admin:cases_blockedsender_changelist")).status_code in (302, 403)
