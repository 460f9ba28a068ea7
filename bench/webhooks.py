"""Webhook receiver and worker throughput, measured in one run on this machine.

Usage: python -m bench.webhooks [--seconds 10] [--rates 250,500,1000] [--events 20000]
Needs `wrk` (Debian: apt-get install wrk). Serves the connector with gunicorn
(`crm-connector serve --workers 2`, embedded SQLite + Redis) and a hello-world Flask app
under the same gunicorn settings as the ceiling; wrk posts a real, signed Shopify
orders/create delivery (a new X-Shopify-Webhook-Id each time, so every one is stored).
Closed loop for the maximum rate, then paced loads for latency. Finally one worker
applies queued deliveries, and events/s is timed.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

SECRET = "bench-secret"
SHOP = "bench-shop.myshopify.com"
FIXTURE = (
    Path(__file__).resolve().parents[1].parent
    / "shared"
    / "fixtures"
    / "shopify"
    / "webhook-orders-create.json"
)
LUA = """
local counter = 0
local body = [[%(body)s]]
function request()
  counter = counter + 1
  local headers = {}
  headers["Content-Type"] = "application/json"
  headers["X-Shopify-Topic"] = "orders/create"
  headers["X-Shopify-Shop-Domain"] = "%(shop)s"
  headers["X-Shopify-API-Version"] = "2026-07"
  headers["X-Shopify-Hmac-Sha256"] = "%(signature)s"
  headers["X-Shopify-Webhook-Id"] = "bench-" .. id .. "-" .. counter
  return wrk.format("POST", "/webhooks/shopify", headers, body)
end
function setup(thread) thread:set("id", tostring(math.random(1, 1e9))) end
%(delay)s
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_up(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


def wrk(url: str, script: Path, seconds: int, connections: int) -> dict[str, float]:
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    latency = {
        p: _ms(re.search(rf"\s{p}%\s+([\d.]+\w+)", out).group(1))  # type: ignore[union-attr]
        for p in ("50", "99")
    }
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": rate,
        "p50_ms": latency["50"],
        "p99_ms": latency["99"],
        "non_2xx": float(non2xx.group(1)) if non2xx else 0.0,
    }


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def script(directory: Path, delay_ms: float | None) -> Path:
    body = FIXTURE.read_bytes().strip()
    signature = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
    delay = f"function delay() return {delay_ms:.3f} end" if delay_ms else ""
    path = directory / f"post-{delay_ms or 0}.lua"
    path.write_text(LUA % {"body": body.decode(), "shop": SHOP, "signature": signature, "delay": delay})
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rates", default="250,500,1000")
    parser.add_argument("--events", type=int, default=20_000)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("bench.webhooks needs wrk: apt-get install wrk")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        env = {
            **os.environ,
            "CONNECTOR_INSTANCE_PATH": str(work / "instance"),
            "SHOPIFY_API_KEY": "bench",
            "SHOPIFY_API_SECRET": SECRET,
            "WEB_CONCURRENCY": "2",
        }
        env.pop("DATABASE_URL", None)
        env.pop("REDIS_URL", None)
        cli = [sys.executable, "-m", "connector.cli"]
        subprocess.run(
            [*cli, "stores", "add-shopify", "--shop", SHOP, "--token", "shpat_" + "0" * 32],
            env=env,
            check=True,
            capture_output=True,
        )
        results: dict[str, Any] = {}
        for name, command in (
            (
                "hello-world Flask (ceiling)",
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "-w",
                    "2",
                    "-k",
                    "gthread",
                    "--threads",
                    "4",
                    "bench.hello:app",
                ],
            ),
            ("connector receiver", [*cli, "serve", "--workers", "2"]),
        ):
            port = free_port()
            proc = subprocess.Popen(
                [*command, "--port", str(port)]
                if command[0:3] == cli
                else [*command, "-b", f"127.0.0.1:{port}"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                url = f"http://127.0.0.1:{port}"
                wait_up(url)
                runs = {
                    "max (closed loop, 32 conns)": wrk(
                        f"{url}/webhooks/shopify", script(work, None), args.seconds, 32
                    )
                }
                for rate in (int(r) for r in args.rates.split(",")):
                    connections = 16
                    runs[f"offered {rate}/s"] = wrk(
                        f"{url}/webhooks/shopify",
                        script(work, 1000 * connections / rate),
                        args.seconds,
                        connections,
                    )
                results[name] = runs
            finally:
                proc.terminate()
                proc.wait(timeout=30)
        results["worker"] = worker_rate(env, args.events)
    print(json.dumps(results, indent=2))
    for name, runs in results.items():
        if name == "worker":
            continue
        print(f"\n{name}")
        for label, r in runs.items():
            print(
                f"  {label:30} {r['rps']:9,.0f} req/s   p50 {r['p50_ms']:7.2f} ms   p99 {r['p99_ms']:7.2f} ms"
                f"   non-2xx {r['non_2xx']:.0f}"
            )
    w = results["worker"]
    applied = f"{w['events']:,} queued deliveries in {w['seconds']:.2f} s"
    print(f"\none worker applied {applied}: {w['events_per_s']:,.0f}/s")


def worker_rate(env: dict[str, str], events: int) -> dict[str, float]:
    """Time one worker draining `events` stored deliveries (processing only)."""
    code = f"""
import json, time
from sqlalchemy import func, insert, select
from connector import create_app
from connector.db.models import Store
from connector.db.operations import WebhookInbox
from webhooks.process import process_inbox
from connector.runtime.queue import tune_gc_for_batches
tune_gc_for_batches()  # as `crm-connector worker` does
app = create_app()
with app.app_context():
    engine = app.extensions["crm.engine"]
    body = open({str(FIXTURE)!r}, "rb").read()
    order = json.loads(body)
    with engine.begin() as conn:
        store_id = conn.execute(select(Store.id)).scalar_one()
        conn.execute(insert(WebhookInbox), [dict(store_id=store_id, platform="shopify", topic="orders/create",
            dedup_key=f"w{{i}}", body=json.dumps({{**order, "id": 10**15 + i}}).encode(), status="pending")
            for i in range({events})])
    started = time.perf_counter()
    process_inbox(store_id)
    print(json.dumps({{"events": {events}, "seconds": time.perf_counter() - started}}))
"""
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    result["events_per_s"] = result["events"] / result["seconds"]
    return result


if __name__ == "__main__":
    main()
