"""`crm-connector serve` (gunicorn: connector/runtime/web_server.py) run as a process manager
runs it: it answers over real HTTP and stores a signed delivery, SIGHUP respawns its workers
and it keeps answering, a killed worker is replaced, SIGTERM ends every process it started and
a SIGKILL of the server takes its workers with it. Where it cannot listen (a port in use, by
another program or by another copy of itself; a host not of this machine) it says so, exit 2,
before anything starts."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import psutil
import pytest
import requests
from flask import Flask
from sqlalchemy import func, select

from connector.cli.listening import BUSY
from connector.db import get_engine
from connector.db.operations import WebhookInbox
from tests.builders import fixture, make_store
from tests.webhooks.conftest import b64_hmac

pytestmark = pytest.mark.slow
SECRET = "serve-test-secret"
SHOP = "serve-test.myshopify.com"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", "from connector.cli import main; main()", "serve", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def wait_for(predicate: Callable[[], Any], what: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def answers(url: str) -> bool:
    try:
        return requests.get(f"{url}/healthz", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def workers_of(proc: subprocess.Popen[str]) -> list[psutil.Process]:
    return psutil.Process(proc.pid).children()


def alive(procs: list[psutil.Process]) -> list[int]:
    left = []
    for p in procs:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                left.append(p.pid)
        except psutil.NoSuchProcess:
            continue
    return left


def signed(body: bytes, webhook_id: str) -> dict[str, str]:
    """The headers of a Shopify orders/create delivery of `body`, signed with the app's secret."""
    return {
        "Content-Type": "application/json",
        "X-Shopify-Topic": "orders/create",
        "X-Shopify-Shop-Domain": SHOP,
        "X-Shopify-API-Version": "2026-07",
        "X-Shopify-Webhook-Id": webhook_id,
        "X-Shopify-Hmac-Sha256": b64_hmac(SECRET, body),
    }


def deliver(url: str, webhook_id: str) -> int:
    body = json.dumps(fixture("shopify/webhook-orders-create.json")).encode()
    return requests.post(
        f"{url}/webhooks/shopify", data=body, headers=signed(body, webhook_id), timeout=10
    ).status_code


def stored(app: Flask) -> int:
    with get_engine(app).connect() as conn:
        return int(conn.execute(select(func.count()).select_from(WebhookInbox)).scalar_one())


# --- given ------------------------------------------------------------------------------


@pytest.fixture
def env(app: Flask, app_env: dict[str, str]) -> dict[str, str]:
    """The test's database and Redis, a shop's store in it, and the app's Shopify secret."""
    with get_engine(app).begin() as conn:
        make_store(conn, domain=SHOP)
    return {**os.environ, **app_env, "SHOPIFY_API_KEY": "serve-test", "SHOPIFY_API_SECRET": SECRET}


@pytest.fixture
def served(env: dict[str, str]) -> Iterator[tuple[subprocess.Popen[str], str]]:
    port = free_port()
    proc = serve(env, "--port", str(port), "--workers", "2")
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: answers(url) or proc.poll() is not None, "serve to answer")
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        wait_for(lambda: len(workers_of(proc)) == 2, "two workers")
        yield proc, url
    finally:
        if proc.poll() is None:
            for p in psutil.Process(proc.pid).children(recursive=True):
                p.kill()
            proc.kill()
        proc.wait(timeout=30)


# --- then -------------------------------------------------------------------------------


def test_serve_stores_a_signed_delivery_and_keeps_serving_through_a_reload(
    app: Flask, served: tuple[subprocess.Popen[str], str]
) -> None:
    proc, url = served
    # when a signed delivery arrives over HTTP, it is answered once stored
    assert deliver(url, "serve-1") == 200
    assert stored(app) == 1
    # when SIGHUP asks for new workers, they replace the old ones and deliveries go on landing
    before = {p.pid for p in workers_of(proc)}
    proc.send_signal(signal.SIGHUP)
    wait_for(
        lambda: not before & {p.pid for p in workers_of(proc)} and len(workers_of(proc)) == 2, "new workers"
    )
    assert deliver(url, "serve-2") == 200 and deliver(url, "serve-2") == 200  # the second a duplicate
    assert stored(app) == 2
    # when it gets SIGTERM, it exits 0 and no process of it is left
    started = [psutil.Process(proc.pid), *workers_of(proc)]
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    wait_for(lambda: alive(started) == [], "every process of serve to end", timeout=15)


def test_a_worker_killed_is_replaced(served: tuple[subprocess.Popen[str], str]) -> None:
    proc, url = served
    victim = workers_of(proc)[0]
    victim.kill()
    wait_for(
        lambda: victim.pid not in {p.pid for p in workers_of(proc)} and len(workers_of(proc)) == 2,
        "a new worker",
    )
    assert all(answers(url) for _ in range(10))


def test_a_killed_server_takes_its_workers_with_it(served: tuple[subprocess.Popen[str], str]) -> None:
    proc, url = served
    workers = workers_of(proc)
    proc.kill()  # SIGKILL: nothing of the server's own runs
    proc.wait(timeout=10)
    wait_for(lambda: alive(workers) == [], "its workers to end", timeout=15)
    assert not answers(url)


@pytest.mark.parametrize("workers", ["0", "-3"])
def test_fewer_than_one_worker_is_refused(env: dict[str, str], workers: str) -> None:
    proc = serve(env, "--workers", workers, "--port", str(free_port()))
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert f"'--workers': {workers} is not in the range x>=1" in err


@pytest.mark.parametrize("args", [("--host", "10.255.255.1"), ("--host", "no-such-host.invalid")])
def test_a_host_not_of_this_machine_is_refused(env: dict[str, str], args: tuple[str, ...]) -> None:
    proc = serve(env, *args, "--port", str(free_port()))
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert err == f"crm-connector: --host: {args[1]} is not an address of this machine\n"


def test_a_port_held_by_another_program_or_another_serve_is_refused(
    env: dict[str, str], served: tuple[subprocess.Popen[str], str]
) -> None:
    # given a port another program listens on, and the port a serve already listens on
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = [busy.getsockname()[1], int(served[1].rsplit(":", 1)[1])]
        for port in taken:
            for command in ("serve", "run"):
                # when serve (or run) is asked to listen there
                argv = [
                    sys.executable,
                    "-c",
                    "from connector.cli import main; main()",
                    command,
                    "--port",
                    str(port),
                ]
                done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
                # then it says so and starts nothing: the first serve still answers alone
                assert done.returncode == 2, (command, port, done.stderr)
                assert done.stderr == f"crm-connector: {BUSY.format(port=port)}\n"
    assert answers(served[1])


def test_a_signed_body_sent_in_chunks_past_the_limit_is_too_large(
    app: Flask, served: tuple[subprocess.Popen[str], str]
) -> None:
    # given a signed delivery larger than CONNECTOR_MAX_WEBHOOK_BYTES (2 MiB by default) sent in
    # chunks, with no Content-Length, and a small one sent so
    _, url = served
    big = b'{"id": 1, "pad": "' + b"x" * (3 * 1024 * 1024) + b'"}'
    small = json.dumps(fixture("shopify/webhook-orders-create.json")).encode()

    def chunked(body: bytes, webhook_id: str) -> int:
        headers = signed(body, webhook_id)
        pieces = (body[i : i + 65536] for i in range(0, len(body), 65536))  # requests sends it chunked
        return requests.post(f"{url}/webhooks/shopify", data=pieces, headers=headers, timeout=30).status_code

    # then the large one is answered as too large (it was verified cut short: 401), nothing stored
    assert chunked(big, "chunked-big") == 413
    assert stored(app) == 0
    # and the small one is stored
    assert chunked(small, "chunked-small") == 200
    assert stored(app) == 1
