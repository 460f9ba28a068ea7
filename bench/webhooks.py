"""Webhook receiver and worker throughput, measured in one run on this machine.

Usage: python -m bench.webhooks [--seconds 10] [--rates 500,1000] [--events 20000] [--servers …]
Needs `wrk` (Debian: apt-get install wrk) and, for their rows, gevent and granian
(`pip install -e ".[bench]"`). Under each server (SERVERS: its worker class and settings)
it serves a hello-world Flask app (the ceiling) and the connector (embedded SQLite +
Redis), both the same way. wrk posts a real, signed Shopify orders/create delivery in a
closed loop for the maximum rate; then bench/open_loop.py offers each rate on a fixed
schedule (latency from the scheduled send, so no coordinated omission), each delivery a
new X-Shopify-Webhook-Id; the inbox is counted after to show every acknowledged delivery
stored. Finally one worker applies queued deliveries, and deliveries/s is timed.
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

from bench import open_loop

SECRET = "bench-secret"
GUNICORN = [sys.executable, "-m", "gunicorn"]
GRANIAN = [sys.executable, "-m", "granian"]
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
local threads = 0
function setup(thread) threads = threads + 1; thread:set("id", "%(run)s-" .. threads) end
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
            requests.get(url, timeout=5)
            return
        except requests.RequestException:  # not listening yet, or too busy starting to answer
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
    requests_done = re.search(r"(\d+) requests in", out)
    return {
        "requests": float(requests_done.group(1)) if requests_done else 0.0,
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
    path.write_text(
        LUA
        % {
            "body": body.decode(),
            "shop": SHOP,
            "signature": signature,
            "delay": delay,
            "run": os.urandom(6).hex(),
        }
    )
    return path


SERVE = [sys.executable, "-m", "connector.cli", "serve", "--workers", "2"]  # what merchants run
GTHREAD = [*GUNICORN, "-w", "2", "-k", "gthread", "--keep-alive", "5", "--preload", "--threads"]
SERVERS: dict[str, list[str]] = {  # the server and its settings; the app (WSGI target) follows
    "crm-connector serve (gunicorn 2x4)": SERVE,  # its ceiling: the same gunicorn settings, hello-world
    "gunicorn gthread 2x4": [*GTHREAD, "4"],  # the settings `serve` runs, from the gunicorn CLI
    "gunicorn gthread 2x16": [*GTHREAD, "16"],
    "gunicorn sync x4": [*GUNICORN, "-w", "4", "-k", "sync", "--preload"],
    "gunicorn gevent 2x100": [*GUNICORN, "-w", "2", "-k", "gevent", "--worker-connections", "100"],
    "granian wsgi 2x4": [*GRANIAN, "--interface", "wsgi", "--workers", "2", "--blocking-threads", "4"],
    "granian wsgi 2x16": [*GRANIAN, "--interface", "wsgi", "--workers", "2", "--blocking-threads", "16"],
}
APPS = {"hello-world Flask (ceiling)": "bench.hello:app", "connector receiver": "connector:create_app"}


def server_command(server: str, app: str, port: int) -> list[str]:
    base = SERVERS[server]
    if base == SERVE:
        if app.endswith("create_app"):
            return [*SERVE, "--host", "127.0.0.1", "--port", str(port)]
        return server_command("gunicorn gthread 2x4", app, port)
    if base[:3] == GUNICORN:
        target = f"{app}()" if app.endswith("create_app") else app
        return [*base, "-b", f"127.0.0.1:{port}", "--log-level", "warning", target]
    factory = ["--factory"] if app.endswith("create_app") else []
    return [*base, "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", *factory, app]


def request_maker(run: str) -> Any:
    body = FIXTURE.read_bytes().strip()
    signature = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": "orders/create",
        "X-Shopify-Shop-Domain": SHOP,
        "X-Shopify-API-Version": "2026-07",
        "X-Shopify-Hmac-Sha256": signature,
    }

    def request_for(i: int) -> bytes:
        unique = {**headers, "X-Shopify-Webhook-Id": f"open-{run}-{i}"}
        return open_loop.post("/webhooks/shopify", "127.0.0.1", unique, body)

    return request_for


def measure(server: str, app: str, env: dict[str, str], work: Path, args: Any) -> dict[str, Any]:
    port = free_port()
    proc = subprocess.Popen(
        server_command(server, app, port), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    runs: dict[str, Any] = {}
    try:
        url = f"http://127.0.0.1:{port}"
        wait_up(url)
        runs["max (wrk closed loop, 32 conns)"] = wrk(
            f"{url}/webhooks/shopify", script(work, None), args.seconds, 32
        )
        for rate in (int(r) for r in args.rates.split(",")):
            out = open_loop.run("127.0.0.1", port, rate, args.seconds, request_maker(f"{port}-{rate}"))
            runs[f"open loop {rate}/s"] = {
                "rps": out.achieved,
                "p50_ms": out.percentile(50),
                "p99_ms": out.percentile(99),
                "non_2xx": float(out.non_2xx + out.errors),
                "answered_2xx": float(out.statuses.get(200, 0)),
                "connections": float(out.connections),
            }
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return runs


def inbox_rows(env: dict[str, str]) -> int:
    code = """
from sqlalchemy import func, select
from connector import create_app
from connector.db import get_engine
from connector.db.operations import WebhookInbox
with get_engine(create_app()).connect() as conn:
    opened = WebhookInbox.dedup_key.like("open-%")  # the open-loop runs' deliveries
    print(conn.execute(select(func.count()).select_from(WebhookInbox).where(opened)).scalar_one())
"""
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return int(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rates", default="500,1000")
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--servers", default=",".join(SERVERS), help="comma-separated: " + ", ".join(SERVERS))
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("bench.webhooks needs wrk: apt-get install wrk")
    servers = [s.strip() for s in args.servers.split(",")]
    unknown = [s for s in servers if s not in SERVERS]
    if unknown:
        sys.exit(f"--servers: unknown {unknown}; choose from {list(SERVERS)}")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        env = {
            **os.environ,
            "CONNECTOR_INSTANCE_PATH": str(work / "instance"),
            "SHOPIFY_API_KEY": "bench",
            "SHOPIFY_API_SECRET": SECRET,
        }
        env.pop("DATABASE_URL", None)
        env.pop("REDIS_URL", None)
        subprocess.run([sys.executable, "-c", SETUP % {"shop": SHOP}], env=env, check=True)
        holder = subprocess.Popen(  # owns the embedded Redis for the whole run; every server attaches
            [sys.executable, "-c", HOLD], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        assert holder.stdout is not None
        holder.stdout.readline()
        results: dict[str, Any] = {}
        try:
            for server in servers:
                for name, app in APPS.items():
                    before = inbox_rows(env)
                    runs = measure(server, app, env, work, args)
                    if app != APPS["hello-world Flask (ceiling)"]:
                        stored = inbox_rows(env) - before
                        runs["inbox"] = {"acknowledged": _acknowledged(runs), "stored": stored}
                    results[f"{server} / {name}"] = runs
                    print_runs(f"{server} / {name}", runs)
            results["worker"] = worker_rate(env, args.events)
        finally:
            holder.communicate(b"", timeout=30)
    report(results)


SETUP = """
from sqlalchemy.orm import Session
from connector import create_app
from connector.accounts.stores import account_named
from connector.db import get_engine, upgrade
from connector.db.models import Store
engine = get_engine(create_app())
upgrade(engine)
with Session(engine) as s:
    account = account_named(s, "bench")
    s.add(Store(account_id=account.id, platform="shopify", domain="%(shop)s", store_key="bench-shop"))
    s.commit()
"""
HOLD = """
import sys
from connector import create_app
app = create_app()
print("up", flush=True)
sys.stdin.read()
"""


def _acknowledged(runs: dict[str, Any]) -> int:
    """Deliveries answered 200 by the open-loop runs (each a new webhook id): every one of
    them must be in the inbox."""
    return sum(int(r.get("answered_2xx", 0)) for r in runs.values())


def report(results: dict[str, Any]) -> None:
    print(json.dumps(results, indent=2))
    for name, runs in results.items():
        if name != "worker":
            print_runs(name, runs)
    w = results["worker"]
    applied = f"{w['events']:,} queued deliveries in {w['seconds']:.2f} s"
    print(f"\none worker applied {applied}: {w['events_per_s']:,.0f}/s")


def print_runs(name: str, runs: dict[str, Any]) -> None:
    print(f"\n{name}")
    for label, r in runs.items():
        if label == "inbox":
            print(f"  acknowledged {r['acknowledged']:,} new deliveries; {r['stored']:,} inbox rows")
            continue
        print(
            f"  {label:34} {r['rps']:9,.0f} req/s   p50 {r['p50_ms']:7.2f} ms   p99 {r['p99_ms']:7.2f} ms"
            f"   non-2xx {r['non_2xx']:.0f}",
            flush=True,
        )


def worker_rate(env: dict[str, str], events: int) -> dict[str, float]:
    """Time one worker draining `events` stored deliveries and whatever the receiver runs
    left pending for the same store (processing only); events: how many it applied."""
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
    applied = sum(process_inbox(store_id).values())  # the receiver runs' deliveries too
    print(json.dumps({{"events": applied, "seconds": time.perf_counter() - started}}))
"""
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    result["events_per_s"] = result["events"] / result["seconds"]
    return result


if __name__ == "__main__":
    main()
