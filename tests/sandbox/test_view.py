"""Views: any slice and any rank over base runs with removals merged with an overlay."""

from __future__ import annotations

import random

import pytest

from sandbox.view import View


@pytest.mark.parametrize("trial", range(150))
def test_slices_and_ranks_match_a_materialised_list(trial: int) -> None:
    r = random.Random(trial)
    n = r.randint(0, 50)
    lo = r.randint(0, n)
    hi = r.randint(lo, n)
    removed = sorted(r.sample(range(lo, hi), r.randint(0, hi - lo)))
    overlay = sorted((r.randint(0, 600), 5000 + k) for k in range(r.randint(0, 8)))

    def base_key(i: int) -> tuple[int, int]:
        return (i * 10, 1000 + i)

    view = View(lo, hi, removed, overlay, base_key)
    full = sorted([base_key(i) for i in range(lo, hi) if i not in removed] + overlay)
    assert len(view) == len(full)
    for start in range(len(full) + 1):
        stop = r.randint(start, len(full) + 2)
        assert list(view.keys(start, stop)) == full[start:stop]
        assert list(view.keys(start, stop, descending=True)) == full[::-1][start:stop]
    for key in [*full, (-1, 0), (10**9, 0), *((k[0], k[1] - 1) for k in full)]:
        assert view.rank(key) == sum(1 for f in full if f <= key)
