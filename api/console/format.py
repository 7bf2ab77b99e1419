"""Jinja filters for the console: money, local times, ages, stage and status names (Spanish)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, pass_context

from api.console.queries import (
    GUARD_TEXT,
    INTENT_TEXT,
    OBJECTION_TEXT,
    STAGE_TEXT,
    STATUS_TEXT,
)
from policies.formatting import format_date, format_money

# How each currency is written (the locale of the country that uses it).
CURRENCY_LOCALE = {
    "MXN": "es_MX",
    "COP": "es_CO",
    "PEN": "es_PE",
    "CLP": "es_CL",
    "ARS": "es_AR",
    "EUR": "es_ES",
    "USD": "es_US",
}


def money(amount: Decimal | None, currency: str) -> str:
    """ "$4,500 MXN": the country's own format, with the code, since "$" means five currencies."""
    if amount is None:
        return "—"
    return f"{format_money(amount, currency, CURRENCY_LOCALE.get(currency, 'es_MX'))} {currency}"


@pass_context
def local_time(context: Any, when: datetime | None, with_date: bool = True) -> str:
    if when is None:
        return "—"
    tz: ZoneInfo = context["tz"]
    local = when.astimezone(tz)
    return local.strftime("%d/%m/%Y %H:%M" if with_date else "%H:%M")


def long_date(day: date | None) -> str:
    return format_date(day, "es_MX") if day else "—"


def age(delta: timedelta) -> str:
    """'hace 3 d 4 h', 'hace 25 min', 'hace un momento'."""
    minutes = int(delta.total_seconds() // 60)
    if minutes < 1:
        return "hace un momento"
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"hace {days} d {hours} h"
    if hours:
        return f"hace {hours} h {minutes} min"
    return f"hace {minutes} min"


def percent(value: Decimal | None) -> str:
    return "—" if value is None else f"{value.normalize():f} %"


def install_filters(env: Environment) -> None:
    env.filters.update(
        money=money,
        local_time=local_time,
        long_date=long_date,
        age=age,
        percent=percent,
        stage=lambda s: STAGE_TEXT.get(str(s), str(s)),
        status=lambda s: STATUS_TEXT.get(str(s or "none"), str(s)),
        intent=lambda s: INTENT_TEXT.get(str(s), str(s)),
        objection=lambda s: OBJECTION_TEXT.get(str(s), str(s)),
        guard=lambda s: GUARD_TEXT.get(str(s), str(s)),
    )
