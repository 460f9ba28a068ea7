"""Sorted, filtered record sequences over millions of generated records, without lists.

A view is a run of base record indices (whose sort key grows with the index, so
positions are arithmetic) minus a few removed indices, merged with a small sorted
overlay of records created or changed since. It answers `len`, "how many sort before
this key" (cursor pagination) and "the records at positions a..b" (offset pagination).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

Key = tuple[Any, int]  # (sort value, record id): unique and totally ordered


@dataclass
class View:
    lo: int  # first base index in range
    hi: int  # one past the last base index
    removed: list[int]  # sorted base indices in [lo, hi) that are not in this view
    overlay: list[Key]  # sorted keys of non-base members
    base_key: Callable[[int], Key]  # increasing in the index

    def __len__(self) -> int:
        return (self.hi - self.lo - len(self.removed)) + len(self.overlay)

    def _live_base(self) -> int:
        return self.hi - self.lo - len(self.removed)

    def _base_at(self, k: int) -> int:
        """The base index of the k-th live base record."""
        j = self.lo + k
        while True:
            skipped = bisect.bisect_right(self.removed, j) - bisect.bisect_left(self.removed, self.lo)
            nxt = self.lo + k + skipped
            if nxt == j:
                return j
            j = nxt

    def rank(self, key: Key) -> int:
        """How many members sort at or before `key`."""
        j = first_index(self.lo, self.hi, lambda i: self.base_key(i) > key)
        base = (j - self.lo) - (
            bisect.bisect_left(self.removed, j) - bisect.bisect_left(self.removed, self.lo)
        )
        return base + bisect.bisect_right(self.overlay, key)

    def keys(self, start: int, stop: int, descending: bool = False) -> Iterator[Key]:
        """Keys at positions [start, stop) in ascending (or descending) order."""
        n = len(self)
        stop = min(stop, n)
        if start >= stop:
            return iter(())
        if descending:
            return reversed(list(self.keys(n - stop, n - start)))
        return self._ascending(start, stop)

    def _ascending(self, start: int, stop: int) -> Iterator[Key]:
        b, o = self._split(start)
        count = stop - start
        live = self._live_base()
        base_k = b
        j = self._base_at(base_k) if base_k < live else self.hi
        while count:
            take_base = base_k < live and (o >= len(self.overlay) or self.base_key(j) < self.overlay[o])
            if take_base:
                yield self.base_key(j)
                base_k += 1
                j = self._next_live(j)
            else:
                yield self.overlay[o]
                o += 1
            count -= 1

    def _next_live(self, j: int) -> int:
        j += 1
        r = bisect.bisect_left(self.removed, j)
        while r < len(self.removed) and self.removed[r] == j:
            j, r = j + 1, r + 1
        return j

    def _split(self, position: int) -> tuple[int, int]:
        """(base members, overlay members) among the first `position` members."""
        live = self._live_base()
        lo, hi = max(0, position - len(self.overlay)), min(position, live)
        while lo < hi:  # the largest b with the b-th base key before overlay[position - b]
            b = (lo + hi + 1) // 2
            o = position - b
            if o >= len(self.overlay) or self.base_key(self._base_at(b - 1)) < self.overlay[o]:
                lo = b
            else:
                hi = b - 1
        return lo, position - lo


def first_index(lo: int, hi: int, after: Callable[[int], bool]) -> int:
    """The first i in [lo, hi) with after(i) true (after is monotone), or hi."""
    while lo < hi:
        mid = (lo + hi) // 2
        if after(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo
