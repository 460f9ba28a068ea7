"""Migrations: upgrade from empty builds exactly the schema the models describe."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine

from connector.db import ensure_schema, make_engine, schema_revision, upgrade
from connector.db.models import Base
from connector.errors import ConfigError


def test_upgrade_from_empty_creates_every_table(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    assert schema_revision(engine)[0] is None
    upgrade(engine)
    current, head = schema_revision(engine)
    assert current == head is not None
    assert set(inspect(engine).get_table_names()) >= set(Base.metadata.tables)


def test_migrations_match_the_models(engine: Engine) -> None:
    # on whichever database this run uses (SQLite, or PostgreSQL in CI's second run)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []


def test_a_server_database_behind_the_code_is_refused_with_the_fix(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    with pytest.raises(ConfigError, match="run `crm-connector db upgrade`"):
        ensure_schema(engine, auto_upgrade=False)
    ensure_schema(engine, auto_upgrade=True)
    assert schema_revision(engine)[0] == schema_revision(engine)[1]


def _seed_two_stores(engine: Engine) -> None:
    """An account with two stores, the newer one holding records, a delivery, a sync state,
    consent and a product subscription with a notification (every kind of reference to the
    two rebuilt tables)."""
    from datetime import UTC, datetime

    from sqlalchemy import insert

    from connector.db.models import Account, Contact, Customer, Order, Store
    from connector.db.operations import DeadLetter, NotificationOutbox, SyncState, WebhookInbox
    from connector.db.people import ConsentEvent, ProductSubscription
    from tests.builders import customer_row

    now = datetime(2026, 11, 20, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(insert(Account).values(id=1, name="merchant"))
        for sid, domain in ((1, "one.myshopify.com"), (2, "two.myshopify.com")):
            conn.execute(
                insert(Store).values(
                    id=sid, account_id=1, platform="shopify", domain=domain, store_key=f"k{sid}"
                )
            )
        conn.execute(insert(Contact).values(id=7, account_id=1, email="a@example.com"))
        conn.execute(insert(Customer).values(**customer_row(2), contact_id=7))
        conn.execute(insert(Order).values(store_id=2, platform_id=11, source_updated_at=now, contact_id=7))
        conn.execute(
            insert(WebhookInbox).values(
                store_id=2, platform="shopify", topic="orders/create", dedup_key="d", body=b"{}"
            )
        )
        conn.execute(insert(DeadLetter).values(store_id=2, kind="sync", reason="unreadable"))
        conn.execute(
            insert(SyncState).values(store_id=2, entity="orders", phase="pending", state="idle", done=0)
        )
        conn.execute(
            insert(ConsentEvent).values(
                contact_id=7, store_id=2, channel="email", state="subscribed", source="form", occurred_at=now
            )
        )
        conn.execute(
            insert(ProductSubscription).values(id=5, store_id=2, contact_id=7, scope_type="store", token="t")
        )
        conn.execute(
            insert(NotificationOutbox).values(
                store_id=2,
                contact_id=7,
                subscription_id=5,
                dedup_key="n",
                recipient="a@example.com",
                subject="s",
                body="b",
            )
        )


def _counts(engine: Engine) -> dict[str, int]:
    """Rows per table of the models that the database has (a later migration's are not there yet)."""
    present = set(inspect(engine).get_table_names())
    with engine.connect() as conn:
        return {
            t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
            for t in sorted(Base.metadata.tables)
            if t in present
        }


def test_upgrading_a_database_with_data_keeps_every_row_and_never_reuses_an_id(tmp_path: Path) -> None:
    # given a SQLite database at the previous head holding two stores and the newer's records
    engine = make_engine(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    upgrade(engine, "0011")
    _seed_two_stores(engine)
    before = _counts(engine)
    # when it is upgraded
    upgrade(engine)
    # then every row is still there, the schema is the models', and the two tables never reuse an id
    assert {t: n for t, n in _counts(engine).items() if t in before} == before
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA foreign_key_check")).all() == []
        assert conn.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
        made: dict[str, str] = dict(
            conn.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'table'")).all()
        )
    assert diff == []
    for table in ("stores", "product_subscriptions", "notification_outbox", "dead_letters"):
        assert "AUTOINCREMENT" in made[table], table
    # and removing the newest store still cascades to its records, and the next store gets a new id
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM stores WHERE id = 2"))
        conn.execute(
            text(
                "INSERT INTO stores (account_id, platform, domain, store_key, status, created_at, updated_at)"
                " VALUES (1, 'shopify', 'three.myshopify.com', 'k3', 'active', '2026-12-01', '2026-12-01')"
            )
        )
        assert conn.execute(text("SELECT max(id) FROM stores")).scalar_one() == 3
    after = _counts(engine)
    assert after["customers"] == after["orders"] == after["webhook_inbox"] == after["sync_state"] == 0
    assert after["product_subscriptions"] == after["notification_outbox"] == after["dead_letters"] == 0
    assert after["consent_events"] == 1  # the ledger outlives the store (store_id set null)


def test_downgrading_past_the_rebuild_keeps_every_row(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'new.sqlite3'}")
    upgrade(engine, "0011")
    _seed_two_stores(engine)
    upgrade(engine)
    before = _counts(engine)
    from connector.db import _alembic_config

    command.downgrade(_alembic_config(engine), "0011")
    after = _counts(engine)  # the tables of migrations after 0011 are gone, the rest keep their rows
    assert after == {t: before[t] for t in after}
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA foreign_key_check")).all() == []
        assert (
            "AUTOINCREMENT"
            not in conn.execute(text("SELECT sql FROM sqlite_master WHERE name = 'stores'")).scalar_one()
        )


def test_every_table_the_models_mark_autoincrement_is_so_in_a_migrated_sqlite_database(
    tmp_path: Path,
) -> None:
    # compare_metadata does not see AUTOINCREMENT: a model marked so needs its migration, checked here
    engine = make_engine(f"sqlite:///{tmp_path / 'fresh.sqlite3'}")
    upgrade(engine)
    marked = {t.name for t in Base.metadata.tables.values() if t.kwargs.get("sqlite_autoincrement")}
    with engine.connect() as conn:
        made: dict[str, str] = dict(
            conn.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'table'")).all()
        )
    assert marked == {
        "stores",
        "product_subscriptions",
        "notification_outbox",
        "dead_letters",
        "destinations",
    }
    assert {name for name, sql in made.items() if "AUTOINCREMENT" in (sql or "")} == marked
