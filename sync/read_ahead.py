"""Reading ahead: while a sync step writes one transaction, a thread is already fetching
the platform's next chunks, so the step takes about the longer of reading and writing
rather than their sum. Chunks come out in the reader's order and an error comes out where
it happened, after the chunks read before it. A chunk `written_before_reading_on` (the
reader started an export a resumed run must find) holds the thread until the consumer
has written it, so a step that stops early never leaves a platform job nobody knows of.
Closing stops the thread after the chunk it is reading and closes the reader's iterator
there (its open downloads end with it).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from platforms.base import Chunk

STOP_POLL_S = 0.1  # how often a thread held by a full queue looks for `close`
JOIN_S = 5.0  # how long `close` waits for a thread that is inside a request


@dataclass(frozen=True)
class _Ended:
    error: BaseException | None = None


class ReadAhead:
    """Iterate over `source` up to `depth` chunks ahead of the consumer (0: no thread).
    `waited_s` is how long the consumer was held waiting for the platform."""

    def __init__(self, source: Iterator[Chunk], depth: int) -> None:
        self.source, self.depth = source, depth
        self.waited_s = 0.0
        self._queue: queue.Queue[Chunk | _Ended] = queue.Queue(maxsize=max(depth, 1))
        self._stopping = threading.Event()
        self._written = threading.Condition()
        self._handled = 0  # chunks the consumer came back from (wrote, or let go)
        self._thread: threading.Thread | None = None
        if depth > 0:
            self._thread = threading.Thread(target=self._read, name="sync-read-ahead", daemon=True)
            self._thread.start()

    def __iter__(self) -> Iterator[Chunk]:
        if self._thread is None:
            yield from self._timed(self.source)
            return
        while True:
            started = time.perf_counter()
            item = self._queue.get()
            self.waited_s += time.perf_counter() - started
            if isinstance(item, _Ended):
                if item.error is not None:
                    raise item.error
                return
            yield item
            with self._written:
                self._handled += 1
                self._written.notify_all()

    def close(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(JOIN_S)

    def __enter__(self) -> ReadAhead:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _read(self) -> None:
        try:
            for number, chunk in enumerate(self.source, 1):
                if not self._put(chunk):
                    return
                if chunk.written_before_reading_on and not self._until_handled(number):
                    return
            self._put(_Ended())
        except BaseException as exc:  # handed to the consumer, raised there
            self._put(_Ended(exc))
        finally:
            close = getattr(self.source, "close", None)
            if close is not None:
                close()

    def _put(self, item: Chunk | _Ended) -> bool:
        while not self._stopping.is_set():
            try:
                self._queue.put(item, timeout=STOP_POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def _until_handled(self, number: int) -> bool:
        """Wait for the consumer to come back from chunk `number`; False: it was closed."""
        with self._written:
            while self._handled < number and not self._stopping.is_set():
                self._written.wait(STOP_POLL_S)
        return not self._stopping.is_set()

    def _timed(self, source: Iterator[Chunk]) -> Iterator[Chunk]:
        while True:
            started = time.perf_counter()
            chunk = next(source, None)
            self.waited_s += time.perf_counter() - started
            if chunk is None:
                return
            yield chunk
