"""Two builds of the connector's write path, interleaved against one sandbox: this checkout
and another (a `git worktree` of main, say), each round a fresh database per build, an
orders backfill of one Shopify shop and one WooCommerce site; orders/s end to end and on
the connector's side (the writer not waiting on the sandbox), so before and after share
the machine's load.

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
    from bench.backfill import app_for, backfill, fresh_postgres
    from connector.runtime.queue import tune_gc_for_batches

    tune_gc_for_batches()
    manifest = json.loads(manifest_file.read_text())
    url = fresh_postgres(database_url) if database_url else None
    app, shop_id, site_id = app_for(url, manifest, folder)
    stores = (("shopify", shop_id), ("woocommerce", site_id))
    measured = {label: backfill(app, store) for label, store in stores}
    print(json.dumps(measured))


def line(label: str, m: dict[str, float]) -> str:
    own = m["wall"] - m["waiting"]
    return (
        f"{label:28} {m['orders'] / m['wall']:8,.0f} orders/s end to end  "
        f"{m['orders'] / own:8,.0f} connector side  ({m['wall']:.2f} s, {m['waiting']:.2f} s waiting)"
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
