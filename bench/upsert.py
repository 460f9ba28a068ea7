"""Bulk upsert throughput (rows/s) against a plain executemany INSERT of the same rows.

Usage: python -m bench.upsert [--rows N] [--postgres URL]
Runs on SQLite (a fresh file) and, when reachable, PostgreSQL (a fresh `crm_bench`
database on that server); prints one table.
Rows are customers shaped from the real Shopify fixture, each with its raw payload.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, insert, make_url, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from connector.db import make_engine, upgrade
from connector.db.models import Customer
from connector.db.upsert import upsert
from tests.builders import customer_row, make_store

TABLE = cast(Table, Customer.__table__)


def rows_for(store_id: int, n: int, shift_s: int = 0) -> list[dict[str, Any]]:
    base = customer_row(store_id)
    at = base["source_updated_at"] + timedelta(seconds=shift_s)
    return [
        {**base, "platform_id": 7_000_000_000_000 + i, "email": f"c{i}@example.com", "source_updated_at": at}
        for i in range(n)
    ]


def timed(engine: Engine, work: Callable[[Any], object]) -> float:
    start = time.perf_counter()
    with engine.begin() as conn:
        work(conn)
    return time.perf_counter() - start


def reset(engine: Engine) -> int:
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM customers"))
        conn.execute(text("DELETE FROM stores"))
        conn.execute(text("DELETE FROM accounts"))
        return make_store(conn)


def measure(engine: Engine, n: int) -> dict[str, float]:
    store_id = reset(engine)
    plain_rows = rows_for(store_id, n)
    t_plain = timed(engine, lambda c: c.execute(insert(TABLE), plain_rows))
    store_id = reset(engine)
    t_create = timed(engine, lambda c: upsert(c, TABLE, rows_for(store_id, n)))
    t_replay = timed(engine, lambda c: upsert(c, TABLE, rows_for(store_id, n)))
    t_update = timed(engine, lambda c: upsert(c, TABLE, rows_for(store_id, n, shift_s=60)))
    return {
        "plain insert": n / t_plain,
        "upsert (create)": n / t_create,
        "upsert (replay, all stale)": n / t_replay,
        "upsert (update)": n / t_update,
    }


def bench_database(server_url: str) -> Engine:
    """A fresh `crm_bench` database on the given server, so no other database is touched."""
    admin = make_engine(server_url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("DROP DATABASE IF EXISTS crm_bench"))
        conn.execute(text("CREATE DATABASE crm_bench"))
    admin.dispose()
    engine = make_engine(make_url(server_url).set(database="crm_bench").render_as_string(hide_password=False))
    upgrade(engine)
    return engine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        sqlite = make_engine(f"sqlite:///{Path(tmp) / 'bench.sqlite3'}")
        upgrade(sqlite)
        results["SQLite"] = measure(sqlite, args.rows)
    try:
        pg = bench_database(args.postgres)
        results["PostgreSQL"] = measure(pg, args.rows)
    except OperationalError:
        print("PostgreSQL not reachable; skipped")
    print(f"{args.rows} customer rows with raw payloads; rows/s (higher is better)")
    names = list(next(iter(results.values())))
    print(f"{'':28}" + "".join(f"{db:>14}" for db in results))
    for name in names:
        print(f"{name:28}" + "".join(f"{results[db][name]:>14,.0f}" for db in results))
    for db, r in results.items():
        print(f"{db}: upsert (create) runs at {r['upsert (create)'] / r['plain insert']:.2f}x plain insert")


if __name__ == "__main__":
    main()
