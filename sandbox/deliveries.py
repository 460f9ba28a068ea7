"""Outbound webhook deliveries from the sandbox, on a background thread.

Each platform decides what a delivery is and what a failure means (Shopify retries on
a backoff schedule; WooCommerce never retries and disables a failing webhook). This
module only sends, applies the injected faults (drop, duplicate, reorder) and reports
each attempt's outcome back to its `on_result`.
"""

from __future__ import annotations

import heapq
import itertools
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests


@dataclass
class Delivery:
    url: str
    headers: dict[str, str]
    body: bytes
    on_result: Callable[[Delivery, int | None], float | None]  # returns a retry delay (s) or None
    attempt: int = 1
    collapse_key: tuple[Any, ...] | None = None  # a pending delivery with this key absorbs newer ones
    refresh: Callable[[], tuple[dict[str, str], bytes] | None] | None = None  # rebuilt at send time


@dataclass
class Faults:
    webhook_drop: float = 0.0
    webhook_duplicate: float = 0.0
    webhook_reorder: float = 0.0
    latency_ms: int = 0
    rate_429: float = 0.0
    rate_5xx: float = 0.0
    revoked: set[str] = field(default_factory=set)


class Dispatcher:
    def __init__(self, faults: Faults, seed: int = 0, senders: int = 4) -> None:
        self.faults = faults
        self.random = random.Random(seed)
        self._queue: list[tuple[float, int, Delivery]] = []
        self._pending_keys: set[tuple[Any, ...]] = set()
        self._counter = itertools.count()
        self._cv = threading.Condition()
        self._local = threading.local()
        self._stopped = False
        self._busy = 0
        self.sent = 0
        self.dropped = 0
        for n in range(senders):  # platforms deliver concurrently, so the order of arrival is not guaranteed
            threading.Thread(target=self._run, name=f"sandbox-webhooks-{n}", daemon=True).start()

    def submit(self, delivery: Delivery, delay: float = 0.0) -> None:
        with self._cv:
            if delivery.collapse_key is not None:
                if delivery.collapse_key in self._pending_keys:
                    return  # an earlier, still pending delivery will carry the latest state
                self._pending_keys.add(delivery.collapse_key)
            if self.random.random() < self.faults.webhook_reorder:
                delay += self.random.uniform(0.05, 0.5)
            heapq.heappush(self._queue, (time.monotonic() + delay, next(self._counter), delivery))
            self._cv.notify()

    def idle(self) -> bool:
        with self._cv:
            return not self._queue and self._busy == 0

    def wait_idle(self, timeout: float = 30.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.idle():
                return True
            time.sleep(0.02)
        return False

    def stop(self) -> None:
        with self._cv:
            self._stopped = True
            self._cv.notify_all()

    def _run(self) -> None:
        while True:
            with self._cv:
                while not self._stopped and (not self._queue or self._queue[0][0] > time.monotonic()):
                    self._cv.wait(timeout=(self._queue[0][0] - time.monotonic()) if self._queue else None)
                if self._stopped:
                    return
                _, _, delivery = heapq.heappop(self._queue)
                if delivery.collapse_key is not None:
                    self._pending_keys.discard(delivery.collapse_key)
                self._busy += 1
            try:
                self._send(delivery)
            finally:
                with self._cv:
                    self._busy -= 1

    def _send(self, delivery: Delivery) -> None:
        if delivery.refresh is not None:
            rebuilt = delivery.refresh()
            if rebuilt is None:
                return
            delivery.headers, delivery.body = rebuilt
        with self._cv:
            dropped = self.random.random() < self.faults.webhook_drop
            copies = 2 if self.random.random() < self.faults.webhook_duplicate else 1
            self.dropped += dropped
        if dropped:
            return  # lost without a trace: neither the receiver nor the platform sees it
        status: int | None = None
        for _ in range(copies):
            status = self._post(delivery)
        retry_in = delivery.on_result(delivery, status)
        if retry_in is not None:
            delivery.attempt += 1
            self.submit(delivery, retry_in)

    def _post(self, delivery: Delivery) -> int | None:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        try:
            response = session.post(
                delivery.url,
                data=delivery.body,
                headers=delivery.headers,
                timeout=(1, 5),
                allow_redirects=False,
            )
        except requests.RequestException:
            return None
        with self._cv:
            self.sent += 1
        return response.status_code
