"""The one dead-letter writer: one open letter per record, counting attempts; a letter
without a record id (a webhook delivery's) always new; a resolved letter never reopened;
text and payload kept as PostgreSQL can hold them."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.engine import Connection, Engine

from connector.db import dead_letters
from connector.db.operations import DeadLetter
from tests.builders import make_store


def letters(conn: Connection) -> list[tuple[object, ...]]:
    columns = (DeadLetter.entity, DeadLetter.platform_id, DeadLetter.reason, DeadLetter.attempts)
    return [tuple(r) for r in conn.execute(select(*columns).order_by(DeadLetter.id))]


def test_a_record_dead_lettered_again_counts_an_attempt_on_its_open_letter(engine: Engine) -> None:
    with engine.begin() as conn:
        store = make_store(conn)
        # given a record dead-lettered with a NUL in its reason and payload
        dead_letters.write(
            conn, store, "sync", "bad\x00", entity="orders", platform_id=7, payload={"n": "a\x00"}
        )
        (payload,) = conn.execute(select(DeadLetter.payload)).scalars()
        assert letters(conn) == [("orders", 7, "bad", 1)] and payload == {"n": "a"}
        # when it is dead-lettered again, and a customer with the same id too
        dead_letters.write(conn, store, "sync", "still bad", entity="orders", platform_id=7, payload={})
        dead_letters.write(conn, store, "sync", "bad", entity="customers", platform_id=7, payload={})
        # then the order's one letter counts two attempts with the newest reason
        assert letters(conn) == [("orders", 7, "still bad", 2), ("customers", 7, "bad", 1)]


def test_a_resolved_letter_stays_resolved_and_deliveries_are_letters_of_their_own(engine: Engine) -> None:
    with engine.begin() as conn:
        store = make_store(conn)
        # given a record's letter the merchant resolved
        dead_letters.write(conn, store, "sync", "bad", entity="orders", platform_id=7)
        conn.execute(update(DeadLetter).values(resolved_at=DeadLetter.created_at))
        # when the record fails again, and two deliveries fail (no record id)
        dead_letters.write(conn, store, "sync", "bad again", entity="orders", platform_id=7)
        for inbox_id in (1, 2):
            dead_letters.write(
                conn, store, "webhook", "unreadable", entity="orders/create", payload={"i": inbox_id}
            )
        # then the record has a new open letter, and each delivery its own
        open_letters = select(DeadLetter.kind, DeadLetter.reason).where(DeadLetter.resolved_at.is_(None))
        assert sorted(tuple(r) for r in conn.execute(open_letters)) == [
            ("sync", "bad again"),
            ("webhook", "unreadable"),
            ("webhook", "unreadable"),
        ]


def test_a_failed_retry_counts_on_its_own_letter_and_a_working_one_resolves_it(engine: Engine) -> None:
    with engine.begin() as conn:
        store = make_store(conn)
        # given two open letters: a record's, and a step's that names no record
        dead_letters.write(conn, store, "sync", "bad", entity="orders", platform_id=7, payload={"id": 7})
        dead_letters.write(conn, store, "sync", "the platform refused", entity="orders")
        record_letter, step_letter = conn.execute(select(DeadLetter.id).order_by(DeadLetter.id)).scalars()
        # when the step's letter is retried and fails again (a NUL in the reason), and the
        # record's retry works
        dead_letters.retry_failed(conn, step_letter, "the retry failed too: still\x00 refused")
        dead_letters.resolve(conn, record_letter)
        # then the step's letter counts two attempts with the new reason, cleaned, and only it is open
        assert letters(conn) == [
            ("orders", 7, "bad", 1),
            ("orders", None, "the retry failed too: still refused", 2),
        ]
        open_letters = select(DeadLetter.id).where(DeadLetter.resolved_at.is_(None))
        assert list(conn.execute(open_letters).scalars()) == [step_letter]
        # and the record's payload is as it was
        assert conn.execute(select(DeadLetter.payload).where(DeadLetter.id == record_letter)).scalar() == {
            "id": 7
        }
