"""Column types that keep the domain's conventions in any database.

Money is stored as an integer of hundredths (exact, summable in SQL, the same in SQLite and
PostgreSQL) and read back as Decimal. Datetimes are stored in UTC and read back timezone-aware.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, DateTime
from sqlalchemy.types import TypeDecorator


class Money(TypeDecorator[Decimal]):
    """Decimal with two places, stored as an integer number of hundredths."""

    impl = BigInteger
    cache_ok = True
    _quantum = Decimal("0.01")

    def process_bind_param(self, value: Any, dialect: Any) -> int | None:
        if value is None:
            return None
        amount = Decimal(value)
        if amount != amount.quantize(self._quantum):
            raise ValueError(f"money with more than two decimal places: {amount}")
        return int(amount * 100)

    def process_result_value(self, value: Any, dialect: Any) -> Decimal | None:
        if value is None:
            return None
        return (Decimal(int(value)) / 100).quantize(self._quantum)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetime, normalised to UTC (SQLite keeps no offset of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: Pacta stores timezone-aware times only")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)
