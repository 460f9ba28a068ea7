"""The one write path: replays change nothing, older never overwrites newer, both dialects agree."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError, StatementError

import connector.db.upsert as upsert_module
from connector.db import make_engine, upgrade
from connector.db import sqlite_insert as driver_insert
from connector.db.models import Customer, InventoryLevel, Product
from connector.db.types import Money, money_units, utc_time
from connector.db.upsert import BATCH_ROWS, tombstones, upsert
from connector.errors import BadInput
from tests.builders import customer_row, fixture, later, make_store, table_of
from tests.conftest import SERVER_DATABASE_URL, _truncate_all

# The embedded run leaves PostgreSQL to CI's PostgreSQL run (DATABASE_URL), which may run beside
# it; name a database of your own here to have both dialects in one run.
LOCAL_POSTGRES = os.environ.get("TEST_POSTGRES_URL")
customers = table_of(Customer)
products = table_of(Product)


@pytest.fixture(scope="module")
def postgres_engine() -> Iterator[Engine]:
    url = SERVER_DATABASE_URL or LOCAL_POSTGRES
    if not url:
        pytest.skip("PostgreSQL is the PostgreSQL run's (DATABASE_URL); set TEST_POSTGRES_URL for it here")
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    except OperationalError:
        pytest.skip("no PostgreSQL reachable (set DATABASE_URL or TEST_POSTGRES_URL)")
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql", "postgresql-copy"])
def db(
    request: pytest.FixtureRequest, migrated_sqlite: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Engine]:
    """The same tests on both dialects, in one run; on PostgreSQL once more with every batch
    through the COPY staging path (large batches take it)."""
    if request.param == "postgresql-copy":
        monkeypatch.setattr(upsert_module, "COPY_AT_LEAST", 1)
    if request.param.startswith("postgresql"):
        engine: Engine = request.getfixturevalue("postgres_engine")
        _truncate_all(engine)
        yield engine
        return
    path = tmp_path / "crm.sqlite3"
    path.write_bytes(migrated_sqlite.read_bytes())
    engine = make_engine(f"sqlite:///{path}")
    yield engine
    engine.dispose()


@pytest.fixture
def store_id(db: Engine) -> int:
    with db.begin() as conn:
        return make_store(conn)


def write(db: Engine, rows: list[dict[str, Any]], table: Any = customers) -> tuple[int, int, int]:
    with db.begin() as conn:
        r = upsert(conn, table, rows)
    return r.created, r.updated, r.stale


def snapshot(db: Engine, table: Any = customers) -> list[tuple[Any, ...]]:
    with db.connect() as conn:
        return [tuple(r) for r in conn.execute(select(table).order_by(table.c.platform_id))]


def test_new_records_are_created_with_exact_ids_and_money(db: Engine, store_id: int) -> None:
    # given the documented customer and the legacy sample whose id is above 2**53
    legacy = fixture("shopify/webhook-customers-create-legacy-sample.json")
    rows = [customer_row(store_id), customer_row(store_id, legacy, total_spent=Decimal("1234567.8912"))]
    # when
    assert write(db, rows) == (2, 0, 0)
    # then
    with db.connect() as conn:
        stored = {r.platform_id: r for r in conn.execute(select(customers))}
        total = conn.execute(select(func.sum(customers.c.total_spent))).scalar_one()
    assert 706405506930370084 in stored and stored[706405506930370084].platform_id == 706405506930370084
    assert stored[207119551].total_spent == Decimal("41.9400")
    assert total == Decimal("1234609.8312")
    assert stored[207119551].raw["email"] == "bob.norman@hostmail.com"
    assert stored[207119551].source_updated_at == datetime(2015, 5, 27, 22, 11, 24, tzinfo=UTC)


def test_a_replay_changes_nothing(db: Engine, store_id: int) -> None:
    row = customer_row(store_id)
    write(db, [row])
    before = snapshot(db)
    assert write(db, [row]) == (0, 0, 1)
    assert snapshot(db) == before


def test_an_older_version_never_overwrites_a_newer_one(db: Engine, store_id: int) -> None:
    old = customer_row(store_id)
    new = later(old, email="bob@new.example")
    write(db, [new])
    assert write(db, [old]) == (0, 0, 1)
    assert snapshot(db)[0][customers.c.keys().index("email")] == "bob@new.example"


def test_a_newer_version_updates(db: Engine, store_id: int) -> None:
    old = customer_row(store_id)
    write(db, [old])
    assert write(db, [later(old, first_name="Robert")]) == (0, 1, 0)
    with db.connect() as conn:
        assert conn.execute(select(customers.c.first_name)).scalar_one() == "Robert"


def test_same_timestamp_with_different_content_is_applied(db: Engine, store_id: int) -> None:
    # platforms stamp updated_at to the second; two edits in one second must not lose the second
    row = customer_row(store_id)
    write(db, [row])
    assert write(db, [{**row, "last_name": "Normann"}]) == (0, 1, 0)


def test_out_of_order_batch_keeps_the_newest_per_key(db: Engine, store_id: int) -> None:
    row = customer_row(store_id)
    newest = later(row, 120, email="third@example.com")
    assert write(db, [later(row, 60, email="second@example.com"), newest, row]) == (1, 0, 2)
    with db.connect() as conn:
        assert conn.execute(select(customers.c.email)).scalar_one() == "third@example.com"


def test_a_deletion_is_not_undone_by_a_late_older_update(db: Engine, store_id: int) -> None:
    row = customer_row(store_id)
    write(db, [row])
    deleted_at = row["source_updated_at"] + timedelta(minutes=5)
    with db.begin() as conn:
        assert tombstones(conn, customers, store_id, [row["platform_id"]], deleted_at).updated == 1
    assert write(db, [later(row, 60)]) == (0, 0, 1)
    with db.connect() as conn:
        kept = conn.execute(select(customers.c.deleted_at, customers.c.email)).one()
    assert kept.deleted_at == deleted_at and kept.email == "bob.norman@hostmail.com"  # last known data kept


def test_a_newer_version_after_deletion_restores_the_record(db: Engine, store_id: int) -> None:
    row = customer_row(store_id)
    with db.begin() as conn:
        tombstones(conn, customers, store_id, [row["platform_id"]], row["source_updated_at"])
    assert write(db, [later(row, 60)]) == (0, 1, 0)
    with db.connect() as conn:
        assert conn.execute(select(customers.c.deleted_at)).scalar_one() is None


def test_delete_arriving_before_create_leaves_a_tombstone(db: Engine, store_id: int) -> None:
    # products/delete may be delivered before products/create (no ordering guarantee)
    product = fixture("shopify/webhook-products-create.json")
    created_at = datetime.fromisoformat(product["updated_at"])
    with db.begin() as conn:
        assert (
            tombstones(conn, products, store_id, [product["id"]], created_at + timedelta(seconds=1)).created
            == 1
        )
    row = {
        "store_id": store_id,
        "platform_id": product["id"],
        "title": product["title"],
        "source_updated_at": created_at,
        "raw": product,
    }
    assert write(db, [row], products) == (0, 0, 1)


def test_bad_rows_are_rejected_and_nothing_is_written(db: Engine, store_id: int) -> None:
    good = customer_row(store_id)
    with pytest.raises(BadInput, match="source_updated_at"), db.begin() as conn:
        upsert(conn, customers, [good, {k: v for k, v in good.items() if k != "source_updated_at"}])
    with pytest.raises(BadInput, match="unknown columns shoe_size"), db.begin() as conn:
        upsert(conn, customers, [{**good, "shoe_size": 44}])
    assert snapshot(db) == []


def test_a_payload_without_a_field_never_blanks_it(db: Engine, store_id: int) -> None:
    # given a 2024-10 customer with consent, then a 2025 payload (no consent fields) in the same batch
    with_consent = customer_row(store_id, email_consent="subscribed")
    without = {k: v for k, v in later(with_consent, first_name="Bobby").items() if k != "email_consent"}
    # when
    assert write(db, [without, with_consent]) == (1, 1, 0)
    # then the newer name and the older, still latest known consent are both kept
    with db.connect() as conn:
        row = conn.execute(select(customers.c.first_name, customers.c.email_consent)).one()
    assert tuple(row) == ("Bobby", "subscribed")


def test_a_failure_in_a_later_chunk_rolls_back_the_whole_batch(db: Engine, store_id: int) -> None:
    rows = [customer_row(store_id, platform_id=i) for i in range(1, BATCH_ROWS + 2)]
    rows[-1]["store_id"] = 999_999  # no such store: the foreign key fails in the second chunk
    with pytest.raises(Exception, match=r"(?i)foreign key"), db.begin() as conn:
        upsert(conn, customers, rows)
    assert snapshot(db) == []


def test_large_batches_count_exactly(db: Engine, store_id: int) -> None:
    base = customer_row(store_id)
    rows = [{**base, "platform_id": 10**15 + i} for i in range(3 * BATCH_ROWS + 7)]
    assert write(db, rows) == (len(rows), 0, 0)
    mixed = [later(r) if i % 3 == 0 else r for i, r in enumerate(rows)]
    expected_updates = len(range(0, len(rows), 3))
    assert write(db, mixed) == (0, expected_updates, len(rows) - expected_updates)


def test_composite_keys_upsert_per_location(db: Engine, store_id: int) -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    levels = [
        {
            "store_id": store_id,
            "platform_id": 808950810,
            "location_id": loc,
            "available": n,
            "source_updated_at": at,
        }
        for loc, n in ((1, 5), (2, 7))
    ]
    assert write(db, levels, InventoryLevel.__table__) == (2, 0, 0)
    assert write(db, [later(levels[0], available=4)], InventoryLevel.__table__) == (0, 1, 0)


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2026, 11, 30, 9, 58, 14, 123456, tzinfo=UTC),
        datetime(2026, 11, 30, 9, 58, 14, tzinfo=UTC),  # no microseconds: still written with them
        datetime(2026, 3, 29, 2, 30, tzinfo=timezone(timedelta(hours=-4, minutes=-30))),
        datetime(1970, 1, 1, tzinfo=UTC),
        datetime(2026, 11, 30, 9, 58, 14, tzinfo=timezone(timedelta(0))),  # UTC, not `UTC` itself
    ],
)
def test_the_driver_path_writes_times_exactly_as_sqlalchemy_does(moment: datetime) -> None:
    """On SQLite the version rule compares times as text, so rows written by the driver-level
    upsert and rows written through SQLAlchemy must spell a time the same way."""
    bind = customers.c.source_updated_at.type._cached_bind_processor(sqlite.dialect())
    assert bind is not None
    assert driver_insert.sqlite_time(moment) == bind(moment)


@pytest.mark.parametrize(
    "amount", [Decimal("12.34565"), Decimal("12.34575"), Decimal("-0.00005"), Decimal("1E+3"), 3, "1.5"]
)
def test_the_driver_and_copy_paths_write_amounts_and_times_as_the_column_types_do(amount: Any) -> None:
    """Money's integer units (half to even) and PostgreSQL's UTC times, converted without
    SQLAlchemy's processor chain, are what the column types' own processors give."""
    as_type = (Decimal(str(amount)) * 10_000).quantize(Decimal(1), rounding="ROUND_HALF_EVEN")
    assert money_units(amount) == int(as_type) == Money().process_bind_param(amount, sqlite.dialect())
    east = datetime(2026, 3, 29, 2, 30, tzinfo=timezone(timedelta(hours=2)))
    assert utc_time(east) == east and utc_time(east).tzinfo is UTC
    with pytest.raises(ValueError, match="naive"):
        utc_time(datetime(2026, 1, 1))


def test_a_naive_time_is_refused_and_nothing_is_written(db: Engine, store_id: int) -> None:
    naive = customer_row(store_id, platform_id=1, source_created_at=datetime(2026, 1, 1))
    with pytest.raises((ValueError, StatementError)):
        write(db, [customer_row(store_id, platform_id=2), naive])
    assert snapshot(db) == []
    with pytest.raises(BadInput, match="aware datetime"):
        write(db, [customer_row(store_id, platform_id=3, source_updated_at=datetime(2026, 1, 1))])
    assert snapshot(db) == []


def test_rows_past_the_statement_variable_limit_are_split(
    db: Engine, store_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(driver_insert, "MAX_VARIABLES", 100)  # a few rows per statement on SQLite
    rows = [customer_row(store_id, platform_id=i) for i in range(1, 12)]
    assert write(db, rows) == (11, 0, 0)
    assert write(db, [later(r) for r in rows]) == (0, 11, 0)
    assert write(db, rows) == (0, 0, 11)
    assert len(snapshot(db)) == 11
