"""A set of ids (a few as an IN-list, more bound as one value) selects exactly what an IN-list
selects, on each database."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from sqlalchemy import insert, select
from sqlalchemy.engine import Engine

from connector.db.id_sets import among
from connector.db.models import Contact, Store
from tests.builders import make_store


def given_contacts(engine: Engine, n: int) -> list[int]:
    with engine.begin() as conn:
        account_id = conn.execute(select(Store.account_id).where(Store.id == make_store(conn))).scalar_one()
        people = [{"account_id": account_id, "email": f"p{i}@example.com"} for i in range(n)]
        return list(conn.execute(insert(Contact).returning(Contact.id), people).scalars())


def chosen(engine: Engine, ids: Sequence[int | None]) -> list[int]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(Contact.id).where(among(conn, Contact.id, ids)).order_by(Contact.id)
            ).scalars()
        )


def test_ids_bound_as_one_value_select_what_an_in_list_selects(engine: Engine) -> None:
    ids = given_contacts(engine, 3_000)
    wanted = [*ids[::3], ids[0], ids[0]]  # repeated ids, and more than SQLite's 999 parameters of old
    assert chosen(engine, wanted) == sorted(set(ids[::3]))
    for few_or_many in ([ids[1]], ids[1:201]):  # an IN-list up to AS_LIST_UP_TO ids, one value past it
        assert chosen(engine, [*few_or_many, max(ids) + 10, None]) == few_or_many  # no such row; None: none
    assert chosen(engine, []) == []


@pytest.mark.parametrize("bad", ["12", 1.0, True])
def test_anything_but_an_integer_id_is_refused(engine: Engine, bad: object) -> None:
    given_contacts(engine, 1)
    with engine.connect() as conn, pytest.raises(TypeError):
        among(conn, Contact.id, [bad])  # type: ignore[list-item]
