"""The generic CSV machinery: decoding, separators, headers, French dates and amounts."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from prevenance.core.csvio import (
    CellError,
    Column,
    CsvFileError,
    exporters,
    importers,
    parse_date,
    parse_datetime,
    parse_decimal,
    run_import,
)
from prevenance.core.csvio.reading import decode, match_header, read_rows, sniff_delimiter

COLUMNS = (Column("first_name", ("prénom",)), Column("email", ("courriel", "e-mail")), Column("city", required=True))
PARIS = ZoneInfo("Europe/Paris")


def test_every_kind_is_registered_by_its_app():
    assert sorted(importers()) == sorted(exporters()) == ["consents", "customers", "interactions", "orders"]


@pytest.mark.parametrize("header", ["Prénom", " PRENOM ", "prenom", "PRÉNOM", "first_name", "First Name", "FIRST-NAME"])
def test_headers_match_whatever_the_case_accents_spaces_and_dashes(header):
    assert match_header([header, "city"], COLUMNS) == (["first_name", "city"], [])


def test_unknown_headers_are_returned_to_be_reported_and_mapped_to_nothing():
    assert match_header(["city", "Pointure", ""], COLUMNS) == (["city", None, None], ["Pointure"])


def test_two_headers_for_one_column_are_refused():
    with pytest.raises(CsvFileError) as excinfo:
        match_header(["E-mail", "city", "Courriel"], COLUMNS)
    assert excinfo.value.message == "The columns “E-mail” and “Courriel” both mean “email”: keep only one."


def test_a_missing_required_column_is_refused():
    with pytest.raises(CsvFileError) as excinfo:
        match_header(["email"], COLUMNS)
    assert excinfo.value.message == "Missing required columns: city."


@pytest.mark.parametrize(("line", "expected"), [("a;b;c", ";"), ("a,b,c", ","), ("a\tb", "\t"), ("single", ","),
                                                ('"Nom, prénom";ville;pays', ";")])
def test_the_separator_is_the_one_the_header_uses(line, expected):
    assert sniff_delimiter(line) == expected


def test_utf8_with_and_without_bom_and_cp1252():
    assert decode("\ufeffprénom".encode(), "utf-8") == "prénom"
    assert decode("prénom".encode(), "utf-8") == "prénom"
    assert decode("prénom €".encode("cp1252"), "cp1252") == "prénom €"
    with pytest.raises(CsvFileError) as excinfo:
        decode(b"ok\nok\n\xe9", "utf-8")
    assert excinfo.value.line == 3
    with pytest.raises(CsvFileError) as excinfo:
        decode(b"x", "latin-9")
    assert excinfo.value.message == "Unknown encoding “latin-9”; use one of: utf-8, cp1252."


def test_rows_carry_their_line_number_even_across_quoted_newlines_and_blank_lines():
    rows, unknown = read_rows('city;prénom;note\nLyon;"Anne\nMarie";x\n\n  Paris ;Luc;\n', COLUMNS)

    assert [(r.line, r.values) for r in rows] == [
        (2, {"city": "Lyon", "first_name": "Anne\nMarie"}),
        (5, {"city": "Paris", "first_name": "Luc"}),
    ]
    assert unknown == ["note"]


def test_a_field_over_the_csv_limit_stops_the_file_with_its_line():
    rows, _unknown = read_rows("city\nLyon\n" + "x" * 200_000 + "\n", COLUMNS)

    with pytest.raises(CsvFileError) as excinfo:
        list(rows)
    assert excinfo.value.line == 3
    assert excinfo.value.message.startswith("Line 3 cannot be read: field larger than field limit")


@pytest.mark.parametrize(("text", "expected"), [
    ("2025-03-04", dt.datetime(2025, 3, 4, tzinfo=PARIS)),
    ("2025-03-04 14:30", dt.datetime(2025, 3, 4, 14, 30, tzinfo=PARIS)),
    ("2025-03-04T14:30:15+00:00", dt.datetime(2025, 3, 4, 14, 30, 15, tzinfo=dt.UTC)),
    ("04/03/2025", dt.datetime(2025, 3, 4, tzinfo=PARIS)),
    ("4/3/2025 9:05", dt.datetime(2025, 3, 4, 9, 5, tzinfo=PARIS)),
    ("04/03/2025 14h30", dt.datetime(2025, 3, 4, 14, 30, tzinfo=PARIS)),
    ("04/03/2025 14:30:59", dt.datetime(2025, 3, 4, 14, 30, 59, tzinfo=PARIS)),
])
def test_datetimes_iso_and_french(text, expected):
    assert parse_datetime(text) == expected


@pytest.mark.parametrize("text", ["31/02/2025", "2025-13-01", "demain", "04/03/25"])
def test_bad_dates_say_which_forms_are_accepted(text):
    with pytest.raises(CellError) as excinfo:
        parse_datetime(text)
    assert str(excinfo.value) == f"“{text}” is not a date (use YYYY-MM-DD or DD/MM/YYYY, optionally with a time)."


def test_dates():
    assert parse_date("14/07/1985") == parse_date("1985-07-14") == dt.date(1985, 7, 14)
    with pytest.raises(CellError):
        parse_date("1985-07-14 10:00")


@pytest.mark.parametrize(("text", "expected"), [
    ("12.50", "12.50"), ("12,50", "12.50"), ("1 234,56", "1234.56"), ("1\u202f234,56", "1234.56"),
    ("1.234,56", "1234.56"), ("1,234.56", "1234.56"), ("-3", "-3"),
])
def test_amounts_with_decimal_commas_and_thousands_separators(text, expected):
    assert parse_decimal(text) == Decimal(expected)


@pytest.mark.parametrize("text", ["dix", "NaN", "Infinity", "1,2,3.4.5", ""])
def test_bad_amounts(text):
    with pytest.raises(CellError):
        parse_decimal(text)


@pytest.mark.django_db
def test_an_unknown_kind_is_refused():
    with pytest.raises(CsvFileError) as excinfo:
        run_import(kind="spaceships", data=b"a\n1\n")
    assert excinfo.value.message == "Unknown kind “spaceships”; use one of: consents, customers, interactions, orders."
