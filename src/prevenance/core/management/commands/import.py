"""prevenance import KIND FILE — see docs/csv.md.

Exit codes: 0 every row imported; 2 the file was read and its valid rows imported, but some
rows were refused (listed with line, column and reason); 1 nothing imported (unreadable file,
unknown kind, bad header).
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError
from django.utils.translation import gettext as _
from tqdm import tqdm

from prevenance.core.csvio import ENCODINGS, CsvFileError, importers, run_import

EXIT_ROWS_REFUSED = 2
MAX_ERRORS_SHOWN = 50


class Command(BaseCommand):
    help = "Import a CSV file of customers, consents, orders or interactions (one transaction)."

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=sorted(importers()))
        parser.add_argument("file", type=Path)
        parser.add_argument("--encoding", default="utf-8", choices=ENCODINGS)
        parser.add_argument("--max-errors", type=int, default=MAX_ERRORS_SHOWN, help="Errors listed (all are counted).")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, kind, file, encoding, max_errors, no_progress, **options):
        try:
            data = file.read_bytes()
        except OSError as exc:
            raise CommandError(_("Cannot read %(file)s: %(reason)s") % {"file": file, "reason": exc.strerror}) from exc
        # Physical lines less the header: exact unless cells hold line breaks.
        total = max(data.count(b"\n") + (not data.endswith(b"\n")) - 1, 0)
        bar = tqdm(total=total, unit=_("rows"), disable=no_progress or total < 5000, file=self.stderr._out)
        try:
            report = run_import(kind=kind, data=data, encoding=encoding, filename=file.name, progress=bar.update)
        except CsvFileError as exc:
            raise CommandError(_("Nothing imported: %(reason)s") % {"reason": exc.message}) from exc
        except DatabaseError as exc:
            raise CommandError(_("Nothing imported, the database refused the import: %(reason)s") % {"reason": exc}) from exc
        finally:
            bar.close()
        for warning in report.warnings:
            self.stderr.write(warning)
        for error in report.errors[:max_errors]:
            self.stderr.write(str(error))
        if len(report.errors) > max_errors:
            self.stderr.write(_("… and %(n)d more errors.") % {"n": len(report.errors) - max_errors})
        self.stdout.write(
            _("%(rows)d rows: %(created)d created, %(updated)d updated, %(unchanged)d unchanged, %(refused)d refused.")
            % report.summary()
        )
        if report.refused:
            raise CommandError(_("%(n)d rows were refused; the others were imported.") % {"n": report.refused},
                               returncode=EXIT_ROWS_REFUSED)
