"""Reading ahead: every page comes out once and in order, an error comes out after the
pages read before it, and a step that stops early stops the thread and closes the source
(its downloads) without reading more than it was allowed ahead."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from connector.errors import RetryLater
from platforms.base import Chunk
from platforms.read_ahead import ReadAhead


class Pages:
    """A reader's chunks: `n` pages, optionally failing after `fail_after`; records what
    was read and whether the iterator was closed."""

    def __init__(self, n: int, fail_after: int | None = None) -> None:
        self.n, self.fail_after = n, fail_after
        self.read: list[int] = []
        self.closed = threading.Event()

    def __iter__(self) -> Iterator[Chunk]:
        try:
            for page in range(self.n):
                if page == self.fail_after:
                    raise RetryLater("the platform answered 503")
                self.read.append(page)
                yield Chunk([{"id": page}], f"page-{page}")
        finally:
            self.closed.set()


def cursors(chunks: ReadAhead[Chunk]) -> list[str | None]:
    return [chunk.cursor for chunk in chunks]


@pytest.mark.parametrize("depth", [0, 1, 4])
def test_every_chunk_comes_out_once_in_the_readers_order(depth: int) -> None:
    pages = Pages(25)
    with ReadAhead(iter(pages), depth) as ahead:
        assert cursors(ahead) == [f"page-{k}" for k in range(25)]
    assert pages.closed.is_set()


@pytest.mark.parametrize("depth", [0, 3])
def test_an_error_comes_out_after_the_chunks_read_before_it(depth: int) -> None:
    pages = Pages(10, fail_after=6)
    seen: list[str | None] = []
    with ReadAhead(iter(pages), depth) as ahead, pytest.raises(RetryLater) as raised:
        for chunk in ahead:
            seen.append(chunk.cursor)
    assert seen == [f"page-{k}" for k in range(6)]
    assert raised.value.reason == "the platform answered 503"  # the reader's own error, unchanged


def test_closing_early_stops_the_thread_and_closes_the_reader() -> None:
    # given a reader of 1,000 pages read two ahead; when the consumer stops after three
    pages = Pages(1000)
    ahead = ReadAhead(iter(pages), 2)
    taken = [chunk.cursor for _, chunk in zip(range(3), ahead, strict=False)]
    ahead.close()
    # then the thread is gone, the reader closed, and no more than the depth (plus the one
    # waiting to be queued) was read beyond what was taken
    assert taken == ["page-0", "page-1", "page-2"]
    assert not any(t.name == "sync-read-ahead" and t.is_alive() for t in threading.enumerate())
    assert pages.closed.is_set()
    assert len(pages.read) <= 3 + 2 + 1
