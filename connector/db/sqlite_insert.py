"""Inserts on SQLite, run at the driver: the text SQLAlchemy compiles for one row of an
INSERT … VALUES statement (the upsert, the webhook inbox's insert), repeated for many rows
in one VALUES list, each column's values converted once by a converter chosen per column.
Same statement, same semantics; it skips SQLAlchemy's per-row parameter and result
processing, which cost more than the database's own work during a backfill.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table
from sqlalchemy.engine import Connection, Dialect

from connector.db.types import Money, UTCDateTime, money_units

MAX_VARIABLES = 32_000  # SQLite's limit is 32,766 bound values per statement (since 3.32)
Convert = Callable[[Any], Any] | None


@dataclass(frozen=True)
class _Plan:
    head: str  # the statement up to VALUES
    row: str  # one row's placeholders, "(?, ?, …)"
    tail: str  # ON CONFLICT … RETURNING …
    columns: tuple[str, ...]  # in the order the statement binds them
    converted: tuple[tuple[int, Callable[[Any], Any]], ...]  # (position, converter) where one is needed

    def sql(self, rows: int) -> str:
        return f"{self.head}VALUES {', '.join([self.row] * rows)}{self.tail}"


def rows_per_statement(columns: int) -> int:
    return max(1, MAX_VARIABLES // max(columns, 1))


def write(
    conn: Connection, statement: Any, table: Table, names: tuple[str, ...], rows: Sequence[dict[str, Any]]
) -> list[tuple[Any, ...]]:
    """Run the compiled upsert `statement` for these rows (all with the columns `names`);
    returns its RETURNING rows as the driver gives them (times as SQLite's text)."""
    plan = _plan(conn.dialect, statement, table, names)
    values: list[Any] = []
    extend = values.extend
    for row in rows:
        bound = [row[column] for column in plan.columns]
        for position, convert in plan.converted:
            value = bound[position]
            if value is not None:
                bound[position] = convert(value)
        extend(bound)
    return [tuple(r) for r in conn.exec_driver_sql(plan.sql(len(rows)), tuple(values)).all()]


def sqlite_time(value: datetime) -> str:
    """An aware datetime as SQLAlchemy's SQLite DATETIME text, in UTC (what
    `UTCDateTime` binds); string order is time order, which the version rule relies on."""
    if value.tzinfo is UTC:  # the common case: its text less the "+00:00"
        return value.isoformat(" ", "microseconds")[:-6]
    if value.tzinfo is None:
        raise ValueError("naive datetime given where a UTC timestamp is required")
    if value.utcoffset():
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat(" ", "microseconds")


@functools.lru_cache(maxsize=256)
def _plan(dialect: Dialect, statement: Any, table: Table, names: tuple[str, ...]) -> _Plan:
    """Compiled once per table and column set; the statement for n rows is then plain text."""
    compiled = statement.compile(dialect=dialect, column_keys=list(names))
    columns = tuple(compiled.positiontup)
    row = "(" + ", ".join("?" * len(columns)) + ")"
    head, found, tail = compiled.string.partition(f"VALUES {row}")
    if not found or set(columns) != set(names) or compiled.string.count("?") != len(columns):
        raise RuntimeError(f"the upsert into {table.name} did not compile to one VALUES row")
    converters = [_converter(dialect, table.c[c].type) for c in columns]
    converted = tuple((i, f) for i, f in enumerate(converters) if f is not None)
    return _Plan(head, row, tail, columns, converted)


def _converter(dialect: Dialect, column_type: Any) -> Convert:
    """The column's own bind processor (JSON with the engine's serializer, Money scaled), but
    for UTC times, whose processor chain costs more than the text it makes."""
    if isinstance(column_type, UTCDateTime):
        return sqlite_time
    if isinstance(column_type, Money):
        return money_units
    processor: Convert = column_type._cached_bind_processor(dialect)
    return processor
