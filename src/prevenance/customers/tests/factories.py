"""Factories: random names, never random states (STYLE.md)."""

import datetime as dt
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from prevenance.core.choices import Channel
from prevenance.customers.choices import IdentityKind, Language, OrderStatus
from prevenance.customers.models import Customer, Identity, Order


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@staff.example")
    password = factory.django.Password("correct horse battery")

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        if create and extracted:
            self.groups.add(Group.objects.get(name=extracted))


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    first_name = factory.Faker("first_name", locale="fr_FR")
    last_name = factory.Faker("last_name", locale="fr_FR")
    language = Language.FRENCH
    city = factory.Faker("city", locale="fr_FR")
    postal_code = factory.Faker("postcode", locale="fr_FR")
    country = "FR"


class IdentityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Identity

    customer = factory.SubFactory(CustomerFactory)
    kind = IdentityKind.EMAIL
    value = factory.Sequence(lambda n: f"person{n}@example.com")
    normalized = factory.LazyAttribute(lambda i: i.value.strip().casefold())
    source_channel = Channel.WEB


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    customer = factory.SubFactory(CustomerFactory)
    reference = factory.Sequence(lambda n: f"ORD-{n:07d}")
    ordered_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(days=3))
    amount = Decimal("49.90")
    currency = "EUR"
    channel = Channel.WEB
    status = OrderStatus.DELIVERED
