"""Column types that keep values exact on SQLite and PostgreSQL alike.

Money is a Decimal stored as a scaled 64-bit integer (4 decimal places), so sums are
exact on both dialects; timestamps are always UTC and come back timezone-aware.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from sqlalchemy import BigInteger, DateTime, Integer
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from platforms.rows import MONEY_SCALE  # the neutral rows declare how amounts are kept

# Surrogate keys: BIGINT on PostgreSQL, INTEGER (already 64-bit, and ROWID-aliasing) on SQLite.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Money(TypeDecorator[Decimal]):
    """A Decimal amount kept as integer ten-thousandths: exact storage and exact SUM()."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> int | None:
        return None if value is None else money_units(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return (Decimal(int(value)) / MONEY_SCALE).quantize(Decimal("0.0001"))


def money_units(value: Any) -> int:
    """An amount as the integer ten-thousandths a Money column keeps (half to even)."""
    amount = value if type(value) is Decimal else Decimal(str(value))
    return int((amount * MONEY_SCALE).quantize(_UNIT, rounding=ROUND_HALF_EVEN))


_UNIT = Decimal(1)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out; naive input is refused."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where a UTC timestamp is required")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utc_time(value: datetime) -> datetime:
    """An aware datetime in UTC, as `UTCDateTime` binds it on PostgreSQL; naive is refused."""
    if value.tzinfo is UTC:
        return value
    if value.tzinfo is None:
        raise ValueError("naive datetime given where a UTC timestamp is required")
    return value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)
