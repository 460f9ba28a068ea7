"""How a destination's session waits: the backoff between tries, how many tries, and the
waits, retries and calls it made (measured, for the push's summary and the bench); and `Lanes`,
how many of its calls may be in flight at once, narrowed when the CRM says it is busy."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class Pacing:
    """How long to wait, and how often to try again; measured waits are kept for the bench
    (with calls in parallel, `waited_s` adds up each one's waits)."""

    backoff_s: float = 1.0
    max_tries: int = 6
    sleep: Callable[[float], None] = time.sleep
    waited_s: float = 0.0
    retries: int = 0
    calls: int = 0
    daily_remaining: int | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def wait(self, seconds: float) -> None:
        if seconds > 0:
            with self.lock:
                self.waited_s += seconds
            self.sleep(seconds)

    def count(self, *, calls: int = 0, retries: int = 0) -> None:
        """Count calls and retries made from any thread."""
        with self.lock:
            self.calls += calls
            self.retries += retries


class Lanes:
    """At most `width` calls in flight, between 1 and `most`: a call the CRM turned away
    (`narrow`) takes one lane away, and `most` calls in a row that went through give one back."""

    def __init__(self, most: int) -> None:
        self.most = self.width = max(1, most)
        self.busy = self.peak = self._through = 0
        self._turn = threading.Condition()

    @contextmanager
    def lane(self) -> Iterator[None]:
        with self._turn:
            while self.busy >= self.width:
                self._turn.wait()
            self.busy += 1
            self.peak = max(self.peak, self.busy)
        try:
            yield
        finally:
            with self._turn:
                self.busy -= 1
                self._turn.notify_all()

    def narrow(self) -> None:
        with self._turn:
            self.width, self._through = max(1, self.width - 1), 0

    def widen(self) -> None:
        with self._turn:
            self._through += 1
            if self._through >= self.most and self.width < self.most:
                self.width, self._through = self.width + 1, 0
                self._turn.notify_all()
