"""Records held for another shop: the cross-shop replay check, asked once per round.

A delivery whose record is new to its store but already held for another store of the
same platform waits for the platform's word (webhooks.process). Asked per delivery that was
two queries each; here one pair of queries answers every delivery of a round at once, and
the answers are forgotten whenever the round writes or erases records.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from connector.db.models import Store
from connector.write.apply import TABLES
from webhooks import verify

Subject = tuple[str, int]  # (entity, platform id)


class HeldElsewhere:
    def __init__(self, conn: Connection, store: Any) -> None:
        self.conn, self.store = conn, store
        self.known: dict[Subject, bool] = {}

    def forget(self) -> None:
        """The round wrote or erased records: what was found may have changed."""
        self.known.clear()

    def held(self, topic: str, payload: Any, coming: Iterable[tuple[str, Any]]) -> bool:
        """True if this delivery's record is held for another shop and not for this one.
        `coming`: the round's deliveries from this one on (topic, payload), asked together."""
        subject = verify.subject(self.store.platform, topic, payload)
        if subject is None:
            return False
        if subject not in self.known:
            self._look_up({subject} | self._subjects(coming))
        return self.known[subject]

    def _subjects(self, coming: Iterable[tuple[str, Any]]) -> set[Subject]:
        found = (verify.subject(self.store.platform, topic, payload) for topic, payload in coming)
        return {s for s in found if s is not None and s not in self.known}

    def _look_up(self, subjects: set[Subject]) -> None:
        by_entity: dict[str, list[int]] = defaultdict(list)
        for entity, platform_id in subjects:
            by_entity[entity].append(platform_id)
        for entity, ids in by_entity.items():
            mine, theirs = self._holders(entity, ids)
            for platform_id in ids:
                self.known[(entity, platform_id)] = platform_id in theirs and platform_id not in mine

    def _holders(self, entity: str, ids: list[int]) -> tuple[set[int], set[int]]:
        """The ids this store holds, and those other stores of its platform hold."""
        table = TABLES[entity]
        wanted = table.c.platform_id.in_(ids)
        mine = select(table.c.platform_id).where(table.c.store_id == self.store.id, wanted)
        others = select(Store.id).where(Store.platform == self.store.platform, Store.id != self.store.id)
        theirs = select(table.c.platform_id).where(table.c.store_id.in_(others), wanted).distinct()
        return set(self.conn.execute(mine).scalars()), set(self.conn.execute(theirs).scalars())
