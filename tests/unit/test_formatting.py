from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from policies.formatting import format_date, format_money, format_percent, locale_for

NBSP = "\u00a0"


@pytest.mark.parametrize(
    ("jurisdiction", "locale"),
    [
        ("MX", "es_MX"),
        ("CO", "es_CO"),
        ("PE", "es_PE"),
        ("CL", "es_CL"),
        ("AR", "es_AR"),
        ("ES", "es_ES"),
        ("US", "es_US"),
        ("mx", "es_MX"),
        ("BR", "es_MX"),
        ("", "es_MX"),
    ],
)
def test_locale_for(jurisdiction: str, locale: str) -> None:
    assert locale_for(jurisdiction) == locale


@pytest.mark.parametrize(
    ("amount", "currency", "locale", "expected"),
    [
        ("4500", "MXN", "es_MX", "$4,500"),
        ("4500.00", "MXN", "es_MX", "$4,500"),
        ("4500.50", "MXN", "es_MX", "$4,500.50"),
        ("1234567.8", "MXN", "es_MX", "$1,234,567.80"),
        ("1850000", "COP", "es_CO", "$1.850.000"),
        ("616666.50", "COP", "es_CO", "$616.666,50"),
        ("450000", "CLP", "es_CL", "$450.000"),
        ("1200.50", "PEN", "es_PE", f"S/{NBSP}1,200.50"),
        ("4500", "ARS", "es_AR", "$4.500"),
        ("4500", "EUR", "es_ES", f"4.500{NBSP}€"),
        ("4500.5", "EUR", "es_ES", f"4.500,50{NBSP}€"),
        ("4500", "USD", "es_US", "$4,500"),
        ("4500", "USD", "es_MX", f"USD{NBSP}4,500"),
        ("0.5", "MXN", "es_MX", "$0.50"),
    ],
)
def test_format_money(amount: str, currency: str, locale: str, expected: str) -> None:
    assert format_money(Decimal(amount), currency, locale) == expected


def test_format_money_never_rounds_cents_away_even_for_zero_decimal_currencies() -> None:
    # CLP has no minor unit; a fractional amount is a bug upstream, and it must show.
    assert format_money(Decimal("4500.5"), "CLP", "es_CL") == "$4.500,50"


def test_format_date_adds_the_year_only_when_it_differs() -> None:
    today = date(2026, 3, 10)
    assert format_date(date(2026, 3, 15), "es_MX", reference=today) == "15 de marzo"
    assert format_date(date(2027, 1, 5), "es_MX", reference=today) == "5 de enero de 2027"
    assert format_date(date(2026, 3, 15), "es_MX") == "15 de marzo de 2026"


def test_format_date_follows_the_locale() -> None:
    today = date(2026, 1, 1)
    assert format_date(date(2026, 9, 1), "es_PE", reference=today) == "1 de setiembre"
    assert format_date(date(2026, 9, 1), "es_CO", reference=today) == "1 de septiembre"


@pytest.mark.parametrize(
    ("value", "locale", "expected"),
    [
        ("15", "es_MX", "15%"),
        ("15.00", "es_MX", "15%"),
        ("12.5", "es_MX", "12.5%"),
        ("12.5", "es_CO", "12,5%"),
        ("14.97", "es_CL", "14,97%"),
        ("15", "es_ES", f"15{NBSP}%"),
    ],
)
def test_format_percent(value: str, locale: str, expected: str) -> None:
    assert format_percent(Decimal(value), locale) == expected
