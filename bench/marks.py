"""Marking everything for a destination (`destination_outbox.mark_everything`: what adding one,
or `push --full`, does), timed on a fresh database: N contacts of one account, then two rounds,
the first with nothing waiting and the second with every contact already waiting there.

Usage: python -m bench.marks [--contacts N] [--database URL]   (default: a fresh SQLite file;
a PostgreSQL URL's database is emptied first)
"""

from __future__ import annotations

import argparse
import tempfile
import time

from sqlalchemy import insert, text
from sqlalchemy.engine import Engine

from connector.crm import destination_outbox
from connector.db import make_engine, upgrade
from connector.db.models import Account, Contact
from connector.db.operations import Destination


def fresh(url: str) -> Engine:
    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    upgrade(engine)
    return engine


def account_with_contacts(engine: Engine, n: int) -> tuple[int, int]:
    """An account of n contacts and a destination row for it (no marks yet)."""
    with engine.begin() as conn:
        account = conn.execute(insert(Account).values(name="bench").returning(Account.id)).scalar_one()
        rows = [
            {"account_id": account, "email": f"p{i}@x.example", "email_normalized": f"p{i}@x.example"}
            for i in range(n)
        ]
        conn.execute(insert(Contact), rows)
        values = {"account_id": account, "kind": "hubspot", "credentials": b"-", "status": "active"}
        dest = conn.execute(insert(Destination).values(values).returning(Destination.id)).scalar_one()
    return int(account), int(dest)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--database", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        engine = fresh(args.database or f"sqlite:///{tmp}/marks.db")
        account, dest = account_with_contacts(engine, args.contacts)
        for label in ("nothing waiting", "all waiting"):
            started = time.perf_counter()
            with engine.begin() as conn:
                destination_outbox.mark_everything(conn, dest, account)
            took = time.perf_counter() - started
            print(f"{engine.dialect.name:<10} {args.contacts:,} contacts, {label}: {took:.2f} s")
        engine.dispose()


if __name__ == "__main__":
    main()
