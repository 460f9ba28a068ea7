"""Faults a simulated CRM (Salesforce, Zoho CRM) injects, set per CRM through the control API
(`POST /_sandbox/crm/<kind>/faults`): random throttles and server errors at a rate, or the next
N calls throttled or failed (deterministic, for tests; `on` narrows those to the calls of a
method whose path holds a part, "GET /jobs/ingest/"), and latency: each answer held that long
after the call was acted on, so a client gone meanwhile never hears of what the CRM did. It
counts the calls it rolled for. Each CRM answers a fault in its own shape; this module only
decides which calls get one.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field

RATES = ("rate_429", "rate_5xx")
COUNTS = ("throttle_next", "fail_next")


@dataclass
class CrmFaults:
    seed: int = 0
    rate_429: float = 0.0  # the CRM's throttle answer, at this rate
    rate_5xx: float = 0.0
    latency_ms: int = 0  # each answer held this long after the call was acted on
    throttle_next: int = 0  # the next N calls are throttled, whatever the rates
    fail_next: int = 0  # the next N calls answer a server error
    retry_after_s: int = 0  # > 0: send Retry-After with a throttle (neither CRM documents one)
    on: str = ""  # the counted faults only for the calls this aims at ("GET /jobs/ingest/")
    injected_429: int = 0
    injected_5xx: int = 0
    calls: int = 0  # the calls rolled for (each API call past authentication)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _random: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    def roll(self, call: str = "") -> str | None:
        """'throttle', 'error' or None for the call being answered ("METHOD /path")."""
        with self.lock:
            self.calls += 1
            aimed = _aimed(self.on, call)
            if self.throttle_next > 0 and aimed:
                self.throttle_next -= 1
                self.injected_429 += 1
                return "throttle"
            if self.fail_next > 0 and aimed:
                self.fail_next -= 1
                self.injected_5xx += 1
                return "error"
            roll = self._random.random()
            if roll < self.rate_429:
                self.injected_429 += 1
                return "throttle"
            if roll < self.rate_429 + self.rate_5xx:
                self.injected_5xx += 1
                return "error"
        return None

    def hold(self) -> None:
        """Hold the answer of a call acted on already, by the latency set."""
        if self.latency_ms:
            time.sleep(self.latency_ms / 1000)

    def set(self, body: dict[str, object]) -> str | None:
        """Apply a control request; a message naming the bad key or value, else None."""
        known = {*RATES, *COUNTS, "latency_ms", "retry_after_s", "on"}
        unknown = set(body) - known
        if unknown:
            return f"unknown fault(s): {', '.join(sorted(unknown))}"
        on = body.get("on", "")
        if not isinstance(on, str):
            return "on must be text: part of a call's METHOD /path"
        values: dict[str, float | int] = {}
        for name, value in body.items():
            if name == "on":
                continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                return f"{name} must be a number"
            if name in RATES and not 0 <= value <= 1:
                return f"{name} must be between 0 and 1"
            if name not in RATES and (value < 0 or value != int(value)):
                return f"{name} must be a whole number, 0 or more"
            values[name] = float(value) if name in RATES else int(value)
        with self.lock:
            if not body:
                self.rate_429 = self.rate_5xx = 0.0
                self.latency_ms = self.throttle_next = self.fail_next = 0
                self.retry_after_s = 0
            self.on = on
            for name, value in values.items():
                setattr(self, name, value)
        return None

    def state(self) -> dict[str, float | int | str]:
        names = (*RATES, *COUNTS, "latency_ms", "retry_after_s", "injected_429", "injected_5xx", "calls")
        return {name: getattr(self, name) for name in names} | {"on": self.on}


def _aimed(on: str, call: str) -> bool:
    """Whether a call ("METHOD /path") is one `on` ("METHOD part", or a part alone) aims at."""
    if not on:
        return True
    method, _, path = call.partition(" ")
    want_method, _, part = on.partition(" ") if " " in on else ("", "", on)
    return want_method in ("", method) and part in path
