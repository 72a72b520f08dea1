"""Bounces of the consent confirmation email (the double opt-in link, sent with no case): a
mistyped address given on a web form is flagged like that of any of our emails, only when the
report returns the email's own delivery mark for it (docs/email-intake.md, "Bounces")."""

import io

import pytest
from django.core import mail
from django.core.management import call_command

from prevenance.cases.services import ingest_email
from prevenance.cases.services.email_intake import Outcome
from prevenance.cases.tests.test_email_bounces import dsn
from prevenance.core.choices import Channel
from prevenance.core.models import AuditEvent
from prevenance.customers.choices import ConsentPurpose
from prevenance.customers.delivery_marks import BOUNCE_TOKEN_HEADER, bounce_token
from prevenance.customers.services import grant_consent
from prevenance.customers.tests.factories import IdentityFactory
from prevenance.interactions.models import Interaction

pytestmark = pytest.mark.django_db

TYPO = "lea@exmaple.com"  # Léa meant example.com


@pytest.fixture(autouse=True)
def defaults(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.DEFAULT_FROM_EMAIL = "care@prevenance.test"


@pytest.fixture
def confirmation(django_capture_on_commit_callbacks):
    """Léa ticked the newsletter box on the web form with a mistyped address: the request, and
    the headers of the confirmation email as a report returns them (text/rfc822-headers)."""
    identity = IdentityFactory(value=TYPO)
    with django_capture_on_commit_callbacks(execute=True):
        event = grant_consent(customer=identity.customer, purpose=ConsentPurpose.MARKETING_EMAIL, channel=Channel.WEB)
    [sent] = mail.outbox
    headers = sent.message().as_string().split("\n\n", 1)[0].replace("\n", "\r\n") + "\r\n"
    return event, identity, headers


def refresh(identity):
    identity.refresh_from_db()
    return identity


def test_the_confirmation_email_carries_our_message_id_and_the_persons_mark(confirmation):
    event, _identity, _headers = confirmation
    [sent] = mail.outbox
    message = sent.message()
    message_id = message["Message-ID"].strip("<>")
    assert message_id.startswith(f"consent-{event.pk}.") and message_id.endswith("@prevenance.test")
    assert message[BOUNCE_TOKEN_HEADER] == bounce_token(message_id, TYPO)
    assert sent.recipients() == [TYPO]


def test_a_hard_bounce_of_the_confirmation_flags_the_address(confirmation):
    event, identity, headers = confirmation
    result = ingest_email(raw=dsn(returned=headers, recipients=[(TYPO, "failed", "5.1.1")]))
    # The address is flagged, once, and the report is kept on Léa's timeline (there is no case)
    assert (result.outcome, result.bounced, result.problems) == (Outcome.AUTOMATIC_ON_TIMELINE, (TYPO,), ())
    assert refresh(identity).bounced_at is not None
    assert AuditEvent.objects.filter(kind="identity.bounced").count() == 1
    assert result.interaction.customer_id == event.customer_id
    assert result.interaction.summary.startswith("Delivery failure")


def test_a_soft_bounce_of_the_confirmation_counts_once_per_report(confirmation):
    _event, identity, headers = confirmation
    raw = dsn(returned=headers, recipients=[(TYPO, "failed", "4.2.2")])
    assert ingest_email(raw=raw).outcome == Outcome.AUTOMATIC_ON_TIMELINE
    # The same report delivered again is a duplicate: not counted twice
    assert ingest_email(raw=raw).outcome == Outcome.DUPLICATE
    identity = refresh(identity)
    assert (identity.bounced_at, identity.soft_bounces) == (None, 1)


def _forged(event, headers):
    message_id = next(
        line.split(":", 1)[1].strip().strip("<>") for line in headers.split("\r\n") if line.lower().startswith("message-id:")
    )
    token = bounce_token(message_id, TYPO)
    return {
        "tampered mark": {"returned_id": message_id, "token": token[:-1] + ("A" if token[-1] != "A" else "B")},
        "another address's mark": {"returned_id": message_id, "token": bounce_token(message_id, "paul@example.com")},
        "no mark": {"returned_id": message_id},
        "unknown request": {"returned_id": (unknown := f"consent-{event.pk + 1000}.1.2.3@prevenance.test"),
                            "token": bounce_token(unknown, TYPO)},
    }


@pytest.mark.parametrize("forgery", ["tampered mark", "another address's mark", "no mark", "unknown request"])
@pytest.mark.parametrize("status", ["5.1.1", "4.2.2"])
def test_a_forged_report_of_the_confirmation_flags_nothing(confirmation, forgery, status):
    event, identity, headers = confirmation
    result = ingest_email(raw=dsn(**_forged(event, headers)[forgery], recipients=[(TYPO, "failed", status)]))
    # Not applied, not stored on Léa's timeline (an outsider's text), and the reason is given
    assert (result.outcome, result.bounced, result.interaction) == (Outcome.AUTOMATIC_IGNORED, (), None)
    assert [problem.detail for problem in result.problems] == [TYPO]
    identity = refresh(identity)
    assert (identity.bounced_at, identity.soft_bounces) == (None, 0)
    assert not AuditEvent.objects.filter(kind="identity.bounced").exists()
    assert not Interaction.objects.exists()


def test_the_mark_is_made_as_before_so_emails_already_sent_still_prove_their_address(settings):
    # The value the mark had when it was made in cases (same salt, same signed text)
    settings.SECRET_KEY = "pinned-key-for-the-test-0123456789-abcdefghijklmnopqrstuvwxyz"
    assert bounce_token("c1.abc@prevenance.test", " Claire@Example.com") == "GXNEfuRKW0HiT-J5-O2I8uzDSxnYnH3cibpd9_cNE0E"


def test_ingest_email_says_the_report_went_on_the_customers_timeline(confirmation, tmp_path):
    _event, _identity, headers = confirmation
    path = tmp_path / "bounce.eml"
    path.write_bytes(dsn(returned=headers, recipients=[(TYPO, "failed", "5.1.1")]))
    out = io.StringIO()
    call_command("ingest_email", str(path), stdout=out)
    assert out.getvalue().split(": ", 1)[1].strip() == (
        f"bounce stored on the customer's timeline, not answered (undeliverable from now on: {TYPO})")
