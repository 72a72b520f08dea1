import re
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from prevenance.customers.models import Customer, Order
from prevenance.customers.tests.factories import CustomerFactory, UserFactory
from prevenance.interactions.models import Interaction

PASSWORD_LINE = re.compile(r"Username: (\S+)  Password: (\S+)")


def bootstrap(**options) -> str:
    out = StringIO()
    call_command("bootstrap", verbosity=0, stdout=out, **options)
    return out.getvalue()


def snapshot() -> dict:
    User = get_user_model()
    return {
        "customers": Customer.objects.count(),
        "orders": Order.objects.count(),
        "interactions": Interaction.objects.count(),
        "users": list(User.objects.order_by("pk").values_list("username", "password", "is_superuser")),
    }


def test_first_bootstrap_loads_the_demo_and_creates_the_admin_once(db):
    # given an empty installation
    # when bootstrap runs
    output = bootstrap(demo_customers=15)
    # then the demo company is there
    assert Customer.objects.count() >= 15
    assert Interaction.objects.exists()
    # and one administrator, superuser in the admin group, whose password was printed once
    (user,) = get_user_model().objects.filter(is_superuser=True)
    username, password = PASSWORD_LINE.search(output).groups()
    assert username == user.username == "admin"
    assert user.is_superuser and user.is_staff
    assert list(user.groups.values_list("name", flat=True)) == ["admin"]
    assert user.check_password(password)
    assert len(password) >= 16
    assert output.count(password) == 2  # before the demo's load and after it, nowhere else
    assert output.index(password) < output.index("Loading the demo company")
    assert output.rstrip().endswith("Prévenance is at http://127.0.0.1:8000/")


def test_second_bootstrap_changes_nothing_and_prints_no_password(db):
    # given a bootstrapped installation
    bootstrap(demo_customers=5)
    before = snapshot()
    # when bootstrap runs again
    output = bootstrap(demo_customers=5)
    # then nothing changed and only the address is printed
    assert snapshot() == before
    assert output == "Prévenance is at http://127.0.0.1:8000/\n"


def test_bootstrap_leaves_existing_users_and_customers_alone(db):
    # given an installation that already has a user and a customer
    UserFactory(username="marie", role="agent")
    CustomerFactory()
    before = snapshot()
    # when bootstrap runs / then no demo, no admin
    output = bootstrap(demo_customers=5)
    assert snapshot() == before
    assert "Password" not in output


def test_bootstrap_without_demo_only_creates_the_admin(db):
    output = bootstrap(demo_customers=0)
    assert Customer.objects.count() == 0
    assert PASSWORD_LINE.search(output) is not None


def test_bootstrap_refuses_a_negative_demo_size(db):
    with pytest.raises(CommandError, match="--demo-customers must be 0 or more"):
        bootstrap(demo_customers=-1)
    assert snapshot() == {"customers": 0, "orders": 0, "interactions": 0, "users": []}


def test_a_demo_load_stopped_halfway_has_shown_the_password_and_says_what_to_do(db, monkeypatch):
    def interrupted(**_options):
        CustomerFactory()  # some people written before Ctrl-C
        raise KeyboardInterrupt

    monkeypatch.setattr("prevenance.demo.management.commands.bootstrap.load_demo_company", interrupted)
    out = StringIO()
    with pytest.raises(CommandError) as stopped:
        call_command("bootstrap", verbosity=0, stdout=out, demo_customers=50)
    username, password = PASSWORD_LINE.search(out.getvalue()).groups()
    assert get_user_model().objects.get(username=username).check_password(password)
    assert "delete var/prevenance.sqlite3" in str(stopped.value)
