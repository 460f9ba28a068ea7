"""How a destination's session waits: the backoff between tries, how many tries, and the
waits, retries and calls it made (measured, for the push's summary and the bench)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Pacing:
    """How long to wait, and how often to try again; measured waits are kept for the bench."""

    backoff_s: float = 1.0
    max_tries: int = 6
    sleep: Callable[[float], None] = time.sleep
    waited_s: float = 0.0
    retries: int = 0
    calls: int = 0
    daily_remaining: int | None = None

    def wait(self, seconds: float) -> None:
        if seconds > 0:
            self.waited_s += seconds
            self.sleep(seconds)
