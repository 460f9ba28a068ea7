"""Rendered records kept on disk, so a big store's records are rendered once, not per request.

A shelf holds the rendered bytes of one store's base records of one entity in one shape (a
bulk query's selection, a WooCommerce page's base URL), in a folder named for everything those
bytes depend on: the renderer's own source, the world's seed, anchor and sizes, the store and
the shape. Only base records are shelved; the caller renders live whatever the store's overlay
changed, or whatever reads something it changed, so nothing is ever served stale.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import struct
import threading
import time
from array import array
from functools import cache
from pathlib import Path
from typing import Any

from sandbox.state import SandboxStore

LANES = 3
FORMAT = struct.Struct("<qqqqiiiqqqQ")  # an entry: index, 3 offsets, 3 lengths, tag, 2 stamps, check
KEEP_UNUSED_S = 2 * 86_400  # shelves nobody opened for two days are removed when a cache opens


@cache
def renderer_digest() -> str:
    """A digest of the sandbox's source: any change to how records are rendered starts afresh."""
    root = Path(__file__).parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.suffix in (".py", ".graphql") and "__pycache__" not in path.parts:
            digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:20]


class RenderCache:
    """The shelves under one folder for this renderer; old renderers' shelves are removed."""

    def __init__(self, root: Path) -> None:
        self.root = root / renderer_digest()
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            _evict(root)
        except OSError as exc:  # the message names the option (the sandbox command's usage error)
            raise ValueError(f"--render-cache {root}: {exc.strerror or exc}") from None
        self._shelves: dict[str, Shelf | None] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        """Let go of every shelf (another process may then write them)."""
        with self._lock:
            for shelf in self._shelves.values():
                if shelf is not None:
                    shelf.close()
            self._shelves.clear()

    def shelf(self, key: dict[str, Any], size: int) -> Shelf | None:
        """The shelf for `key` (everything the bytes depend on) holding `size` base records, or
        None while another process holds it (this one then renders live)."""
        name = hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:32]
        with self._lock:
            if name not in self._shelves:
                try:
                    self._shelves[name] = Shelf.open(self.root / name, size, key)
                except OSError:  # a folder that cannot be written: render live
                    self._shelves[name] = None
            shelf = self._shelves[name]
            return None if shelf is None or shelf.broken else shelf


class Shelf:
    """Rendered base records by index, in three lanes (a bulk export's roots, children and
    grandchildren; a page's records use the first): an append-only data file per lane and an
    append-only index of (index, offsets, lengths, tag, stamps) entries, each written after
    its bytes. Records rendered one after another lie one after another, read in one go."""

    def __init__(self, folder: Path, size: int, lock_fd: int) -> None:
        self.size = size
        self._lock_fd = lock_fd  # held (flock) while this process has the shelf open
        self._guard = threading.Lock()
        self.served = 0  # records answered from the shelf since it was opened
        self.broken = False  # a write failed (a full disk): the shelf is no longer used
        self.offsets = array("q", [-1]) * (LANES * size)
        self.lengths = array("i", [0]) * (LANES * size)
        self.tags = array("q", [0]) * size
        self.stamps = array("q", [0]) * (2 * size)
        flags = os.O_RDWR | os.O_CREAT | os.O_APPEND
        self._data = [os.open(folder / f"lane{k}", flags, 0o600) for k in range(LANES)]
        self._index = os.open(folder / "index", flags, 0o600)
        self._ends = [os.fstat(fd).st_size for fd in self._data]
        self._load()

    @classmethod
    def open(cls, folder: Path, size: int, key: dict[str, Any]) -> Shelf | None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "key.json").write_text(json.dumps(key, sort_keys=True, default=str))
        lock_fd = os.open(folder / "lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # another sandbox process writes this shelf: render live instead
            os.close(lock_fd)
            return None
        return cls(folder, size, lock_fd)

    def close(self) -> None:
        for fd in (*self._data, self._index, self._lock_fd):
            os.close(fd)

    def _load(self) -> None:
        """Entries whose bytes are all in the lane files (a torn tail from a crash is ignored)."""
        raw = os.pread(self._index, os.fstat(self._index).st_size, 0)
        whole = len(raw) - len(raw) % FORMAT.size
        for *entry, check in FORMAT.iter_unpack(raw[:whole]):
            index, o0, o1, o2, l0, l1, l2, tag, first, second = entry
            inside = all(
                o + n <= end for o, n, end in zip((o0, o1, o2), (l0, l1, l2), self._ends, strict=True)
            )
            if check == _check(*entry) and 0 <= index < self.size and inside:
                self._set(index, (o0, o1, o2), (l0, l1, l2), tag, (first, second))

    def _set(
        self,
        index: int,
        offsets: tuple[int, ...],
        lengths: tuple[int, ...],
        tag: int,
        stamps: tuple[int, int],
    ) -> None:
        self.offsets[LANES * index : LANES * index + LANES] = array("q", offsets)
        self.lengths[LANES * index : LANES * index + LANES] = array("i", lengths)
        self.tags[index] = tag
        self.stamps[2 * index : 2 * index + 2] = array("q", stamps)

    def has(self, index: int) -> bool:
        return self.offsets[LANES * index] >= 0

    def tag_of(self, index: int) -> int:
        return self.tags[index]

    def stamps_of(self, index: int) -> tuple[int, int]:
        """The two numbers kept with a shelved record (a bulk export's: its created and updated times)."""
        return self.stamps[2 * index], self.stamps[2 * index + 1]

    def get(self, index: int) -> bytes | None:
        """A shelved record's first lane, or None if not shelved yet."""
        if not self.has(index):
            return None
        self.served += 1
        return os.pread(self._data[0], self.lengths[LANES * index], self.offsets[LANES * index])

    def read_run(self, indices: list[int]) -> list[list[bytes]]:
        """The lanes of shelved records, in this order: one read per lane when they lie one
        after another (consecutive indices rendered in order), else one per record."""
        self.served += len(indices)
        first, last = indices[0], indices[-1]
        if last - first + 1 == len(indices) and indices == list(range(first, last + 1)):
            lanes = [self._stretch(k, first, last) for k in range(LANES)]
            if all(lane is not None for lane in lanes):
                return [[lane] if lane else [] for lane in lanes if lane is not None]
        out: list[list[bytes]] = [[] for _ in range(LANES)]
        for i in indices:
            for k in range(LANES):
                if size := self.lengths[LANES * i + k]:
                    out[k].append(os.pread(self._data[k], size, self.offsets[LANES * i + k]))
        return out

    def _stretch(self, lane: int, first: int, last: int) -> bytes | None:
        """Lane `lane` of records first..last in one read, or None if they are not contiguous."""
        start = self.offsets[LANES * first + lane]
        end = self.offsets[LANES * last + lane] + self.lengths[LANES * last + lane]
        if end - start != sum(self.lengths[LANES * first + lane : LANES * last + LANES : LANES]):
            return None
        return os.pread(self._data[lane], end - start, start) if end > start else b""

    def put(
        self, index: int, lanes: tuple[bytes, bytes, bytes], tag: int, stamps: tuple[int, int] = (0, 0)
    ) -> None:
        if not 0 <= index < self.size or self.has(index):
            return
        with self._guard:
            if self.broken:
                return
            offsets = tuple(self._ends)
            try:
                for k, lines in enumerate(lanes):
                    if lines:
                        written = os.write(self._data[k], lines)
                        self._ends[k] += written
                        if written != len(lines):
                            raise OSError("short write")
                entry = (index, *offsets, *(len(lines) for lines in lanes), tag, *stamps)
                os.write(self._index, FORMAT.pack(*entry, _check(*entry)))
            except OSError:  # nothing half-written is ever indexed; this process stops using the shelf
                self.broken = True
                return
            self._set(index, offsets, tuple(len(lines) for lines in lanes), tag, stamps)


def _check(*values: int) -> int:
    """A checksum of an entry's fields, so a torn or foreign entry is never believed (the hash
    of a tuple of ints is the same in every process)."""
    return hash(values) & 0xFFFF_FFFF_FFFF_FFFF


def _evict(root: Path) -> None:
    """Remove shelves nobody opened for KEEP_UNUSED_S, of any renderer (a sandbox of other code
    may share the folder), and renderers' folders left empty."""
    now = time.time()
    for renderer in (f for f in root.iterdir() if f.is_dir()):
        for shelf in (f for f in renderer.iterdir() if f.is_dir()):
            key = shelf / "key.json"
            if now - (key.stat().st_mtime if key.exists() else shelf.stat().st_mtime) > KEEP_UNUSED_S:
                shutil.rmtree(shelf, ignore_errors=True)
        if renderer.name != renderer_digest() and not any(renderer.iterdir()):
            renderer.rmdir()


def store_key(store: SandboxStore) -> dict[str, Any]:
    """Everything a store's base records are generated from."""
    ds = store.dataset
    return {
        "number": store.number,
        "platform": store.platform,
        "name": store.name,
        "seed": ds.seed,
        "sizes": [ds.sizes.customers, ds.sizes.orders, ds.sizes.products],
        "anchor": ds.anchor.isoformat(),
        "person_offset": ds.person_offset,
        "currency": ds.currency,
        "span": ds.span.total_seconds(),
    }
