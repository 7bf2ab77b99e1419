"""Locale-aware wording of numbers for debtor-facing text (pure, Babel).

Conventions (the guard parses exactly what these produce, and more):
- Money: the locale's currency pattern from CLDR (symbol position, grouping, decimal mark).
  Whole amounts drop the cents ("$4,500", "$4.500", "4.500 €"); any other amount shows
  two decimals ("$4,500.50", "$4.500,50"), even for zero-decimal currencies such as CLP, so
  a figure is never silently rounded. A symbol made of letters gets a no-break space
  ("USD 4,500").
- Dates: "15 de marzo". The year is added when it differs from the reference date's year
  ("5 de enero de 2027"), and always when no reference is given.
- Percentages: the locale's percent pattern ("15%" in Latin America, "15 %" in es_ES);
  fractional percentages keep up to two decimals ("12.5%").

Babel separates some parts with no-break spaces (U+00A0); they are kept on purpose so a
symbol and its figure never wrap apart on a phone screen.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from functools import lru_cache

from babel import Locale
from babel.dates import format_date as _babel_format_date
from babel.numbers import format_currency
from babel.numbers import format_percent as _babel_format_percent

DEFAULT_LOCALE = "es_MX"

_LOCALES_BY_JURISDICTION = {
    "MX": "es_MX",
    "CO": "es_CO",
    "PE": "es_PE",
    "CL": "es_CL",
    "AR": "es_AR",
    "ES": "es_ES",
    "US": "es_US",
}

_NBSP = "\u00a0"
_LETTER_SYMBOL = re.compile(r"^([A-Za-z]{2,3})(?=\d)")


def locale_for(jurisdiction: str) -> str:
    """The Babel locale for an ISO 3166-1 alpha-2 jurisdiction (default es_MX)."""
    return _LOCALES_BY_JURISDICTION.get((jurisdiction or "").strip().upper(), DEFAULT_LOCALE)


@lru_cache(maxsize=64)
def _currency_patterns(locale: str) -> tuple[str, str]:
    """(pattern for whole amounts, pattern for amounts with cents) for a locale."""
    with_cents = Locale.parse(locale).currency_formats["standard"].pattern  # "¤#,##0.00"
    return with_cents.replace("0.00", "0"), with_cents


def is_whole(amount: Decimal) -> bool:
    return amount == amount.to_integral_value()


def format_money(amount: Decimal, currency: str, locale: str = DEFAULT_LOCALE) -> str:
    """Money as the locale writes it: "$4,500", "$4,500.50" (es_MX), "$4.500" (es_CO),
    "S/ 1,200.50" (es_PE), "4.500 €" (es_ES)."""
    amount = Decimal(amount)
    whole, with_cents = _currency_patterns(locale)
    pattern = whole if is_whole(amount) else with_cents
    text = format_currency(
        amount, currency.upper(), format=pattern, locale=locale, currency_digits=False
    )
    return _LETTER_SYMBOL.sub(lambda m: m.group(1) + _NBSP, text)


def format_date(d: date, locale: str = DEFAULT_LOCALE, reference: date | None = None) -> str:
    """A date as "15 de marzo"; "5 de enero de 2027" when the year differs from the reference's
    (always with the year when there is no reference)."""
    if reference is not None and reference.year == d.year:
        pattern = "d 'de' MMMM"
    else:
        pattern = "d 'de' MMMM 'de' y"
    return _babel_format_date(d, pattern, locale=locale)


@lru_cache(maxsize=64)
def _percent_pattern(locale: str) -> str:
    pattern = Locale.parse(locale).percent_formats[None].pattern
    return pattern.replace("#,##0", "#,##0.##", 1)


def format_percent(value: Decimal, locale: str = DEFAULT_LOCALE) -> str:
    """A percentage given in points: Decimal("15") -> "15%" (es_MX) / "15 %" (es_ES)."""
    return _babel_format_percent(
        Decimal(value) / Decimal(100), format=_percent_pattern(locale), locale=locale
    )
