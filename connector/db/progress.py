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
    def known_total(self) -> int | None:
        """The estimate while it still holds: a run that read more than it was told there
        were (a platform's capped count, records added meanwhile) has no known total."""
        return self.total if self.total is not None and self.total >= self.done else None

    @property
    def eta_s(self) -> float | None:
        if self.known_total is None or not self.rate_per_s:
            return None
        return (self.known_total - self.done) / self.rate_per_s
