"""Turning the bytes of a CSV file into rows keyed by our column names, and cells into values.

French exports differ from English ones in three ways handled here: semicolons, accented
headers, and dates and amounts written the French way.
"""

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from django.utils import timezone
from django.utils.translation import gettext as _

from prevenance.core.text import search_key

ENCODINGS = ("utf-8", "cp1252")
DELIMITERS = (";", ",", "\t")
_PUNCTUATION = re.compile(r"[\s_\-.'’/()]+")


class CsvFileError(Exception):
    """The file as a whole cannot be read: nothing is imported."""

    def __init__(self, message: str, *, line: int | None = None):
        super().__init__(message)
        self.message = message
        self.line = line


@dataclass(frozen=True)
class Column:
    """One documented column: its name (as exported) and the other headers that mean it."""

    name: str
    aliases: tuple[str, ...] = ()
    required: bool = False

    def keys(self) -> set[str]:
        return {header_key(self.name), *(header_key(a) for a in self.aliases)}


@dataclass(frozen=True)
class Row:
    line: int
    values: dict[str, str]

    def get(self, column: str) -> str:
        return self.values.get(column, "")


@lru_cache(maxsize=4096)
def header_key(text: str) -> str:
    """Fold a header so "Prénom", " PRENOM " and "pré-nom" all match; also used for enum values."""
    return _PUNCTUATION.sub(" ", search_key(text)).strip()


def value_key(text: str) -> str:
    """Fold a cell holding an enumeration value: "Mobile app" and "mobile-app" are "mobile_app"."""
    return header_key(text).replace(" ", "_")


def decode(data: bytes, encoding: str) -> str:
    encoding = (encoding or "utf-8").lower().replace("_", "-")
    if encoding not in ENCODINGS:
        raise CsvFileError(_("Unknown encoding “%(enc)s”; use one of: %(choices)s.") % {"enc": encoding[:20], "choices": ", ".join(ENCODINGS)})
    try:
        # utf-8-sig drops the byte-order mark Excel puts at the start of "CSV UTF-8" files.
        return data.decode("utf-8-sig" if encoding == "utf-8" else encoding)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise CsvFileError(
            _("Line %(line)d is not valid %(enc)s text. If the file comes from Excel or an older "
              "Windows program, try the encoding cp1252 (--encoding cp1252).") % {"line": line, "enc": encoding},
            line=line,
        ) from exc


def sniff_delimiter(first_line: str) -> str:
    """The separator used in the header line: French spreadsheets write semicolons."""
    counts = {d: first_line.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def match_header(header: list[str], columns: Iterable[Column]) -> tuple[list[str | None], list[str]]:
    """Map each header cell to a column name (None if unknown); also the unknown headers' names.

    Two headers meaning the same column are refused: we would have to guess which one wins.
    """
    by_key: dict[str, str] = {}
    for column in columns:
        for key in column.keys():
            by_key[key] = column.name
    mapping: list[str | None] = []
    seen: dict[str, str] = {}
    unknown: list[str] = []
    for cell in header:
        name = by_key.get(header_key(cell))
        if name is None:
            if cell.strip():
                unknown.append(cell.strip())
            mapping.append(None)
            continue
        if name in seen:
            raise CsvFileError(
                _("The columns “%(first)s” and “%(second)s” both mean “%(name)s”: keep only one.")
                % {"first": seen[name], "second": cell.strip(), "name": name},
                line=1,
            )
        seen[name] = cell.strip()
        mapping.append(name)
    missing = [c.name for c in columns if c.required and c.name not in seen]
    if missing:
        raise CsvFileError(_("Missing required columns: %(columns)s.") % {"columns": ", ".join(missing)}, line=1)
    return mapping, unknown


def read_rows(text: str, columns: tuple[Column, ...]) -> tuple[Iterator[Row], list[str]]:
    """Check the header and return an iterator over the data rows, and the ignored headers."""
    if not text.strip():
        raise CsvFileError(_("The file is empty."))
    first_line = text.split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sniff_delimiter(first_line))
    try:
        header = next(reader)
    except csv.Error as exc:
        raise CsvFileError(_("The header line cannot be read: %(reason)s.") % {"reason": exc}, line=1) from exc
    mapping, unknown = match_header(header, columns)
    if not any(mapping):
        raise CsvFileError(_("No known column in the header; see the documented columns."), line=1)
    if not text.split("\n", 1)[1:] or not text.split("\n", 1)[1].strip():
        raise CsvFileError(_("The file has a header but no data rows."), line=1)
    return _rows(reader, mapping), unknown


def _rows(reader, mapping: list[str | None]) -> Iterator[Row]:
    line = reader.line_num
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            # A broken quote or an oversized field: the rest of the file cannot be trusted.
            raise CsvFileError(_("Line %(line)d cannot be read: %(reason)s.") % {"line": reader.line_num, "reason": exc},
                               line=reader.line_num) from exc
        start, line = line + 1, reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        values = {name: cell.strip() for name, cell in zip(mapping, cells, strict=False) if name is not None}
        yield Row(line=start, values=values)


# ---- cells -----------------------------------------------------------------------------

_FR_DATE = re.compile(r"^(\d{1,2})[/.](\d{1,2})[/.](\d{4})(?:[ T](\d{1,2})[:h](\d{2})(?::(\d{2}))?)?$")


class CellError(ValueError):
    pass


def parse_datetime(text: str) -> dt.datetime:
    """ISO 8601 (with or without offset) or French DD/MM/YYYY [HH:MM[:SS]]; naive is local time."""
    text = text.strip()
    match = _FR_DATE.match(text)
    try:
        if match:
            day, month, year, hour, minute, second = match.groups()
            value = dt.datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0))
        else:
            value = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise CellError(_("“%(value)s” is not a date (use YYYY-MM-DD or DD/MM/YYYY, optionally with a time).")
                        % {"value": text[:40]}) from exc
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    return value


@lru_cache(maxsize=65536)  # birth dates repeat a lot in a big file
def parse_date(text: str) -> dt.date:
    text = text.strip()
    match = _FR_DATE.match(text)
    try:
        if match:
            day, month, year = match.groups()[:3]
            return dt.date(int(year), int(month), int(day))
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise CellError(_("“%(value)s” is not a date (use YYYY-MM-DD or DD/MM/YYYY).") % {"value": text[:40]}) from exc


def parse_decimal(text: str) -> Decimal:
    """"12.50", "12,50", "1 234,56", "1.234,56" and "1,234.56" are all accepted."""
    raw = text
    text = re.sub(r"[\s\u00a0\u202f']", "", text)
    if "," in text and "." in text:
        # The separator written last is the decimal one; the other groups thousands.
        decimal_sep = "," if text.rfind(",") > text.rfind(".") else "."
        text = text.replace("." if decimal_sep == "," else ",", "").replace(",", ".")
    else:
        text = text.replace(",", ".")
    try:
        value = Decimal(text)
        if not value.is_finite():
            raise InvalidOperation
    except InvalidOperation as exc:
        raise CellError(_("“%(value)s” is not a number.") % {"value": raw[:40]}) from exc
    return value


def parse_int(text: str) -> int:
    try:
        return int(re.sub(r"[\s\u00a0\u202f]", "", text))
    except ValueError as exc:
        raise CellError(_("“%(value)s” is not a whole number.") % {"value": text[:40]}) from exc


def parse_choice(text: str, values: Iterable[str], aliases: dict[str, str] | None = None) -> str:
    """An enumeration value, folded; unknown values are returned as given for the service to refuse."""
    key = value_key(text)
    if key in values:
        return key
    return (aliases or {}).get(key, text.strip())


# ---- writing ---------------------------------------------------------------------------


def format_datetime(value: dt.datetime | None) -> str:
    # With its offset, so a re-import lands on the same instant whatever the server's zone.
    return timezone.localtime(value).isoformat(timespec="seconds") if value else ""


def format_date(value: dt.date | None) -> str:
    return value.isoformat() if value else ""


# French and common spellings of channel values, folded with value_key().
CHANNEL_ALIASES = {
    "e_mail": "email", "mail": "email", "courriel": "email", "telephone": "phone", "tel": "phone",
    "appel": "phone", "chat_en_direct": "chat", "tchat": "chat", "reseau_social": "social",
    "reseaux_sociaux": "social", "site": "web", "site_web": "web", "website": "web", "internet": "web",
    "application": "mobile_app", "app": "mobile_app", "application_mobile": "mobile_app",
    "magasin": "store", "boutique": "store", "visite": "field_visit", "courrier": "postal",
    "postal_mail": "postal", "visio": "video", "visioconference": "video",
}
