"""Factories and a helper for case tests: random names, never random states (STYLE.md)."""

import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import factory
from django.contrib.auth.models import Group
from django.utils import timezone

from prevenance.cases.models import (
    Case,
    CaseSettings,
    DelegationLimit,
    Gesture,
    SatisfactionSurvey,
    Team,
    TrustThreshold,
)
from prevenance.cases.services import Intake, answer_survey, open_case, request_gesture
from prevenance.core.choices import Channel
from prevenance.customers.choices import IdentityKind
from prevenance.customers.services import IdentityInput
from prevenance.customers.tests.factories import UserFactory


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Team {n}")

    @factory.post_generation
    def members(self, create, extracted, **kwargs):
        if create and extracted:
            self.members.add(*extracted)


def open_email_case(email: str = "claire@example.com", *, subject: str = "Colis abîmé", body: str = "Mon colis est arrivé abîmé.", **kwargs) -> Intake:
    """A case opened by an email from `email`, through the real intake service."""
    return open_case(
        identities=[IdentityInput(IdentityKind.EMAIL, email)],
        channel=kwargs.pop("channel", Channel.EMAIL),
        subject=subject,
        body=body,
        sender_address=email,
        **kwargs,
    )


def reopen_within(days: int) -> CaseSettings:
    """Set the reopen window, as an administrator does in the admin."""
    row, _created = CaseSettings.objects.update_or_create(pk=CaseSettings.SINGLETON_ID, defaults={"reopen_days": days})
    return row


def trust_without_proof(**amounts: str) -> None:
    """Set the trust-without-proof thresholds, e.g. trust_without_proof(EUR="5"); the others go."""
    TrustThreshold.objects.exclude(currency__in=amounts).delete()
    for currency, amount in amounts.items():
        TrustThreshold.objects.update_or_create(currency=currency, defaults={"max_amount": amount})


def limits_in(*currencies: str, amount: str = "1000") -> None:
    """Give a group of approvers-to-be a delegation limit in each of `currencies`, so that a
    gesture can be asked for in them (request_gesture refuses a currency nobody has one in)."""
    group, _created = Group.objects.get_or_create(name="limits in other currencies")
    for currency in currencies:
        DelegationLimit.objects.update_or_create(group=group, currency=currency, defaults={"max_amount": amount})


@contextmanager
def an_approver_who_leaves(*currencies: str) -> Iterator[None]:
    """Inside, an approver with the largest limit the columns hold in each of `currencies`
    (EUR by default), deleted on the way out: a gesture asked for inside then waits above
    every limit left, as one asked for before request_gesture refused that, or before the
    supervisor who could grant it left (docs/cases.md, "Above every limit")."""
    leaver = UserFactory(username=f"leaver-{secrets.token_hex(4)}", role="supervisor")
    for currency in currencies or ("EUR",):
        DelegationLimit.objects.create(user=leaver, currency=currency, max_amount="9999999999")
    try:
        yield
    finally:
        leaver.delete()  # and their limits with them


def gesture_waiting_without_limit(*, actor, amount: str, currency: str, case: Case | None = None) -> Gesture:
    """A gesture waiting for approval in a currency nobody has a delegation limit in any more:
    asked for while someone had one, which an administrator removed since (request_gesture
    refuses such a currency now; a gesture already waiting is left as it is)."""
    group, _created = Group.objects.get_or_create(name="former limit holders")
    limit = DelegationLimit.objects.create(group=group, currency=currency, max_amount="0.01")
    gesture = request_gesture(case=case or open_email_case().case, type="refund", amount=amount, currency=currency,
                              reason="Colis abîmé", actor=actor)
    limit.delete()
    return gesture


def answered_survey(case: Case, *, csat: int | None, ces: int | None = None, comment: str | None = None, at=None) -> SatisfactionSurvey:
    """A satisfaction survey of `case` sent at `at` (now by default) and answered then through
    the real answer service (sending needs templates and consent, which send_survey's tests cover)."""
    at = at or timezone.now()
    survey = SatisfactionSurvey.objects.create(
        case=case, customer_id=case.customer_id, token=secrets.token_urlsafe(32), agent_id=case.assignee_id,
        team_id=case.team_id, channel=case.channel, language="fr", sent_at=at,
    )
    return answer_survey(token=survey.token, csat=csat, ces=ces, comment=comment, now=at)
