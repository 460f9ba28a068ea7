"""The bench's CRM sandbox in a process of its own (as a real CRM is on a host of its own): its
work then takes neither the connector's GIL nor its CPU time, only the machine's other core.
The child starts the server as `bench.push.sandbox_server` does and answers over a pipe: the
destination's credentials and address, the floor its limits allow, what it holds and its CPU time."""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from sandbox.server import SandboxServer

Facts = Callable[[str, int, SandboxServer], dict[str, Any]]  # kind, n, server → what the bench needs


@dataclass
class Remote:
    """A sandbox in another process: what it told the bench at start, and its count on asking."""

    facts: dict[str, Any]
    pipe: Connection

    def held(self) -> int:
        self.pipe.send("held")
        return int(self.pipe.recv())

    def cpu_s(self) -> float:
        """The sandbox process's CPU time so far (all its threads): the CRM's own work."""
        self.pipe.send("cpu")
        return float(self.pipe.recv())


@dataclass(frozen=True)
class Plan:
    """What the child runs: the server's start, what to tell of it, how to count what it holds."""

    start: Callable[[bool], AbstractContextManager[SandboxServer]]
    facts: Facts
    held: Callable[[str, SandboxServer], int]
    kind: str
    n: int
    tls: bool


def serve(pipe: Connection, plan: Plan) -> None:
    """In the child: the server up, its facts sent, then a count per "held" and its CPU time
    per "cpu", until "stop"."""
    with plan.start(plan.tls) as server:
        pipe.send(plan.facts(plan.kind, plan.n, server))
        while (asked := pipe.recv()) in ("held", "cpu"):
            pipe.send(plan.held(plan.kind, server) if asked == "held" else time.process_time())


@contextmanager
def remote(plan: Plan) -> Iterator[Remote]:
    ours, theirs = multiprocessing.Pipe()
    child = multiprocessing.get_context("spawn").Process(
        target=serve, args=(theirs, plan), name="bench-sandbox", daemon=True
    )
    child.start()
    try:
        if not ours.poll(120):
            raise SystemExit("the sandbox process did not start within 120 s")
        found: dict[str, Any] = ours.recv()
        if found.get("ca_file"):
            os.environ["REQUESTS_CA_BUNDLE"] = str(found["ca_file"])  # its TLS, trusted here too
        yield Remote(found, ours)
    finally:
        ours.send("stop")
        child.join(30)
        if child.is_alive():
            child.kill()
