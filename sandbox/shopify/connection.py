"""Connections that are not a store's view: a nested list (line items, variants …) paged by
position, and a walk over a view's keys a chunk at a time, forwards or backwards."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from sandbox.view import View


def list_connection(items: list[dict[str, Any]], first: int | None, after: str | None) -> dict[str, Any]:
    """A nested connection (line items, variants …): small, so positions are the cursors."""
    start = int(after) + 1 if after else 0
    count = first if first is not None else 250
    page = items[start : start + count]
    edges = [{"cursor": str(start + i), "node": n} for i, n in enumerate(page)]
    return {
        "nodes": page,
        "edges": edges,
        "pageInfo": {
            "hasNextPage": start + count < len(items),
            "hasPreviousPage": start > 0,
            "startCursor": edges[0]["cursor"] if edges else None,
            "endCursor": edges[-1]["cursor"] if edges else None,
        },
    }


def nested(items: Callable[[], list[dict[str, Any]]]) -> Callable[..., dict[str, Any]]:
    return lambda _info, first=None, after=None: list_connection(items(), first, after)


def walk(view: View, start: int, stop: int, descending: bool, chunk: int = 256) -> Iterator[tuple[Any, int]]:
    """The view's keys at positions [start, stop), ascending or descending, read a chunk at a time."""
    if not descending:
        for a in range(start, stop, chunk):
            yield from view.keys(a, min(a + chunk, stop))
        return
    for b in range(stop, start, -chunk):
        yield from reversed(list(view.keys(max(b - chunk, start), b)))
