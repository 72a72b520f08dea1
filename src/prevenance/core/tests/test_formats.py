"""Percentages written as each language writes them (core/formats.py)."""

from decimal import Decimal

import pytest
from django.utils import translation

from prevenance.core.formats import format_percent, rounded


def test_a_share_is_rounded_half_up():
    assert rounded(4.125, 2) == Decimal("4.13") and rounded(2 / 3 * 100, 1) == Decimal("66.7")


@pytest.mark.parametrize(("language", "written"), [("en", "33.3%"), ("fr", "33,3\u00a0%")])
def test_a_percentage_has_no_space_in_english_and_a_no_break_space_in_french(language, written):
    with translation.override(language):
        assert format_percent(100 / 3) == written

