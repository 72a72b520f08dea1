from datetime import UTC, datetime

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from prevenance.cases.services import ensure_default_channel_costs, ensure_default_templates
from prevenance.customers.models import Customer
from prevenance.demo.services import create_first_admin, load_demo_company

DEMO_SEED = 1


class Command(BaseCommand):
    help = _(
        "First start of an installation (run by `make run` after migrate): loads the demo company when "
        "the database has no customers, and creates an administrator with a random password (shown "
        "once, stored nowhere) when no user exists. Running it again changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--demo-customers", type=int, default=5000,
                            help=_("size of the demo company; 0 loads no demo (default 5000)"))

    def handle(self, *args, demo_customers, **options):
        if demo_customers < 0:
            raise CommandError(_("--demo-customers must be 0 or more, got %(n)d.") % {"n": demo_customers})
        # Before the demo, whose care team are users too: the first administrator is only made
        # on an installation without any user.
        created = create_first_admin()
        if created is not None:
            # Shown before the demo's long load too: a load stopped halfway (Ctrl-C) must not
            # leave an administrator whose password nobody ever saw.
            self._show_password(*created)
        if demo_customers and not Customer.objects.exists():
            self.stdout.write(_("Loading the demo company (%(n)d customers)...") % {"n": demo_customers})
            try:
                summary = load_demo_company(customers=demo_customers, seed=DEMO_SEED, today=datetime.now(UTC).date(),
                                            progress=options["verbosity"] >= 1)
            except KeyboardInterrupt:
                raise CommandError(_(
                    "The demo load was stopped halfway: the people written so far are kept, and the next start "
                    "does not load the demo again. For the whole demo, start from an empty database: stop "
                    "everything, delete var/prevenance.sqlite3 and run make run again."
                )) from None
            self.stdout.write(_("Demo company loaded: %(customers)d customers, %(orders)d orders, "
                                "%(interactions)d interactions, %(cases)d cases.") % vars(summary))
        # Unit costs per channel for the dashboard's cost estimate; never overwrites one set by hand.
        ensure_default_channel_costs()
        templates = ensure_default_templates()
        if templates:
            self.stdout.write(_("Default reply templates and signatures created (French and English): %(n)d.") % {"n": templates})
        if created is not None:
            self._show_password(*created)  # again, after the demo's progress lines
        self.stdout.write(_("Prévenance is at %(url)s") % {"url": settings.PREVENANCE_BASE_URL.rstrip("/") + "/"})

    def _show_password(self, user, password: str) -> None:
        self.stdout.write(self.style.WARNING(
            _("Administrator account created. Username: %(username)s  Password: %(password)s\n"
              "Write the password down now: it is shown only this once.")
            % {"username": user.get_username(), "password": password}
        ))
