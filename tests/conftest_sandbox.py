"""Sandbox fixtures: a small generated world served on loopback, and a webhook receiver."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask, request
from werkzeug.serving import make_server

from sandbox.generator import Sizes
from sandbox.server import SandboxServer
from sandbox.world import World

SIZES = Sizes(customers=120, orders=700, products=40)


@pytest.fixture
def world() -> World:
    return World(seed=7, sizes=SIZES)


@pytest.fixture
def sandbox(world: World) -> Iterator[SandboxServer]:
    server = SandboxServer(world).start()
    yield server
    server.stop()


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    form: dict[str, str]


@dataclass
class Receiver:
    url: str
    received: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)  # answers to give, in order; then 200

    def wait_for(self, n: int, timeout: float = 15.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.received) < n:
            time.sleep(0.02)
        return self.received

    def where(self, predicate: Callable[[Received], bool]) -> list[Received]:
        return [r for r in self.received if predicate(r)]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    app = Flask("receiver")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    box = Receiver(f"http://127.0.0.1:{server.server_port}/hook")
    lock = threading.Lock()

    @app.post("/hook")
    def hook() -> Any:
        with lock:
            box.received.append(Received(dict(request.headers), request.get_data(), request.form.to_dict()))
            status = box.statuses.pop(0) if box.statuses else 200
        return "", status

    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield box
    server.shutdown()
