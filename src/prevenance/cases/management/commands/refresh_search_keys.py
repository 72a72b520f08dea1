from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from prevenance.cases.models import Case
from prevenance.core.refill import refill_derived_columns
from prevenance.core.text import name_search_keys, search_key
from prevenance.customers.choices import CustomerKind
from prevenance.customers.models import Customer


def _subject_key(subject: str) -> tuple[str]:
    return (search_key(subject)[:300],)


def _name_keys(kind: str, first_name: str, last_name: str, company_name: str) -> tuple[str, str]:
    return name_search_keys(first_name, last_name, company_name, company=kind == CustomerKind.COMPANY)


class Command(BaseCommand):
    help = (
        "Recompute the folded keys the search boxes read (case subjects, customer names) wherever they "
        "are out of date, in batches on a live database. Run it after a rolling upgrade: cases opened "
        "by servers of the previous release while a migration ran have no subject key."
    )

    def handle(self, *args, **options):
        cases = refill_derived_columns(Case, sources=("subject",), targets=("subject_key",), compute=_subject_key)
        customers = refill_derived_columns(
            Customer, sources=("kind", "first_name", "last_name", "company_name"), targets=("sort_key", "alt_key"),
            compute=_name_keys,
        )
        self.stdout.write(
            _("Search keys refreshed: %(cases)d cases, %(customers)d customers.") % {"cases": cases, "customers": customers}
        )
