"""A sync run's progress as its sync_state row holds it (records done, the estimated
total, the rate) and the time left that implies. Written by sync.checkpoints at each
page; read by accounts.stores for `stores list` and the API, which sit below sync.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Progress:
    done: int
    total: int | None
    rate_per_s: float | None

    @property
    def eta_s(self) -> float | None:
        if self.total is None or not self.rate_per_s:
            return None
        return max(self.total - self.done, 0) / self.rate_per_s
