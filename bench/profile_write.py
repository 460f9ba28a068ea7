"""Where a backfill's writer spends its time: one orders backfill per platform into SQLite
(or `--database-url`) from a warm render cache, under cProfile, as microseconds per order
for each stage of the write path, and the text profile kept in bench/profiles/.

Usage: python -m bench.profile_write [--orders 10000] [--database-url URL]
The sandbox is its own process with a render cache in a temporary folder, warmed by a first
backfill into a throwaway store before the profiled one.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import tempfile
from pathlib import Path
from typing import Any

from bench.backfill import app_for, backfill
from bench.sandbox import running_sandbox
from connector.runtime.queue import tune_gc_for_batches

PROFILES = Path(__file__).parent / "profiles"
STAGES = {  # stage → (file suffix, function name) whose cumulative time it is
    "mapping (platform mapper, storable checks)": ("sync/engine.py", "map_records"),
    "write: identity (contacts)": ("connector/write/apply.py", "assign_identity"),
    "write: parents (orders upsert)": ("connector/write/apply.py", "write_parents"),
    "write: children (line items)": ("connector/write/apply.py", "write_children"),
    "write: consent": ("connector/write/apply.py", "apply_consent"),
    "write: statistics": ("connector/write/apply.py", "note_statistics"),
    "write: insights noted per chunk": ("connector/write/apply.py", "refresh_insights"),
    "all of apply_isolating": ("connector/write/apply.py", "apply_isolating"),
    "commit": ("sqlalchemy/engine/base.py", "commit"),
    "checkpoints": ("sync/checkpoints.py", "checkpoint"),
    "insights settled at the step's end": ("connector/crm/insight_backlog.py", "settle"),
}


def stage_times(stats: pstats.Stats) -> dict[str, float]:
    found: dict[str, float] = {}
    table: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    for (path, _line, name), (_cc, _nc, _tt, cumulative, _callers) in table.items():
        for stage, (suffix, wanted) in STAGES.items():
            if name == wanted and path.endswith(suffix):
                found[stage] = found.get(stage, 0.0) + cumulative
    return found


def profiled(app: Any, store_id: int, label: str, orders: int) -> list[str]:
    profile = cProfile.Profile()
    profile.enable()
    measured = backfill(app, store_id)
    profile.disable()
    text = io.StringIO()
    stats = pstats.Stats(profile, stream=text)
    stats.sort_stats("cumulative").print_stats(45)
    PROFILES.mkdir(exist_ok=True)
    (PROFILES / f"write_path_{label}.txt").write_text(text.getvalue())
    lines = [
        f"{label}: {measured['orders']:,.0f} orders, wall {measured['wall']:.2f} s under cProfile, "
        f"{measured['waiting']:.2f} s waiting on the sandbox"
    ]
    for stage, seconds in stage_times(stats).items():
        lines.append(f"  {stage:58} {seconds * 1e6 / max(measured['orders'], 1):8.1f} µs/order")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    tune_gc_for_batches()
    sizes = ["--orders", str(args.orders), "--customers", str(args.orders // 10), "--products", "500"]
    with (
        tempfile.TemporaryDirectory() as cache,
        tempfile.TemporaryDirectory() as folder,
        running_sandbox(*sizes, "--unthrottled", "--render-cache", cache) as (_proc, manifest),
    ):
        warm, warm_shop, warm_site = app_for(None, manifest, Path(folder) / "warm")
        backfill(warm, warm_shop), backfill(warm, warm_site)  # fills the shelves
        app, shop_id, site_id = app_for(args.database_url, manifest, Path(folder) / "profiled")
        for label, store_id in (("shopify", shop_id), ("woocommerce", site_id)):
            for line in profiled(app, store_id, label, args.orders):
                print(line, flush=True)


if __name__ == "__main__":
    main()
