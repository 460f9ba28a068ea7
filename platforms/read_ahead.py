"""Reading ahead: a thread fetches a reader's next pages while the sync writes the current
ones, so a step takes about the longer of reading and writing rather than their sum.
Only pure reads go through it (page downloads, an export file): anything that changes
the platform's state (starting an export) stays in the step's own thread, in order, so a
step that stops early never leaves work on the platform nobody knows of. Items come out
in order; an error comes out where it happened, after the items read before it. Closing
stops the thread after the item it is reading and closes the source there.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from connector import logs

log = logs.get(__name__)
T = TypeVar("T")
STOP_POLL_S = 0.1  # how often a thread held by a full queue looks for `close`
JOIN_S = 5.0  # how long `close` waits for a thread that is inside a request


@dataclass(frozen=True)
class _Ended:
    error: BaseException | None = None


class ReadAhead(Generic[T]):
    """Iterate over `source` up to `depth` items ahead of the consumer (0: no thread)."""

    def __init__(self, source: Iterable[T], depth: int) -> None:
        self.source = iter(source)
        self._queue: queue.Queue[T | _Ended] = queue.Queue(maxsize=max(depth, 1))
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        if depth > 0:
            self._thread = threading.Thread(target=self._read, name="sync-read-ahead", daemon=True)
            self._thread.start()

    def __iter__(self) -> Iterator[T]:
        if self._thread is None:
            yield from self.source
            return
        while True:
            item = self._queue.get()
            if isinstance(item, _Ended):
                if item.error is not None:
                    raise item.error
                return
            yield item

    def close(self) -> None:
        self._stopping.set()
        if self._thread is None:
            _close(self.source)
            return
        self._thread.join(JOIN_S)
        if self._thread.is_alive():  # inside a slow request: it stops when that returns
            log.warning("sync read-ahead still reading after its step ended")

    def __enter__(self) -> ReadAhead[T]:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _read(self) -> None:
        try:
            for item in self.source:
                if not self._put(item):
                    return
            self._put(_Ended())
        except BaseException as exc:  # handed to the consumer, raised there
            self._put(_Ended(exc))
        finally:
            _close(self.source)

    def _put(self, item: T | _Ended) -> bool:
        while not self._stopping.is_set():
            try:
                self._queue.put(item, timeout=STOP_POLL_S)
                return True
            except queue.Full:
                continue
        return False


def _close(source: Iterator[Any]) -> None:
    close = getattr(source, "close", None)
    if close is not None:
        close()
