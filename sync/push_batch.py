"""One push's work on one destination, a batch of marks at a time (sync/push.py drives it):
take the oldest marks of an object, read what the store holds of those records, send the
upserts and deletions (of records noted there, or found by the connector's key: a batch whose
answer never came noted none), and in one transaction note each record's state and id there, write a
dead letter per refusal (HubSpot's reason, in words), resolve the letters of records that went
through, and remove the marks delivered (only those taken: a mark written meanwhile stays).
Up to the kind's PUSH_IN_FLIGHT batches are with the CRM at once (a daemon thread each; 1: the
next batch is only read meanwhile); a batch's ids there are read once every batch before it that
names one of its records is settled, so an erasure always finds them.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, distinct, func, select, update
from sqlalchemy.engine import Connection, Engine

from connector import logs
from connector.crm import destination_views, insights
from connector.db import dead_letters
from connector.db.id_sets import among
from connector.db.operations import DeadLetter, DestinationMark, DestinationRecord, PrivacyRequest
from connector.db.types import utcnow
from connector.db.upsert import dialect_insert
from connector.errors import Reauthorize
from connector.runtime.signals import deferred_stops
from destinations.protocol import Destination as Kind
from destinations.protocol import Session
from destinations.records import Outcome, Record, merged

log = logs.get(__name__)
IN_FLIGHT = 1
STOP_GRACE_S = 5.0  # a stopped push waits this long for batches away (a worker's horse has 10 s)


@dataclass
class Batch:
    """Marks taken (oldest first, past the batch before) and the views of their records."""

    marks: list[Any]
    views: dict[int, dict[str, Any] | None]

    @property
    def last(self) -> int:
        return max(m.id for m in self.marks)


@dataclass
class Away:
    """A batch with the CRM: its records, and the answer to come (what it did, records gone)."""

    batch: Batch
    ids: set[int]
    answer: Future[tuple[Outcome, list[int]]]


class Run:
    def __init__(
        self,
        engine: Engine,
        dest: Any,
        kind: Kind,
        session: Session,
        rules: insights.Rules,
        summary: Any,
    ) -> None:
        self.engine, self.dest, self.kind, self.session = engine, dest, kind, session
        self.rules, self.summary = rules, summary
        self.mapping = merged(kind.DEFAULT_MAPPING, dest.mapping)
        self.batch, self.in_flight = kind.PUSH_BATCH, kind.PUSH_IN_FLIGHT
        self.lock_lost, self.settled = False, 0  # settled: records of the object being drained

    def drain(
        self, obj: str, progress: Callable[[str, int, int], None] | None, renew: Callable[[], Any]
    ) -> None:
        """Up to `in_flight` batches with the CRM at once, each settled in the order taken; a
        batch naming a record of one still with the CRM waits until that one is settled."""
        total, after, self.settled = self._pending(obj), 0, 0
        at_once = self._at_once(obj)
        away: deque[Away] = deque()
        try:
            while batch := self._read(obj, after):
                after = batch.last
                ids = {m.record_id for m in batch.marks}
                while away and (len(away) >= at_once or any(ids & a.ids for a in away)):
                    self._settle_oldest(obj, away, progress, renew, total)
                known, contacts = self._known(obj, batch)
                away.append(Away(batch, ids, _away(self._send, obj, batch, known, contacts)))
            while away:
                self._settle_oldest(obj, away, progress, renew, total)
        except Exception as failed:
            reconnect = self._settle_answered(obj, away, renew, wait_s=None)
            if reconnect is not None and not isinstance(failed, Reauthorize):
                raise reconnect from failed  # a refused grant outranks a failure beside it
            raise
        except BaseException:  # stopped (a signal, Ctrl-C): what is still away gets a short grace
            shown = (lambda n: progress(obj, min(self.settled + n, total), total)) if progress else None
            self._settle_answered(obj, away, renew, wait_s=STOP_GRACE_S, settled=shown)
            raise

    def _at_once(self, obj: str) -> int:
        """The kind's PUSH_IN_FLIGHT for this object."""
        return max(1, int(self.in_flight.get(obj, IN_FLIGHT)))

    def _settle_oldest(
        self,
        obj: str,
        away: deque[Away],
        progress: Callable[[str, int, int], None] | None,
        renew: Callable[[], Any],
        total: int,
    ) -> None:
        """Wait for the oldest batch with the CRM, settle it and count it in `settled`."""
        sent = away[0]
        outcome, gone = sent.answer.result()
        away.popleft()
        with deferred_stops():  # a stop landing as the batch commits waits until it is counted
            self._settle(obj, sent.batch.marks, outcome, gone)
            self.settled += len(sent.ids)
            if progress:
                progress(obj, min(self.settled, total), total)
        self._renew(renew)

    def _settle_answered(
        self,
        obj: str,
        away: deque[Away],
        renew: Callable[[], Any],
        *,
        wait_s: float | None,
        settled: Callable[[int], None] | None = None,
    ) -> Reauthorize | None:
        """After a failure: the batches the CRM took are settled (their marks go), those still
        away waited for (at most `wait_s` in all, when given); the rest keep their marks. With
        the push's lock lost, nothing more is settled: another push may hold the marks now.
        A batch the CRM failed with a refused grant is answered, to be raised."""
        deadline = None if wait_s is None else time.monotonic() + wait_s
        reconnect: Reauthorize | None = None
        count = 0
        for sent in away:
            if self.lock_lost:
                break
            try:
                left = None if deadline is None else max(0.0, deadline - time.monotonic())
                outcome, gone = sent.answer.result(timeout=left)
            except FutureTimeout:
                continue  # its thread ends with the process; its marks stay for the next push
            except Exception as exc:  # its marks stay: the next push sends the batch again
                extra = {"destination_id": self.dest.id, "object": obj, "error": type(exc).__name__}
                log.warning("push batch left marked", extra=extra | {"reason": getattr(exc, "reason", None)})
                reconnect = reconnect or (exc if isinstance(exc, Reauthorize) else None)
                continue
            self._settle(obj, sent.batch.marks, outcome, gone)
            count += len(sent.ids)
            if settled:
                settled(count)
            with suppress(Exception):  # a lost lock is noted; the failure raised is the first one
                self._renew(renew)
        return reconnect

    def _renew(self, renew: Callable[[], Any]) -> None:
        """The push's lock renewed; noted if it was lost (then raised)."""
        try:
            renew()
        except Exception:
            self.lock_lost = True
            raise

    def _pending(self, obj: str) -> int:
        """The records marked (a record marked twice counts once)."""
        with self.engine.connect() as conn:
            marked = self._marks(obj).with_only_columns(func.count(distinct(DestinationMark.record_id)))
            return int(conn.execute(marked).scalar_one())

    def _marks(self, obj: str) -> Any:
        return select(DestinationMark.__table__).where(
            DestinationMark.destination_id == self.dest.id, DestinationMark.object == obj
        )

    def _read(self, obj: str, after: int) -> Batch | None:
        """The oldest marks past `after`, and what the store holds of their records (None:
        no marks left). A stop waits for the reading: cut mid-query, a connection is left unusable."""
        with deferred_stops(), self.engine.connect() as conn:
            marks = list(
                conn.execute(
                    self._marks(obj)
                    .where(DestinationMark.id > after)
                    .order_by(DestinationMark.id)
                    .limit(self.batch)
                ).all()
            )
            if not marks:
                return None
            views = self._views(conn, obj, sorted({m.record_id for m in marks}))
        return Batch(marks, views)

    def _known(self, obj: str, batch: Batch) -> tuple[dict[int, str], dict[int, str]]:
        """The batch's records' ids in the CRM, and (orders) their contacts' ids there."""
        views = batch.views
        with deferred_stops(), self.engine.connect() as conn:  # as in _read
            known = self._external_ids(conn, obj, sorted({m.record_id for m in batch.marks}))
            contacts = self._external_ids(
                conn,
                "contacts",
                sorted({v["contact_id"] for v in views.values() if v and v.get("contact_id")}),
            )
        return known, contacts

    def _send(
        self, obj: str, batch: Batch, known: dict[int, str], contacts: dict[int, str]
    ) -> tuple[Outcome, list[int]]:
        """The CRM's part of a batch (in a thread of its own): the upserts, the archives of
        what the store no longer holds, an order's link to its contact; what it did, and the
        records gone."""
        marks, views = batch.marks, batch.views
        ids = sorted({m.record_id for m in marks})
        erased = {m.record_id for m in marks if m.erase}
        live = [
            Record(i, v, v.get("contact_id")) for i, v in views.items() if v is not None and i not in erased
        ]
        outcome = self.session.upsert(obj, live, self.mapping) if live else Outcome()
        gone = self._erase(obj, [i for i in ids if i in erased or views.get(i) is None], erased, known)
        if obj == "orders":
            pairs = [
                (outcome.pushed[r.record_id], contacts[r.contact_id])
                for r in live
                if r.record_id in outcome.pushed and r.contact_id in contacts
            ]
            if pairs:
                self.session.associate(pairs)
        return outcome, gone

    def _erase(self, obj: str, leaving: list[int], erased: set[int], known: dict[int, str]) -> list[int]:
        """The records the store no longer holds deleted there: by their noted ids, or found by
        the connector's key (a batch whose answer never came left none noted); those deleted."""
        unknown = [i for i in leaving if i not in known]
        where = known | (self.session.ids_of(obj, unknown) if unknown else {})
        gone = [i for i in leaving if i in where]
        for for_good in (True, False):
            chosen = [where[i] for i in gone if (i in erased) is for_good]
            if chosen:
                self.session.erase(obj, chosen, for_good=for_good, mapping=self.mapping)
        return gone

    def _views(self, conn: Connection, obj: str, ids: list[int]) -> dict[int, dict[str, Any] | None]:
        if obj == "contacts":
            return destination_views.contacts(conn, self.dest.account_id, ids, self.rules, utcnow())
        return destination_views.orders(conn, self.dest.account_id, ids)

    def _external_ids(self, conn: Connection, obj: str, ids: list[int]) -> dict[int, str]:
        if not ids:
            return {}
        rows = conn.execute(
            select(DestinationRecord.record_id, DestinationRecord.external_id).where(
                DestinationRecord.destination_id == self.dest.id,
                DestinationRecord.object == obj,
                among(conn, DestinationRecord.record_id, ids),
                DestinationRecord.external_id.is_not(None),
            )
        ).all()
        return {r: str(e) for r, e in rows}

    def _settle(self, obj: str, marks: list[Any], outcome: Outcome, gone: list[int]) -> None:
        now = utcnow()
        with self.engine.begin() as conn:
            self._note(conn, obj, outcome, now)
            if gone:
                conn.execute(
                    delete(DestinationRecord).where(
                        DestinationRecord.destination_id == self.dest.id,
                        DestinationRecord.object == obj,
                        DestinationRecord.record_id.in_(gone),
                    )
                )
            self._receipts(conn, {m.receipt_id for m in marks if m.erase and m.receipt_id})
            # exactly the marks taken: one committed late with a lower id (PostgreSQL hands out
            # ids before commit) was not read with these views, so it stays for the next push
            conn.execute(
                delete(DestinationMark).where(among(conn, DestinationMark.id, [m.id for m in marks]))
            )
        self.summary.pushed[obj] = self.summary.pushed.get(obj, 0) + len(outcome.pushed)
        self.summary.refused[obj] = self.summary.refused.get(obj, 0) + len(outcome.refused)
        self.summary.erased += len(gone)

    def _note(self, conn: Connection, obj: str, outcome: Outcome, now: datetime) -> None:
        rows = [
            {
                "destination_id": self.dest.id,
                "object": obj,
                "record_id": r,
                "external_id": e,
                "state": "pushed",
                "error": None,
                "pushed_at": now,
            }
            for r, e in outcome.pushed.items()
        ] + [
            {
                "destination_id": self.dest.id,
                "object": obj,
                "record_id": r,
                "external_id": None,
                "state": "failed",
                "error": why,
                "pushed_at": None,
            }
            for r, why in outcome.refused.items()
        ]
        if rows:
            stmt = dialect_insert(conn, DestinationRecord.__table__)
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["destination_id", "object", "record_id"],
                    set_={
                        "state": stmt.excluded.state,
                        "error": stmt.excluded.error,
                        "external_id": func.coalesce(
                            stmt.excluded.external_id, DestinationRecord.__table__.c.external_id
                        ),
                        "pushed_at": func.coalesce(
                            stmt.excluded.pushed_at, DestinationRecord.__table__.c.pushed_at
                        ),
                    },
                ),
                rows,
            )
        self._letters(conn, obj, outcome, now)

    def _letters(self, conn: Connection, obj: str, outcome: Outcome, now: datetime) -> None:
        """A dead letter per refusal; the letters of records that went through now, resolved."""
        entity = f"{obj}@{self.dest.id}"
        for record_id, why in outcome.refused.items():
            dead_letters.write(
                conn,
                None,
                "destination",
                f"{self.dest.kind} refused this record: {why}",
                entity=entity,
                platform_id=record_id,
                payload={"destination_id": self.dest.id, "object": obj, "record_id": record_id},
            )
        if outcome.pushed:
            conn.execute(
                update(DeadLetter)
                .where(
                    and_(
                        DeadLetter.kind == "destination",
                        DeadLetter.entity == entity,
                        DeadLetter.resolved_at.is_(None),
                        DeadLetter.platform_id.in_(sorted(outcome.pushed)),
                    )
                )
                .values(resolved_at=now)
            )

    def _receipts(self, conn: Connection, receipts: set[int]) -> None:
        """An erasure's receipt says, per destination, that the person is deleted there."""
        for receipt in receipts:
            result = conn.execute(
                select(PrivacyRequest.result).where(PrivacyRequest.id == receipt)
            ).scalar_one_or_none()
            if result is None:
                continue
            done = {**(result.get("destinations") or {}), str(self.dest.id): f"deleted in {self.dest.kind}"}
            conn.execute(
                update(PrivacyRequest)
                .where(PrivacyRequest.id == receipt)
                .values(result={**result, "destinations": done})
            )


def _away(send: Callable[..., tuple[Outcome, list[int]]], *args: Any) -> Future[tuple[Outcome, list[int]]]:
    """`send(*args)` in a daemon thread of its own: a push stopped while a batch is with the CRM
    (a Bulk job can take minutes) returns at once, and the process does not wait for the call."""
    answer: Future[tuple[Outcome, list[int]]] = Future()

    def run() -> None:
        answer.set_running_or_notify_cancel()
        try:
            answer.set_result(send(*args))
        except BaseException as exc:  # handed to the main thread, which raises it
            answer.set_exception(exc)

    threading.Thread(target=run, name="push-crm", daemon=True).start()
    return answer
