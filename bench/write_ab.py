"""Two builds of the connector's write path, interleaved against one sandbox: this checkout
and another (a `git worktree` of main, say), each round a fresh database per build, an
orders backfill of one Shopify shop and one WooCommerce site; orders/s end to end and on
the connector's side (the writer not waiting on the sandbox), so before and after share
the machine's load. CPU time per order (the connector process's, all its threads) is the
figure a loaded machine disturbs least.

Usage: python -m bench.write_ab --other /tmp/main-tree [--orders 10000] [--rounds 3]
       [--database-url postgresql+psycopg://…/db  (dropped and made again each backfill)]
The sandbox has a render cache in a temporary folder, warmed by a first backfill.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.sandbox import running_sandbox

HERE = Path(__file__).resolve().parents[1]


def one_build(tree: Path, manifest: Path, folder: Path, database_url: str | None) -> dict[str, Any]:
    """A backfill of each platform by the build in `tree`, in its own process."""
    command = [sys.executable, "-m", "bench.write_ab", "--child", str(manifest), "--folder", str(folder)]
    if database_url:
        command += ["--database-url", database_url]
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True, check=True)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def child(manifest_file: Path, folder: Path, database_url: str | None) -> None:
    from bench.backfill import app_for, backfill
    from connector.runtime.queue import tune_gc_for_batches

    tune_gc_for_batches()
    manifest = json.loads(manifest_file.read_text())
    url = fresh_database(database_url) if database_url else None
    app, shop_id, site_id = app_for(url, manifest, folder)
    measured = {}
    for label, store in (("shopify", shop_id), ("woocommerce", site_id)):
        cpu = time.process_time()
        measured[label] = {**backfill(app, store), "cpu": time.process_time() - cpu}
    print(json.dumps(measured))


def fresh_database(url: str) -> str:
    """The database the URL names, dropped and made again (through the server's `postgres`)."""
    from sqlalchemy import make_url, text

    from connector.db import make_engine

    named = make_url(url)
    admin = make_engine(named.set(database="postgres").render_as_string(hide_password=False))
    with admin.execution_options(isolation_level="AUTOCOMMIT").connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{named.database}"'))
        conn.execute(text(f'CREATE DATABASE "{named.database}"'))
    admin.dispose()
    return url


def line(label: str, m: dict[str, float]) -> str:
    own = m["wall"] - m["waiting"]
    return (
        f"{label:26} {m['orders'] / m['wall']:7,.0f} orders/s end to end {m['orders'] / own:7,.0f} connector "
        f"side {m['cpu'] * 1e6 / m['orders']:5.0f} µs CPU/order "
        f"({m['wall']:.2f} s, {m['waiting']:.2f} s waiting)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--other", type=Path)
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child, args.folder, args.database_url)
    sizes = ["--orders", str(args.orders), "--customers", str(args.orders // 10), "--products", "500"]
    with (
        tempfile.TemporaryDirectory() as cache,
        tempfile.TemporaryDirectory() as scratch,
        running_sandbox(*sizes, "--unthrottled", "--render-cache", cache) as (_proc, manifest),
    ):
        manifest_file = Path(scratch) / "manifest.json"
        manifest_file.write_text(json.dumps(manifest))
        one_build(HERE, manifest_file, Path(scratch) / "warm", None)  # fills the shelves
        builds = {"this": HERE, "other": args.other}
        for round_ in range(args.rounds):
            for name, tree in builds.items():
                load = os.getloadavg()[0]
                folder = Path(scratch) / f"{name}{round_}"
                measured = one_build(tree, manifest_file, folder, args.database_url)
                for platform, m in measured.items():
                    print(line(f"round {round_ + 1} {name} {platform}", m) + f"  load {load:.1f}", flush=True)


if __name__ == "__main__":
    main()
