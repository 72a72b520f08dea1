"""Percentages, file sizes and dates written as each language writes them (core/formats.py)."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation

from prevenance.core.formats import date_as_written, format_file_size, format_percent, rounded

MB = 1024 * 1024


def test_a_share_is_rounded_half_up():
    assert rounded(4.125, 2) == Decimal("4.13") and rounded(2 / 3 * 100, 1) == Decimal("66.7")


@pytest.mark.parametrize(("language", "written"), [("en", "33.3%"), ("fr", "33,3\u00a0%")])
def test_a_percentage_has_no_space_in_english_and_a_no_break_space_in_french(language, written):
    with translation.override(language):
        assert format_percent(100 / 3) == written


@pytest.mark.parametrize(("size", "en", "fr"), [
    (10 * MB, "10 MB", "10\u00a0Mo"),
    (25 * MB // 10, "2.5 MB", "2,5\u00a0Mo"),
    (800 * 1024, "800 KB", "800\u00a0ko"),
    (2 * 1024 * MB, "2 GB", "2\u00a0Go"),
    (1, "1 byte", "1\u00a0octet"),
    (1000, "1000 bytes", "1000\u00a0octets"),
])
def test_a_file_size_is_written_as_customers_read_it(size, en, fr):
    with translation.override("en"):
        assert format_file_size(size) == en
    with translation.override("fr"):
        assert format_file_size(size) == fr


@pytest.mark.parametrize(("language", "day", "written"), [
    ("fr", dt.date(2026, 12, 1), "1er décembre 2026"),
    ("fr", dt.date(2026, 12, 2), "2 décembre 2026"),
    ("fr", dt.date(2026, 12, 21), "21 décembre 2026"),  # only the first: not "21er"
    ("en", dt.date(2026, 12, 1), "1 Dec 2026"),
])
def test_a_date_written_out_says_the_first_of_the_month_as_french_does(language, day, written):
    with translation.override(language):
        assert date_as_written(day) == written


def test_a_moment_is_written_on_the_day_it_is_where_the_reader_is(settings):
    settings.TIME_ZONE = "Europe/Paris"
    late_on_the_30th_in_utc = dt.datetime(2026, 11, 30, 23, 30, tzinfo=ZoneInfo("UTC"))
    with translation.override("fr"):
        assert date_as_written(late_on_the_30th_in_utc) == "1er décembre 2026"
        assert date_as_written(None) == ""
