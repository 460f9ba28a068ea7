"""The one write path: a bulk, idempotent upsert that webhooks and sync both use.

One `INSERT … ON CONFLICT (key) DO UPDATE … WHERE stored.source_updated_at < new OR
(equal and the content differs)` per batch, on SQLite and PostgreSQL alike. Replays and
out-of-order deliveries converge because of that statement. A deletion is the same
upsert of a tombstone row (`deleted_at` set), so a late, older update cannot resurrect it.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Table, and_, or_, select
from sqlalchemy import column as sa_column
from sqlalchemy import table as sa_table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Dialect

from connector.db import sqlite_insert as driver_insert
from connector.db.types import Money, UTCDateTime, money_units, utc_time, utcnow
from connector.errors import BadInput, FailPermanently

BATCH_ROWS = 500
COPY_AT_LEAST = 50  # PostgreSQL batches of this many rows or more go through a COPY staging table
TOMBSTONE_HASH = "deleted"
INSERTS: dict[str, Any] = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}  # INSERT … ON CONFLICT
_NOT_HASHED = frozenset({"first_seen_at", "content_hash", "contact_id"})  # contact: ours, not the platform's


@dataclass
class UpsertResult:
    created: int = 0
    updated: int = 0
    stale: int = 0  # not written: the stored version is newer, or identical
    written_keys: list[tuple[Any, ...]] = field(default_factory=list)
    created_keys: list[tuple[Any, ...]] = field(default_factory=list)  # the written ones seen first now

    def __iadd__(self, other: UpsertResult) -> UpsertResult:
        self.created += other.created
        self.updated += other.updated
        self.stale += other.stale
        self.written_keys.extend(other.written_keys)
        self.created_keys.extend(other.created_keys)
        return self


def content_hash(row: Mapping[str, Any]) -> str:
    """A stable digest of a row's values, so an identical replay is recognised as such."""
    plain = type(row) is dict and _NOT_HASHED.isdisjoint(row)  # hashed as it is, not copied
    material = row if plain else {k: v for k, v in row.items() if k not in _NOT_HASHED}
    encoded = orjson.dumps(material, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS, default=str)
    return hashlib.blake2b(encoded, digest_size=16).hexdigest()


def upsert(conn: Connection, table: Table, rows: Iterable[Mapping[str, Any]]) -> UpsertResult:
    """Write rows keyed by the table's upsert key; newer versions win, older are stale.

    Every row carries the key and `source_updated_at`. Only the columns a row gives are
    written, so a tombstone keeps the last known data and a payload that lacks a field
    (an older or newer API version) never blanks it. Rows with different column sets go
    in separate statements, oldest group first.
    """
    key = _upsert_key(table)
    groups: dict[frozenset[str], list[Mapping[str, Any]]] = {}
    for row in rows:
        _check_version(row)
        groups.setdefault(frozenset(row), []).append(row)
    result = UpsertResult()
    for group in sorted(groups.values(), key=_oldest):
        result += _upsert_group(conn, table, key, group)
    return result


def _oldest(rows: list[Mapping[str, Any]]) -> Any:
    versions = [r["source_updated_at"] for r in rows if r.get("source_updated_at") is not None]
    return min(versions) if versions else datetime.min.replace(tzinfo=UTC)


def _upsert_group(
    conn: Connection, table: Table, key: tuple[str, ...], rows: list[Mapping[str, Any]]
) -> UpsertResult:
    batch = _latest_per_key(rows, key)
    result = UpsertResult(stale=batch.dropped)
    if not batch.rows:
        return result
    _check_columns(table, batch.rows)
    now = utcnow()
    prepared = [_prepared(r, now) for r in batch.rows]
    columns = [c for c in prepared[0] if c not in key]
    staged = conn.dialect.name == "postgresql" and len(prepared) >= COPY_AT_LEAST
    at_driver = conn.dialect.name == "sqlite"
    statement = (
        _staged_statement(table, key, tuple(columns)) if staged else _statement(conn, table, key, columns)
    )
    names = (*key, *columns)
    per_statement = min(BATCH_ROWS, driver_insert.rows_per_statement(len(names)))
    stamp = driver_insert.sqlite_time(now) if at_driver else now  # first_seen_at as RETURNING gives it
    for start in range(0, len(prepared), per_statement):
        chunk = prepared[start : start + per_statement]
        if staged:
            _copy_to_staging(conn, table, list(names), chunk)
            returned: Sequence[Any] = conn.execute(statement).all()
        elif at_driver:
            returned = driver_insert.write(conn, statement, table, names, chunk)
        else:
            returned = conn.execute(statement, chunk).all()
        for *row_key, first_seen in returned:
            result.written_keys.append(tuple(row_key))
            if first_seen == stamp:
                result.created_keys.append(tuple(row_key))
                result.created += 1
            else:
                result.updated += 1
        result.stale += len(chunk) - len(returned)
    return result


def tombstones(
    conn: Connection, table: Table, store_id: int, platform_ids: Iterable[int], deleted_at: datetime
) -> UpsertResult:
    """Mark records deleted as of `deleted_at` (creating tombstones for unseen ids)."""
    rows = [
        {
            "store_id": store_id,
            "platform_id": pid,
            "source_updated_at": deleted_at,
            "deleted_at": deleted_at,
            "content_hash": TOMBSTONE_HASH,
        }
        for pid in platform_ids
    ]
    return upsert(conn, table, rows)


@dataclass
class _Batch:
    rows: list[Mapping[str, Any]]
    dropped: int


def _latest_per_key(rows: Sequence[Mapping[str, Any]], key: tuple[str, ...]) -> _Batch:
    """One row per key (a statement may not touch a row twice): the newest, later wins ties."""
    chosen: dict[tuple[Any, ...], Mapping[str, Any]] = {}
    for row in rows:
        try:
            k = tuple(row[c] for c in key)
        except KeyError as missing:
            raise BadInput(f"upsert row lacks the column {missing.args[0]!r}") from None
        version = row["source_updated_at"]
        held = chosen.get(k)
        if held is None or held["source_updated_at"] <= version:
            chosen[k] = row
    return _Batch(rows=list(chosen.values()), dropped=len(rows) - len(chosen))


def _check_version(row: Mapping[str, Any]) -> None:
    version = row.get("source_updated_at")
    if version is None:
        raise BadInput("upsert row has no source_updated_at version")
    if not isinstance(version, datetime) or version.tzinfo is None:
        raise BadInput(f"upsert row's source_updated_at must be an aware datetime, not {version!r}")


def _upsert_key(table: Table) -> tuple[str, ...]:
    key = table.info.get("upsert_key")
    if not key:
        raise FailPermanently(f"table {table.name} has no upsert key")
    return tuple(key)


def _prepared(row: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """The row as written: live unless it says otherwise, hashed, stamped with the batch time."""
    return {
        "deleted_at": None,
        **row,
        "content_hash": row.get("content_hash") or content_hash(row),
        "first_seen_at": now,
    }


def _check_columns(table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    columns = list(rows[0].keys())
    unknown = [c for c in columns if c not in table.c]
    if unknown:
        raise BadInput(f"upsert into {table.name}: unknown columns {', '.join(sorted(unknown))}")


def dialect_insert(conn: Connection, table: Any) -> Any:
    """The dialect's INSERT (with ON CONFLICT) for this connection: SQLite or PostgreSQL."""
    make_insert = INSERTS.get(conn.dialect.name)
    if make_insert is None:
        raise FailPermanently(f"the {conn.dialect.name} database is not supported")
    return make_insert(table)


def _copy_to_staging(conn: Connection, table: Table, columns: list[str], rows: list[dict[str, Any]]) -> None:
    """PostgreSQL: the rows into a temporary table with COPY (psycopg parses a large VALUES
    list slowly); the upsert then reads them from there with the same ON CONFLICT rule."""
    staging = _staging_name(table, columns)
    names = ", ".join(f'"{c}"' for c in columns)
    conn.exec_driver_sql(
        f'CREATE TEMP TABLE IF NOT EXISTS "{staging}" ON COMMIT DROP '
        f'AS SELECT {names} FROM "{table.name}" WITH NO DATA'
    )
    conn.exec_driver_sql(f'TRUNCATE "{staging}"')
    converted = _copy_converters(conn.dialect, table, tuple(columns))
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor, cursor.copy(f'COPY "{staging}" ({names}) FROM STDIN') as copy:
        for row in rows:
            values = [row.get(c) for c in columns]
            for position, convert in converted:
                value = values[position]
                if value is not None:
                    values[position] = convert(value)
            copy.write_row(values)


@functools.lru_cache(maxsize=256)
def _copy_converters(
    dialect: Dialect, table: Table, columns: tuple[str, ...]
) -> tuple[tuple[int, Callable[[Any], Any]], ...]:
    """(position, converter) for the columns COPY needs converted: each column's own bind
    processor, but for Money (its integer units, directly) and UTC times (psycopg writes
    an aware datetime as it is; `utc_time` refuses a naive one as the processor does)."""
    found: list[tuple[int, Callable[[Any], Any]]] = []
    for position, name in enumerate(columns):
        column_type = table.c[name].type
        if isinstance(column_type, UTCDateTime):
            found.append((position, utc_time))
        elif isinstance(column_type, Money):
            found.append((position, money_units))
        elif (processor := column_type._cached_bind_processor(dialect)) is not None:
            found.append((position, processor))
    return tuple(found)


def _staging_name(table: Table, columns: Sequence[str]) -> str:
    """One staging table per table and column set (a transaction may write several)."""
    digest = hashlib.blake2b(",".join(columns).encode(), digest_size=6).hexdigest()
    return f"_staging_{table.name}_{digest}"


@functools.lru_cache(maxsize=256)
def _staged_statement(table: Table, key: tuple[str, ...], columns: tuple[str, ...]) -> Any:
    names = [*key, *columns]
    staging = sa_table(_staging_name(table, names), *[sa_column(c) for c in names])
    insert: Any = postgresql.insert(table).from_select(names, select(*[staging.c[c] for c in names]))
    return _on_conflict(insert, table, key, columns)


def _statement(conn: Connection, table: Table, key: tuple[str, ...], columns: list[str]) -> Any:
    """Built once per dialect, table and column set (building it costs more than a batch of rows)."""
    return _built(conn.dialect.name, table, key, tuple(columns))


@functools.lru_cache(maxsize=256)
def _built(dialect: str, table: Table, key: tuple[str, ...], columns: tuple[str, ...]) -> Any:
    insert: Any = INSERTS[dialect](table)
    return _on_conflict(insert, table, key, columns)


def _on_conflict(insert: Any, table: Table, key: tuple[str, ...], columns: tuple[str, ...]) -> Any:
    new = insert.excluded
    stored = table.c
    updated = {c: new[c] for c in columns if c != "first_seen_at"}
    newer = or_(
        stored.source_updated_at < new.source_updated_at,
        and_(stored.source_updated_at == new.source_updated_at, stored.content_hash != new.content_hash),
    )
    return insert.on_conflict_do_update(index_elements=list(key), set_=updated, where=newer).returning(
        *[stored[c] for c in key], stored.first_seen_at
    )
