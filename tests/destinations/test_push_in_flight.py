"""Several batches with the CRM at once (a kind's PUSH_IN_FLIGHT, here Zoho's made small-batched
and wide): an erasure whose person's earlier batch is still with the CRM waits for it and finds
them there; a batch the CRM fails keeps its marks while the batches around it are settled, and
the next push sends it; a push stopped while a batch is away returns without waiting for it; a
refused grant among the failures is the one the push reports (the destination needs reconnecting);
a stop signal landing as a batch commits takes effect once that batch is counted, and the batches
its grace settles are counted after it."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections import Counter
from typing import Any

import pytest
import redis
from redis.exceptions import LockError
from sqlalchemy import select

import destinations.zoho
import sync.push
from connector.db import get_engine
from connector.db.operations import Destination, DestinationMark, DestinationRecord
from connector.errors import Reauthorize, RetryLater
from connector.runtime import signals
from sync import push_batch
from sync.push import push
from tests.destinations.helpers import forget, push_until_done, receipt_result, sync_everything
from tests.destinations.zoho_helpers import add_zoho, assert_zoho_matches, held
from tests.rig import Rig

AWAY_S = 1.0  # how long the first batch stays with the CRM after its person is erased


@pytest.fixture
def wide(monkeypatch: pytest.MonkeyPatch) -> None:
    """Zoho pushed 5 records a batch, up to 100 batches with it at once."""
    monkeypatch.setattr(destinations.zoho, "PUSH_BATCH", 5)
    monkeypatch.setattr(destinations.zoho, "PUSH_IN_FLIGHT", {"contacts": 100, "orders": 100})


def marked_contacts(rig: Rig, dest: int) -> list[int]:
    with get_engine(rig.app).connect() as conn:
        return list(
            conn.execute(
                select(DestinationMark.record_id)
                .where(DestinationMark.destination_id == dest, DestinationMark.object == "contacts")
                .order_by(DestinationMark.id)
            ).scalars()
        )


def noted(rig: Rig, dest: int) -> set[int]:
    with get_engine(rig.app).connect() as conn:
        return set(
            conn.execute(
                select(DestinationRecord.record_id).where(
                    DestinationRecord.destination_id == dest,
                    DestinationRecord.object == "contacts",
                    DestinationRecord.state == "pushed",
                )
            ).scalars()
        )


def destination_status(rig: Rig, dest: int) -> str:
    with get_engine(rig.app).connect() as conn:
        return str(conn.execute(select(Destination.status).where(Destination.id == dest)).scalar_one())


def zoho_with_everything_marked(rig: Rig) -> tuple[int, list[int]]:
    """The rig backfilled, a Zoho destination added: its id and the contacts marked, in order."""
    sync_everything(rig)
    dest = add_zoho(rig)
    return dest, marked_contacts(rig, dest)


def assert_settled_and_left(rig: Rig, dest: int, settled: set[int], away: set[int]) -> None:
    """`settled` noted and unmarked, `away` still marked and not noted, nothing noted marked."""
    left = set(marked_contacts(rig, dest))
    assert settled <= noted(rig, dest) and not settled & left
    assert away <= left and not away & noted(rig, dest)
    assert noted(rig, dest).isdisjoint(left)


def test_an_erasure_behind_its_persons_batch_still_with_the_crm_finds_them_there(
    rig: Rig, wide: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a Zoho destination with every contact marked, and a first batch that, once it has
    # sent its people, sees one of them erased and stays with the CRM a while longer
    sync_everything(rig)
    dest = add_zoho(rig)
    send, read = push_batch.Run._send, push_batch.Run._read
    erased = threading.Event()
    receipts: list[int] = []

    def send_then_erase(run: push_batch.Run, obj: str, batch: push_batch.Batch, *known: Any) -> Any:
        answer = send(run, obj, batch, *known)
        if obj == "contacts" and not receipts:
            receipts.append(forget(rig, batch.marks[0].record_id))
            erased.set()
            time.sleep(AWAY_S)
        return answer

    def read_once_erased(run: push_batch.Run, obj: str, after: int) -> Any:
        if obj == "contacts" and after:
            erased.wait(30)  # the erasure's mark is there before the next batches are read
        return read(run, obj, after)

    monkeypatch.setattr(push_batch.Run, "_send", send_then_erase)
    monkeypatch.setattr(push_batch.Run, "_read", read_once_erased)
    first = marked_contacts(rig, dest)[0]
    # when the destination is pushed
    assert push_until_done(rig.app, dest)[-1].outcome == "done"
    # then the erased person, pushed by the first batch, was deleted from Zoho by the later one
    assert receipts and str(first) not in held(rig, "contacts")
    assert first not in noted(rig, dest)
    assert receipt_result(rig, receipts[0])["destinations"] == {str(dest): "deleted in zoho"}
    assert_zoho_matches(rig)


def test_a_batch_the_crm_fails_keeps_its_marks_and_the_batches_around_it_are_settled(
    rig: Rig, wide: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a Zoho destination with every contact marked, and Zoho failing the second batch
    dest, marked = zoho_with_everything_marked(rig)
    assert len(marked) > 15
    second = set(marked[5:10])
    send = push_batch.Run._send
    failed: list[set[int]] = []
    sent: Counter[int] = Counter()

    def fail_the_second(run: push_batch.Run, obj: str, batch: push_batch.Batch, *known: Any) -> Any:
        ids = {m.record_id for m in batch.marks}
        if obj == "contacts" and ids == second and not failed:
            failed.append(ids)
            raise RetryLater("Zoho answered 503")
        if obj == "contacts":
            sent.update(ids)
        return send(run, obj, batch, *known)

    monkeypatch.setattr(push_batch.Run, "_send", fail_the_second)
    # when the destination is pushed
    with rig.app.app_context():
        summary = push(rig.app, dest)
    # then the push waits to be tried again; the first batch is settled, the failed one keeps
    # its marks and is not noted
    assert summary.outcome == "retry" and failed
    assert_settled_and_left(rig, dest, set(marked[:5]), second)
    # and the next push sends what is left: Zoho holds exactly the account
    assert push_until_done(rig.app, dest)[-1].outcome == "done"
    assert not marked_contacts(rig, dest)
    assert_zoho_matches(rig)
    # and no record was sent twice: the batches Zoho took while the failed one was away were
    # settled, not sent again
    assert set(sent) == set(marked) and set(sent.values()) == {1}


def test_a_push_stopped_while_a_batch_is_with_the_crm_returns_at_once_and_leaves_it_marked(
    rig: Rig, wide: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a Zoho destination with every contact marked, whose second batch stays with the CRM
    # (as a Bulk job may for minutes)
    dest, marked = zoho_with_everything_marked(rig)
    first, second = set(marked[:5]), set(marked[5:10])
    send = push_batch.Run._send
    release = threading.Event()

    def slow_second(run: push_batch.Run, obj: str, batch: push_batch.Batch, *known: Any) -> Any:
        if obj == "contacts" and {m.record_id for m in batch.marks} == second:
            release.wait(120)
        return send(run, obj, batch, *known)

    monkeypatch.setattr(push_batch.Run, "_send", slow_second)
    stopped: list[str] = []

    def stop_once_a_batch_is_settled(obj: str, done: int, total: int) -> None:
        raise KeyboardInterrupt  # what Ctrl-C or the worker's SIGTERM raises

    def run_push() -> None:
        try:
            with rig.app.app_context():
                push(rig.app, dest, progress=stop_once_a_batch_is_settled)
        except KeyboardInterrupt:
            stopped.append("stopped")

    # when the push is stopped once its first batch is settled
    pushing = threading.Thread(target=run_push)
    pushing.start()
    pushing.join(60)
    still_away = not release.is_set()
    release.set()
    # then it returned while the second batch was still with the CRM, without waiting for it
    assert not pushing.is_alive() and stopped == ["stopped"] and still_away
    # and the first batch is settled, the second keeps its marks, nothing noted is still marked
    assert_settled_and_left(rig, dest, first, second)
    # and the next push sends the rest: Zoho holds exactly the account
    assert push_until_done(rig.app, dest)[-1].outcome == "done"
    assert_zoho_matches(rig)


def test_a_push_that_lost_its_lock_settles_nothing_more(
    rig: Rig, wide: None, monkeypatch: pytest.MonkeyPatch, redis_conn: redis.Redis
) -> None:
    # given a Zoho destination with every contact marked, whose push lock runs out (another push
    # may take the marks now) while its first batch is with the CRM
    dest, marked = zoho_with_everything_marked(rig)
    send = push_batch.Run._send

    def send_then_lose_the_lock(run: push_batch.Run, obj: str, batch: push_batch.Batch, *known: Any) -> Any:
        answer = send(run, obj, batch, *known)
        if obj == "contacts" and batch.marks[0].record_id == marked[0]:
            redis_conn.delete(f"crm:push:{dest}")
        return answer

    monkeypatch.setattr(push_batch.Run, "_send", send_then_lose_the_lock)
    # when the destination is pushed
    with rig.app.app_context(), pytest.raises(LockError):
        push(rig.app, dest)
    # then the push stops at the first renewal that fails: only the first batch is settled, the
    # batches the CRM answered meanwhile keep their marks for whichever push holds the lock
    assert_settled_and_left(rig, dest, set(marked[:5]), set(marked[5:]))
    assert push_until_done(rig.app, dest)[-1].outcome == "done"
    assert_zoho_matches(rig)


def test_a_refused_grant_behind_another_failure_still_marks_the_destination_needs_reconnect(
    rig: Rig, wide: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a Zoho destination with every contact marked, Zoho failing the second batch with a
    # 503 and, while that one is away, refusing the grant for the third
    dest, marked = zoho_with_everything_marked(rig)
    second, third = set(marked[5:10]), set(marked[10:15])
    send = push_batch.Run._send

    def fail_two(run: push_batch.Run, obj: str, batch: push_batch.Batch, *known: Any) -> Any:
        ids = {m.record_id for m in batch.marks}
        if obj == "contacts" and ids == second:
            time.sleep(0.2)  # the third is with Zoho too by then
            raise RetryLater("Zoho answered 503")
        if obj == "contacts" and ids == third:
            raise Reauthorize("Zoho refused the grant (invalid_token)")
        return send(run, obj, batch, *known)

    monkeypatch.setattr(push_batch.Run, "_send", fail_two)
    # when the destination is pushed
    with rig.app.app_context():
        summary = push(rig.app, dest)
    # then the refused grant is what the push reports, and the destination needs reconnecting
    assert summary.outcome == "needs_reconnect" and "refused the grant" in str(summary.reason)
    assert destination_status(rig, dest) == "needs_reconnect"
    # and what Zoho took is settled while both failed batches keep their marks
    assert_settled_and_left(rig, dest, set(marked[:5]), second | third)


def test_a_batch_the_crm_holds_past_the_lock_s_time_keeps_the_push_its_lock(
    rig: Rig, wide: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a push lock of 1 s and a CRM holding the first batch 2.5 s (a Bulk job polled)
    dest, marked = zoho_with_everything_marked(rig)
    monkeypatch.setattr(sync.push, "LOCK_S", 1)
    send = push_batch.Run._send

    def slow_first(run: push_batch.Run, obj: str, batch: push_batch.Batch, *known: Any) -> Any:
        if obj == "contacts" and batch.marks[0].record_id == marked[0]:
            time.sleep(2.5)
        return send(run, obj, batch, *known)

    monkeypatch.setattr(push_batch.Run, "_send", slow_first)
    # when the destination is pushed, then the lock is kept the while and the push completes
    with rig.app.app_context():
        assert push(rig.app, dest).outcome == "done"
    assert_settled_and_left(rig, dest, set(marked), set())
    assert_zoho_matches(rig)


def test_the_push_locks_heartbeat_outlasts_redis_unreachable_for_a_beat(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given a lock whose first renewal meets Redis unreachable, and beats of 0.05 s
    monkeypatch.setattr(sync.push, "LOCK_S", 0.2)

    class Lock:
        name, renewals = "crm:push:1", 0

        def reacquire(self) -> None:
            Lock.renewals += 1
            if Lock.renewals == 1:
                raise redis.ConnectionError("Redis could not be reached")

    # when a push holds it for half a second, then the beats go on after the failed one
    with sync.push._kept(Lock()):
        time.sleep(0.5)
    assert Lock.renewals >= 4


def pushed_in_the_main_thread_until_sigterm_after_the_first_batch(rig: Rig, dest: int) -> list[int]:
    """`push` run as the CLI runs it (the main thread, SIGTERM unwinding it), the signal sent
    the moment the first batch's transaction has committed: the counts its progress showed."""
    settle, shown = push_batch.Run._settle, list[int]()

    def settle_then_signal(run: push_batch.Run, obj: str, *args: Any) -> None:
        settle(run, obj, *args)
        if obj == "contacts" and not shown:
            os.kill(os.getpid(), signal.SIGTERM)

    before = signal.signal(signal.SIGTERM, signals.raise_stopped)
    try:
        with pytest.MonkeyPatch.context() as patch, pytest.raises(signals.Stopped):
            patch.setattr(push_batch.Run, "_settle", settle_then_signal)
            push(rig.app, dest, progress=lambda obj, done, total: shown.append(done))
    finally:
        signal.signal(signal.SIGTERM, before)
    return shown


def test_a_stop_signal_landing_as_a_batch_commits_takes_effect_once_that_batch_is_counted(
    rig: Rig, wide: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a Zoho destination with every contact marked, one batch with the CRM at a time
    monkeypatch.setattr(destinations.zoho, "PUSH_IN_FLIGHT", {"contacts": 1, "orders": 1})
    dest, marked = zoho_with_everything_marked(rig)
    # when SIGTERM lands just as the first batch commits
    shown = pushed_in_the_main_thread_until_sigterm_after_the_first_batch(rig, dest)
    # then the stop waited for the batch to be counted: what it shows is what it noted
    assert shown == [5] and noted(rig, dest) == set(marked[:5])


def test_batches_settled_in_a_stops_grace_are_counted_after_the_one_it_landed_on(
    rig: Rig, wide: None
) -> None:
    # given a Zoho destination with every contact marked, all its batches with the CRM at once
    dest, marked = zoho_with_everything_marked(rig)
    # when SIGTERM lands just as the first batch commits, and the grace settles the answered ones
    shown = pushed_in_the_main_thread_until_sigterm_after_the_first_batch(rig, dest)
    # then each batch is counted once, in turn, and the last count is what was noted
    assert shown == [min(n, len(marked)) for n in range(5, len(shown) * 5 + 1, 5)]
    assert shown[-1] == len(noted(rig, dest) & set(marked))
