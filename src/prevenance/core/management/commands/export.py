"""prevenance export KIND FILE — writes what `prevenance import KIND FILE` reads back."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from prevenance.core.csvio import exporters, run_export


class Command(BaseCommand):
    help = "Export customers, consents, orders or interactions as CSV (UTF-8, comma, ISO dates). FILE '-' is stdout."

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=sorted(exporters()))
        parser.add_argument("file")

    def handle(self, *args, kind, file, **options):
        if file == "-":
            count = run_export(kind=kind, stream=self.stdout._out)
            self.stderr.write(_("%(n)d rows exported.") % {"n": count})
            return
        try:
            with Path(file).open("w", encoding="utf-8", newline="") as stream:
                count = run_export(kind=kind, stream=stream)
        except OSError as exc:
            raise CommandError(_("Cannot write %(file)s: %(reason)s") % {"file": file, "reason": exc.strerror}) from exc
        self.stdout.write(_("%(n)d rows exported to %(file)s.") % {"n": count, "file": file})
