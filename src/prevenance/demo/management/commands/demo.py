from datetime import UTC, date, datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from prevenance.customers.models import Customer
from prevenance.demo.digest import demo_digest
from prevenance.demo.services import load_demo_company


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(_("--today must be a date written YYYY-MM-DD, got “%(value)s”.") % {"value": value}) from exc


class Command(BaseCommand):
    help = _(
        "Load the demo company (Maison Prévenance, a French home and fashion retailer) through the services. "
        "The same --seed and --today always build the same data. Refuses a database that already holds "
        "customers unless --force is given; with --force the demo is added to what is there: people already "
        "known by the same email or phone are recognised, not duplicated, and orders and touchpoints are "
        "recognised by their reference, but consent events are appended again. Contacts are fictional "
        "(.example emails, phone ranges reserved for fiction) up to about 60,000 phone numbers."
    )

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=200, help=_("how many people (default 200)"))
        parser.add_argument("--seed", type=int, default=1, help=_("random seed (default 1)"))
        parser.add_argument("--today", default=None, help=_("the day the history ends, YYYY-MM-DD (default: today)"))
        parser.add_argument("--force", action="store_true", help=_("add the demo even if customers exist"))
        parser.add_argument("--digest", action="store_true", help=_("print a fingerprint of the data at the end"))

    def handle(self, *args, customers, seed, today, force, digest, **options):
        if customers < 1:
            raise CommandError(_("--customers must be 1 or more, got %(n)d.") % {"n": customers})
        today = _day(today) if today else datetime.now(UTC).date()
        existing = Customer.objects.count()
        if existing and not force:
            raise CommandError(
                _("The database already holds %(n)d customers: the demo company is only loaded into an empty "
                  "database. Use --force to add it anyway.") % {"n": existing}
            )
        summary = load_demo_company(customers=customers, seed=seed, today=today, progress=options["verbosity"] >= 1)
        self.stdout.write(
            _("Demo company loaded: %(customers)d customers, %(orders)d orders, %(interactions)d interactions, "
              "%(conflicts)d identity conflicts (%(merged)d already merged).")
            % vars(summary)
        )
        if digest:
            self.stdout.write(_("digest: %(digest)s") % {"digest": demo_digest()})
