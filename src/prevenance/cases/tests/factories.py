"""Factories and a helper for case tests: random names, never random states (STYLE.md)."""

import factory

from prevenance.cases.models import CaseSettings, Team, TrustThreshold
from prevenance.cases.services import Intake, open_case
from prevenance.core.choices import Channel
from prevenance.customers.choices import IdentityKind
from prevenance.customers.services import IdentityInput


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
