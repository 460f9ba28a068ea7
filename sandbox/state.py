"""One sandbox store's live state: generated base records plus the changes made since.

Base records are never stored; changes (new revisions, creations, deletions, trash)
are a small overlay. Ids are exact 64-bit integers above 2**53 on Shopify, small
sequential integers on WooCommerce (users and posts) and per-entity sequences from 1 on
Magento (each entity its own table's auto-increment), as the platforms issue them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sandbox.generator import Dataset
from sandbox.view import View, first_index

ENTITIES = ("customers", "orders", "products")
KIND = {"customers": "customer", "orders": "order", "products": "product"}
SHOPIFY_BASE = {
    "customers": 706_405_506_930_000_000,
    "orders": 820_982_911_946_000_000,
    "products": 788_032_119_674_000_000,
}
STORE_STRIDE = 10**12


@dataclass
class Overlay:
    base_n: int
    revisions: dict[int, tuple[int, datetime]] = field(default_factory=dict)  # index → (rev, updated_at)
    created: dict[int, datetime] = field(default_factory=dict)  # index ≥ base_n → created_at
    deleted: dict[int, datetime] = field(default_factory=dict)  # index → deleted_at (gone for good)
    trashed: set[int] = field(default_factory=set)  # WooCommerce trash: still readable by id

    @property
    def size(self) -> int:
        return self.base_n + len(self.created)


@dataclass
class Record:
    entity: str
    index: int
    id: int
    created_at: datetime
    updated_at: datetime
    data: dict[str, Any]
    trashed: bool = False


class SandboxStore:
    def __init__(self, number: int, platform: str, name: str, dataset: Dataset) -> None:
        self.number, self.platform, self.name, self.dataset = number, platform, name, dataset
        self.lock = threading.RLock()
        sizes = dataset.sizes
        self.overlays = {e: Overlay(getattr(sizes, e)) for e in ENTITIES}
        self._woo_ids: dict[str, dict[int, int]] = {e: {} for e in ENTITIES}  # created index → id
        self._woo_index: dict[tuple[str, int], tuple[str, int]] = {}  # (id space, id) → (entity, index)
        self._next_post_id = 10 + sizes.products + sizes.orders
        self.mutations = 0

    # --- ids ------------------------------------------------------------------------------

    def id_of(self, entity: str, index: int) -> int:
        if self.platform == "shopify":
            return SHOPIFY_BASE[entity] + self.number * STORE_STRIDE + index
        if self.platform == "magento":
            return 1 + index
        if index >= self.overlays[entity].base_n:
            return self._woo_ids[entity][index]
        sizes = self.dataset.sizes
        return {"customers": 2 + index, "products": 10 + index, "orders": 10 + sizes.products + index}[entity]

    def index_of(self, entity: str, record_id: int) -> int | None:
        """The index of a record id, or None if no record of this entity ever had it."""
        ov = self.overlays[entity]
        if self.platform == "shopify":
            index = record_id - SHOPIFY_BASE[entity] - self.number * STORE_STRIDE
            return index if 0 <= index < ov.size else None
        if self.platform == "magento":
            return record_id - 1 if 0 <= record_id - 1 < ov.size else None
        found = self._woo_index.get((_id_space(entity), record_id))
        if found:
            return found[1] if found[0] == entity else None
        first = self.id_of(entity, 0)
        index = record_id - first
        return index if 0 <= index < ov.base_n else None

    # --- reading --------------------------------------------------------------------------

    def get(self, entity: str, index: int) -> Record:
        ov = self.overlays[entity]
        kind = KIND[entity]
        rev, updated = ov.revisions.get(index, (0, None))
        if index < ov.base_n:
            created = self.dataset.created_at(entity, index)
            updated = updated or self.dataset.updated_at(entity, index)
        else:
            created = ov.created[index]
            updated = updated or created
        data = getattr(self.dataset, kind)(index, rev)
        return Record(entity, index, self.id_of(entity, index), created, updated, data, index in ov.trashed)

    def exists(self, entity: str, index: int) -> bool:
        ov = self.overlays[entity]
        return 0 <= index < ov.size and index not in ov.deleted

    def live_count(self, entity: str) -> int:
        ov = self.overlays[entity]
        return ov.size - len(ov.deleted) - len(ov.trashed - ov.deleted.keys())

    def counts(self) -> dict[str, int]:
        return {e: self.live_count(e) for e in ENTITIES}

    def view(
        self,
        entity: str,
        sort: str,
        updated_after: datetime | None = None,
        created_after: datetime | None = None,
        updated_before: datetime | None = None,
        include_trash: bool = False,
        only_trash: bool = False,
    ) -> View:
        """Members in `sort` order ('id', 'created' or 'updated'), optionally changed after a time."""
        with self.lock:
            ov = self.overlays[entity]
            lo = 0
            if updated_after is not None:
                lo = first_index(0, ov.base_n, lambda j: self.dataset.updated_at(entity, j) > updated_after)
            if created_after is not None:
                lo = max(
                    lo,
                    first_index(0, ov.base_n, lambda j: self.dataset.created_at(entity, j) > created_after),
                )

            hi = ov.base_n
            if updated_before is not None:  # base times rise with the index; changes only go later
                hi = first_index(
                    lo, ov.base_n, lambda j: self.dataset.updated_at(entity, j) >= updated_before
                )

            def member(i: int) -> bool:
                if i in ov.deleted:
                    return False
                if only_trash:
                    return i in ov.trashed
                return include_trash or i not in ov.trashed

            def key(i: int) -> tuple[Any, int]:
                rec_id = self.id_of(entity, i)
                if sort == "updated":
                    return (self.get(entity, i).updated_at, rec_id)
                if sort == "created":
                    return (self.get(entity, i).created_at, rec_id)
                return (rec_id, rec_id)

            def passes(i: int) -> bool:
                if not member(i):
                    return False
                rec = self.get(entity, i)
                return (
                    (updated_after is None or rec.updated_at > updated_after)
                    and (created_after is None or rec.created_at > created_after)
                    and (updated_before is None or rec.updated_at < updated_before)
                )

            if only_trash:
                trash = sorted(key(i) for i in ov.trashed if i not in ov.deleted and passes(i))
                return View(0, 0, [], trash, lambda j: (j, j))
            moved = set(ov.revisions) if sort == "updated" else set()
            touched = set(ov.deleted) | set(ov.trashed) | moved
            if updated_before is not None:
                touched |= set(ov.revisions)
            removed = sorted(i for i in touched if lo <= i < hi and (i in moved or not passes(i)))
            # changed base records below the range may now pass the filter; created ones may always
            earlier = moved if sort == "updated" else {i for i in ov.revisions if i < lo}
            overlay = sorted(key(i) for i in set(ov.created) | earlier if passes(i))
            base_key = (
                (lambda j: (self.dataset.updated_at(entity, j), self.id_of(entity, j)))
                if sort == "updated"
                else (lambda j: (self.dataset.created_at(entity, j), self.id_of(entity, j)))
                if sort == "created"
                else (lambda j: (self.id_of(entity, j), self.id_of(entity, j)))
            )
            return View(lo, hi, removed, overlay, base_key)

    def records(self, entity: str, keys: Iterator[tuple[Any, int]]) -> list[Record]:
        out = []
        for _value, rec_id in keys:
            index = self.index_of(entity, rec_id)
            assert index is not None
            out.append(self.get(entity, index))
        return out

    # --- changing -------------------------------------------------------------------------

    def next_time(self, entity: str, index: int) -> datetime:
        """Now, to the second, but always after the record's last change: platforms stamp
        updated_at to the second, and a record's versions never go backwards."""
        now = datetime.now(UTC).replace(microsecond=0)
        if index < 0 or index >= self.overlays[entity].size:
            return now
        return max(now, self.get(entity, index).updated_at + timedelta(seconds=1))

    def create(self, entity: str, now: datetime) -> int:
        with self.lock:
            ov = self.overlays[entity]
            index = ov.size
            ov.created[index] = now
            if self.platform == "woocommerce":
                rec_id = 2 + index if entity == "customers" else self._take_post_id()
                self._woo_ids[entity][index] = rec_id
                self._woo_index[(_id_space(entity), rec_id)] = (entity, index)
            return index

    def update(self, entity: str, index: int, now: datetime) -> None:
        with self.lock:
            ov = self.overlays[entity]
            rev, _ = ov.revisions.get(index, (0, now))
            ov.revisions[index] = (rev + 1, now)

    def delete(self, entity: str, index: int, now: datetime, *, trash: bool = False) -> None:
        with self.lock:
            ov = self.overlays[entity]
            if trash:
                ov.trashed.add(index)
                rev, _ = ov.revisions.get(index, (0, now))
                ov.revisions[index] = (rev, now)
            else:
                ov.deleted[index] = now

    def _take_post_id(self) -> int:
        self._next_post_id += 1
        return self._next_post_id


def _id_space(entity: str) -> str:
    """WooCommerce customers are WordPress users; orders and products are posts (one sequence)."""
    return "users" if entity == "customers" else "posts"
