"""A first push of N contacts (100,000 by default) to each destination's sandbox, measured
against the floor that destination's published limits allow as the sandbox enforces them.

Usage: python -m bench.push [--contacts N] [--kinds hubspot,salesforce,zoho] [--postgres URL]
       [--pg-database NAME] [--profile FILE] [--latency-ms L] [--sandbox-in-process]
Per database (a fresh SQLite file and, if given, a fresh PostgreSQL database, `crm_bench_push`
unless --pg-database names another, so two runs on one server need not share one)
and per kind: one account whose N contacts are inserted directly (one store, one customer row
per contact from the Shopify fixture; not the sync write path), the sandbox server started as
the tests start it (https for Salesforce, so simple-salesforce can reach the org; plain http
for the others), the
destination added through `connector.accounts.destinations.add` after its credentials are
checked (which marks every contact for it), then one push: a first push. Salesforce's and
Zoho's answers are each held --latency-ms (250 by default: the sandbox's per-call latency model,
an assumption, not a published figure). Prints wall time, calls made, the floor and the ratio.
The sandbox runs in a process of its own (bench/sandbox_process.py), as a CRM runs on a host of
its own, unless --sandbox-in-process. cpu_s is the bench process's CPU time during the push
(all its threads; the sandbox's only with --sandbox-in-process); crm_cpu_s the sandbox process's
(the CRM's own work, which the floor counts as nothing; nan with --sandbox-in-process); peak_mb
the bench process's peak resident size so far.
Needs Redis (REDIS_URL; the push takes a lock there).
"""

from __future__ import annotations

import argparse
import cProfile
import math
import os
import resource
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from flask import Flask
from sqlalchemy import func, insert, make_url, select, text

import destinations as kinds
from bench import crm_floor, sandbox_process
from connector import create_app
from connector.accounts import destinations
from connector.db import get_engine, make_engine, session, upgrade
from connector.db.models import Contact, Customer, Store
from connector.db.operations import DestinationRecord
from connector.runtime.queue import tune_gc_for_batches
from sandbox.generator import Sizes
from sandbox.hubspot.portal import Portal
from sandbox.server import SandboxServer
from sandbox.world import World
from sync.push import push
from tests.builders import customer_row, make_store

CHUNK = 5_000
LATENCY_MS: dict[str, int] = {}  # kind → each CRM answer held this long (--latency-ms; not HubSpot)
BATCH_CALL = {"hubspot": 100, "zoho": 100}  # records per batch upsert call, as each API takes
# https where a client insists on it (simple-salesforce); else plain http: the sandbox's server
# closes every connection, so each call over TLS would pay a handshake (in this process, under
# its GIL) that a real API's kept-alive connection pays once
TLS = {"salesforce"}


def floor_s(kind: str, n: int, server: SandboxServer, latency: dict[str, int]) -> tuple[float, str]:
    """The least wall time the destination's limits (as the sandbox enforces them) allow for
    a first push of n contacts, and how it was reckoned (Salesforce and Zoho: bench/crm_floor.py)."""
    if kind == "hubspot":
        portal: Portal = server.world.hubspot
        calls = -(-n // BATCH_CALL[kind])
        windows = -(-calls // portal.max_per_window) - 1  # the first window's calls go at once
        return windows * portal.window_ms / 1000, (
            f"{calls} batch upserts of 100, {portal.max_per_window} calls per {portal.window_ms} ms"
        )
    return crm_floor.floor_s(kind, n, server, latency.get(kind, 0) / 1000)


def facts_of(kind: str, n: int, server: SandboxServer, latency: dict[str, int]) -> dict[str, Any]:
    """What the bench needs of the sandbox: the credentials, the API's address, the floor."""
    credentials, api_url = given(kind, server)
    floor, how = floor_s(kind, n, server, latency)
    tls = server.world.manifest().get("tls") or {}
    return {
        "credentials": credentials,
        "api_url": api_url,
        "floor": floor,
        "how": how,
        "ca_file": tls.get("ca_file"),
    }


def given(kind: str, server: SandboxServer) -> tuple[dict[str, str], str | None]:
    manifest = server.world.manifest()
    if kind == "hubspot":
        return {"token": server.world.hubspot.token}, server.url + "/hubspot"
    entry = manifest[kind]
    keys = {
        "salesforce": ("instance_url", "client_id", "client_secret"),
        "zoho": ("client_id", "client_secret", "refresh_token", "accounts_url"),
    }[kind]
    return {k: entry[k] for k in keys}, None


def held_there(kind: str, server: SandboxServer) -> int:
    world = server.world
    org = {"hubspot": world.hubspot, "salesforce": world.salesforce, "zoho": world.zoho}[kind]
    assert org is not None
    return int(org.counts()["contacts"])


def build_account(app: Flask, n: int) -> int:
    """An account `bench` with n contacts, each known from one customer row of its store."""
    with get_engine(app).begin() as conn:
        store_id = make_store(conn)
        conn.execute(text("UPDATE accounts SET name = 'bench'"))
        account_id = conn.execute(select(Store.account_id).where(Store.id == store_id)).scalar_one()
        base = customer_row(store_id)
        for start in range(0, n, CHUNK):
            people = [
                {
                    "account_id": account_id,
                    "email": f"person{i}@example.com",
                    "email_normalized": f"person{i}@example.com",
                    "first_name": f"First{i}",
                    "last_name": f"Last{i}",
                }
                for i in range(start, min(start + CHUNK, n))
            ]
            ids = conn.execute(insert(Contact).returning(Contact.id), people).scalars().all()
            conn.execute(
                insert(Customer),
                [
                    {**base, "platform_id": 9_000_000_000 + i, "email": p["email"], "contact_id": cid}
                    for i, (p, cid) in enumerate(zip(people, ids, strict=True), start=start)
                ],
            )
    return int(account_id)


@contextmanager
def sandbox_server(tls: bool, latency: dict[str, int]) -> Iterator[SandboxServer]:
    world = World(seed=20, sizes=Sizes(customers=5, orders=5, products=3))
    server = SandboxServer(world, tls=tls).start()
    if tls:
        os.environ["REQUESTS_CA_BUNDLE"] = server.world.manifest()["tls"]["ca_file"]
    for kind, ms in latency.items():
        getattr(server.world, kind).faults.latency_ms = ms
    try:
        yield server
    finally:
        server.stop()


def app_for(database_url: str, folder: Path) -> Flask:
    app = create_app(
        {
            "DATABASE_URL": database_url,
            "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/10"),
            "CONNECTOR_INSTANCE_PATH": str(folder),
            "SECRET_KEY": "bench-secret-key-0123456789",
            "CONNECTOR_ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "CONNECTOR_LOG_FORMAT": "json",
        }
    )
    upgrade(get_engine(app))
    return app


@contextmanager
def crm(
    kind: str, n: int, apart: bool
) -> Iterator[tuple[dict[str, Any], Callable[[], int], Callable[[], float]]]:
    """The kind's sandbox (in a process of its own when `apart`): its facts, its count, and its
    process's CPU time (NaN in the bench's process: it is then part of cpu_s)."""
    start = partial(sandbox_server, latency=dict(LATENCY_MS))
    facts = partial(facts_of, latency=dict(LATENCY_MS))
    if apart:
        plan = sandbox_process.Plan(start, facts, held_there, kind, n, kind in TLS)
        with sandbox_process.remote(plan) as away:
            yield away.facts, away.held, away.cpu_s
        return
    with start(kind in TLS) as server:
        yield facts(kind, n, server), lambda: held_there(kind, server), lambda: math.nan


def one_push(app: Flask, kind: str, n: int, profile: str | None, apart: bool) -> dict[str, Any]:
    with crm(kind, n, apart) as (facts, held, crm_cpu):
        checked = kinds.get(kind).check(facts["credentials"], facts["api_url"])
        with session(app) as s, s.begin():
            dest_id = destinations.add(
                s, app.extensions["crm.vault"], account="bench", kind=kind, credentials=checked
            ).id
        profiler = cProfile.Profile() if profile else None
        started, cpu, theirs = time.perf_counter(), time.process_time(), crm_cpu()
        with app.app_context():
            if profiler:
                profiler.enable()
            summary = push(app, dest_id)  # `add` marked everything: the first push
            if profiler:
                profiler.disable()
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        theirs = crm_cpu() - theirs
        if profiler and profile:
            profiler.dump_stats(f"{profile}.{kind}")
        with get_engine(app).connect() as conn:
            noted = conn.execute(
                select(func.count())
                .select_from(DestinationRecord)
                .where(DestinationRecord.destination_id == dest_id, DestinationRecord.object == "contacts")
            ).scalar_one()
        return {
            "kind": kind,
            "outcome": summary.outcome,
            "wall": wall,
            "cpu": cpu,
            "crm_cpu": theirs,
            "calls": summary.pacing.get("calls"),
            "waited": summary.pacing.get("waited_s"),
            "held": held(),
            "noted": noted,
            "floor": facts["floor"],
            "how": facts["how"],
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }


def analyze(app: Flask) -> None:
    """PostgreSQL's planner statistics for the rows just inserted, as autovacuum gathers them
    within a minute of a backfill; without them it plans the views' queries for empty tables
    (measured: the addresses of 1,000 contacts in 154 ms instead of 4 ms)."""
    engine = get_engine(app)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))


def fresh_postgres(url: str, name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise SystemExit(f"--pg-database: {name!r} is not a plain database name")
    admin = make_engine(url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))  # a plain name, checked above
        conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def report(db: str, row: dict[str, Any]) -> None:
    floor = row["floor"]
    ratio = f"{row['wall'] / floor:5.2f}x" if floor else "  n/a"
    print(
        f"  {db:<10} {row['kind']:<11} {row['outcome']:<6} {row['held']:>8,} {row['noted']:>8,}"
        f" {row['calls']!s:>6} {row['waited']!s:>8} {row['wall']:8.1f} {row['cpu']:6.1f}"
        f" {row['crm_cpu']:9.1f} {floor:7.1f} {ratio}"
        f" {row['peak_mb']:7.0f}  {row['how']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--kinds", default="hubspot,salesforce,zoho")
    parser.add_argument("--postgres", default=None, help="a PostgreSQL server URL (optional)")
    parser.add_argument("--pg-database", default="crm_bench_push", help="the PostgreSQL database to make")
    parser.add_argument("--profile", default=None, help="cProfile stats to FILE.<kind>")
    parser.add_argument("--latency-ms", type=int, default=250, help="Salesforce and Zoho per-call ms")
    parser.add_argument(
        "--sandbox-in-process", action="store_true", help="the sandbox in the bench's process (as before)"
    )
    args = parser.parse_args()
    tune_gc_for_batches()  # as `crm-connector worker` (which runs the push jobs) does
    LATENCY_MS.update({"salesforce": args.latency_ms, "zoho": args.latency_ms})
    print(
        "  database   kind        outcome      held    noted  calls  waited_s   wall_s  cpu_s"
        " crm_cpu_s floor_s ratio peak_mb"
    )
    with tempfile.TemporaryDirectory() as tmp:
        urls = [("SQLite", f"sqlite:///{tmp}/bench.db")]
        if args.postgres:
            urls.append(("PostgreSQL", fresh_postgres(args.postgres, args.pg_database)))
        for db, url in urls:
            for kind in args.kinds.split(","):
                app = app_for(url, Path(tmp) / f"instance-{db}-{kind}")
                with get_engine(app).begin() as conn:  # a fresh account per kind
                    for table in ("destination_records", "destination_marks", "destinations"):
                        conn.execute(text(f"DELETE FROM {table}"))  # constant names
                    for table in ("customers", "contacts", "stores", "accounts"):
                        conn.execute(text(f"DELETE FROM {table}"))
                build_account(app, args.contacts)
                analyze(app)
                report(db, one_push(app, kind, args.contacts, args.profile, not args.sandbox_in_process))
                get_engine(app).dispose()


if __name__ == "__main__":
    main()
