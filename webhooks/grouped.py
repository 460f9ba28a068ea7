"""Group commit for the receiver: deliveries that arrive together in one process are stored in
one transaction and asked for in one Redis round trip per store (inbox.record_many).

The first request in leads: it stores what is waiting, up to MAX_GROUP; requests arriving
meanwhile wait and go in the next group, led by the first of them. Each request is answered
only once its own delivery is committed. If a group fails as a whole, each of its
deliveries is recorded alone (inbox.record: its own error, spool or store-gone answer).
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass, field

import redis
from sqlalchemy.engine import Engine

from connector import logs
from webhooks import inbox

log = logs.get(__name__)
MAX_GROUP = 64


@dataclass(eq=False)
class _Slot:
    delivery: inbox.Delivery
    spool_as: str | None
    count: str | None
    done: threading.Event = field(default_factory=threading.Event)
    lead: bool = False  # woken to lead the next group
    result: inbox.Recorded | None = None
    error: Exception | None = None

    def outcome(self) -> inbox.Recorded:
        if self.error is not None:
            raise self.error
        if self.result is None:
            raise inbox.Unavailable("the delivery could not be stored")
        return self.result


class Group:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: list[_Slot] = []
        self._busy = False  # a leader is storing a group; while False, nothing waits

    def record(
        self,
        engine: Engine,
        conn: redis.Redis,
        delivery: inbox.Delivery,
        *,
        spool_as: str | None,
        count: str | None,
    ) -> inbox.Recorded:
        slot = _Slot(delivery, spool_as, count)
        with self._lock:
            self._waiting.append(slot)
            leading, self._busy = not self._busy, True
        if not leading:
            slot.done.wait()
        if leading or slot.lead:
            self._lead(engine, conn)
        return slot.outcome()

    def _lead(self, engine: Engine, conn: redis.Redis) -> None:
        with self._lock:
            group, self._waiting = self._waiting[:MAX_GROUP], self._waiting[MAX_GROUP:]
        following = None
        try:
            _store(engine, conn, group)
        finally:
            with self._lock:
                if self._waiting:
                    following = self._waiting[0]
                    following.lead = True
                else:
                    self._busy = False
            for slot in group:
                slot.done.set()
            if following is not None:
                following.done.set()


def _store(engine: Engine, conn: redis.Redis, group: list[_Slot]) -> None:
    try:
        counts = [slot.count for slot in group]
        results = inbox.record_many(engine, conn, [slot.delivery for slot in group], counts)
    except Exception as exc:  # the group as a whole: each is tried alone, for its own answer
        log.info(
            "webhook group recorded one by one", extra={"deliveries": len(group), "error": type(exc).__name__}
        )
        for slot in group:
            try:
                slot.result = inbox.record(
                    engine, conn, slot.delivery, spool_as=slot.spool_as, count=slot.count
                )
            except Exception as alone:
                slot.error = alone
        return
    for slot, result in zip(group, results, strict=True):
        slot.result = result


_groups: weakref.WeakKeyDictionary[Engine, Group] = weakref.WeakKeyDictionary()
_made = threading.Lock()


def record(
    engine: Engine, conn: redis.Redis, delivery: inbox.Delivery, *, spool_as: str | None, count: str | None
) -> inbox.Recorded:
    """inbox.record's answer for this delivery, stored together with whatever arrives with it."""
    group = _groups.get(engine)
    if group is None:
        with _made:
            group = _groups.setdefault(engine, Group())
    return group.record(engine, conn, delivery, spool_as=spool_as, count=count)
