"""CSV import and export: generic reading and writing here, one importer/exporter per kind
registered by each app's AppConfig.ready() (core cannot import the apps above it).

An import is one transaction: each row is entirely in or entirely out, and a crash or an
unreadable file leaves nothing written. See docs/csv.md for the columns of each kind.
"""

import csv
import gc
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, Protocol

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from prevenance.core.choices import AuditKind
from prevenance.core.csvio.reading import (
    ENCODINGS,
    CellError,
    Column,
    CsvFileError,
    Row,
    decode,
    format_date,
    format_datetime,
    header_key,
    parse_choice,
    parse_date,
    parse_datetime,
    parse_decimal,
    parse_int,
    read_rows,
    value_key,
)
from prevenance.core.models import AuditEvent

__all__ = [
    "ENCODINGS", "CellError", "Column", "CsvFileError", "Exporter", "ImportReport", "Importer", "Row",
    "RowError", "exporters", "format_date", "format_datetime", "get_exporter", "get_importer", "header_key",
    "importers", "parse_choice", "parse_date", "parse_datetime", "parse_decimal", "parse_int", "register",
    "iter_export", "run_export", "run_import", "validation_errors", "value_key",
]

CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"


@dataclass(frozen=True)
class RowError:
    line: int
    column: str
    message: str

    def __str__(self) -> str:
        return _("line %(line)d, column %(column)s: %(message)s") % {
            "line": self.line, "column": self.column or "-", "message": self.message,
        }


# What an importer says about one row: CREATED / UPDATED / UNCHANGED, or its errors as
# (column, message) pairs — a row with errors was not written at all.
Outcome = str | list[tuple[str, str]]


class Importer(Protocol):
    kind: str
    label: Any
    columns: tuple[Column, ...]
    batch_size: int

    def import_batch(self, rows: list[Row], *, actor) -> list[Outcome]: ...


class Exporter(Protocol):
    kind: str
    label: Any
    columns: tuple[Column, ...]

    def rows(self, viewer=None) -> Iterator[dict[str, str]]:
        """Every row `viewer` may read (None: every row, for the command line)."""
        ...


@dataclass
class ImportReport:
    kind: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    failed_lines: set[int] = field(default_factory=set)

    @property
    def refused(self) -> int:
        return len(self.failed_lines)

    def add(self, row: Row, outcome: Outcome) -> None:
        if isinstance(outcome, str):
            setattr(self, outcome, getattr(self, outcome) + 1)
            return
        self.failed_lines.add(row.line)
        self.errors.extend(RowError(row.line, column, message) for column, message in outcome)

    def summary(self) -> dict[str, Any]:
        return {"kind": self.kind, "rows": self.rows, "created": self.created, "updated": self.updated,
                "unchanged": self.unchanged, "refused": self.refused}


_IMPORTERS: dict[str, Importer] = {}
_EXPORTERS: dict[str, Exporter] = {}


def register(*, importer: Importer | None = None, exporter: Exporter | None = None) -> None:
    if importer is not None:
        _IMPORTERS[importer.kind] = importer
    if exporter is not None:
        _EXPORTERS[exporter.kind] = exporter


def importers() -> dict[str, Importer]:
    return dict(_IMPORTERS)


def exporters() -> dict[str, Exporter]:
    return dict(_EXPORTERS)


def get_importer(kind: str) -> Importer:
    try:
        return _IMPORTERS[kind]
    except KeyError:
        raise CsvFileError(_("Unknown kind “%(kind)s”; use one of: %(choices)s.")
                           % {"kind": str(kind)[:40], "choices": ", ".join(sorted(_IMPORTERS))}) from None


def get_exporter(kind: str) -> Exporter:
    try:
        return _EXPORTERS[kind]
    except KeyError:
        raise CsvFileError(_("Unknown kind “%(kind)s”; use one of: %(choices)s.")
                           % {"kind": str(kind)[:40], "choices": ", ".join(sorted(_EXPORTERS))}) from None


def validation_errors(exc: ValidationError, columns: dict[str, str] | None = None) -> list[tuple[str, str]]:
    """A service's ValidationError as (column, message) pairs; `columns` renames fields to columns."""
    columns = columns or {}
    if hasattr(exc, "error_dict"):
        return [(columns.get(name, "" if name == "__all__" else name), message)
                for name, messages in exc.message_dict.items() for message in messages]
    return [("", message) for message in exc.messages]


def _batches(rows: Iterable[Row], size: int) -> Iterator[list[Row]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


def run_import(
    *, kind: str, data: bytes, encoding: str = "utf-8", actor=None, filename: str = "",
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import a whole file as one transaction and record the run in the audit log.

    Raises CsvFileError (nothing written) when the file cannot be read at all; rows that are
    refused are listed in the report with their line, column and reason.
    """
    importer = get_importer(kind)
    rows, unknown = read_rows(decode(data, encoding), importer.columns)
    report = ImportReport(kind=kind)
    if unknown:
        report.warnings.append(_("Ignored unknown columns: %(columns)s.") % {"columns": ", ".join(unknown)})
    # An import allocates millions of small objects that live until its end: the cyclic garbage
    # collector would scan them again and again (a third of the CPU time). It is paused, not
    # disabled for good: cycles made meanwhile are collected once it is back on.
    collecting = gc.isenabled()
    gc.disable()
    try:
        with transaction.atomic():
            for batch in _batches(rows, importer.batch_size):
                for row, outcome in zip(batch, importer.import_batch(batch, actor=actor), strict=True):
                    report.add(row, outcome)
                report.rows += len(batch)
                if progress is not None:
                    progress(len(batch))
            AuditEvent.objects.create(
                kind=AuditKind.IMPORT_RUN,
                actor=actor if getattr(actor, "is_authenticated", False) else None,
                subject_type="csv_import",
                subject_id=kind,
                payload={**report.summary(), "file": filename[:200], "encoding": encoding,
                         "first_errors": [str(e) for e in report.errors[:20]]},
            )
    finally:
        if collecting:
            gc.enable()
    return report


class _Echo:
    """A file-like object that hands back what is written: lets csv.writer feed a generator."""

    def write(self, value: str) -> str:
        return value


def iter_export(*, kind: str, viewer=None) -> Iterator[str]:
    """Every row of a kind `viewer` may read (None: all, for the command line) as CSV lines
    (UTF-8, comma, ISO dates): what run_import reads back."""
    exporter = get_exporter(kind)
    writer = csv.DictWriter(_Echo(), fieldnames=[column.name for column in exporter.columns], lineterminator="\n")
    yield writer.writeheader()
    for row in exporter.rows(viewer):
        yield writer.writerow(row)


def run_export(*, kind: str, stream: io.TextIOBase) -> int:
    """Write an export to a text stream; returns the number of data rows."""
    lines = 0
    for line in iter_export(kind=kind):
        stream.write(line)
        lines += 1
    return lines - 1  # the header is not a row


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class SpreadsheetDialect:
    """How the spreadsheet of a reader opens a CSV file they download. Always UTF-8 with a byte
    order mark (without it Excel reads the accents as Windows-1252); a comma and numbers with
    a dot, or, for a French reader, a semicolon and decimal commas as French Excel expects (it
    reads a comma-separated file as one column)."""

    delimiter: str = ","
    decimal_mark: str = "."

    def number(self, value) -> str:
        return str(value).replace(".", self.decimal_mark)

    def writer(self, out):
        """A csv writer on `out` (a text stream), after the byte order mark."""
        out.write("\ufeff")
        return csv.writer(out, lineterminator="\n", delimiter=self.delimiter)


def spreadsheet_dialect(language: str | None) -> SpreadsheetDialect:
    """The dialect for a reader of `language` (the page's language when they download)."""
    if (language or "").lower().startswith("fr"):
        return SpreadsheetDialect(delimiter=";", decimal_mark=",")
    return SpreadsheetDialect()


def spreadsheet_safe(value) -> str:
    """A cell for a CSV people open in a spreadsheet: text starting like a formula (= + - @)
    gets a leading ' so the spreadsheet shows it instead of running it. Not for files meant to
    be imported back (a phone +33... would change)."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text
