"""A set of row ids as one bound value: SQLite reads it through json_each, PostgreSQL as an array.

`column.in_(ids)` binds one parameter per id, and SQLAlchemy expands and processes each of them on
every statement: for the 10,000 ids of a push batch that was most of the time its views took to
read. One value costs one parameter, whatever the number of ids.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

import orjson
from sqlalchemy import ARRAY, BigInteger, ColumnElement, any_, bindparam, func, literal_column, select
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import BindParameter

# A few ids go as an IN-list: SQLite cannot see how long a json_each list is and plans a query
# with one as if it were long (measured: a contact by its id read through every contact of its
# account, 0.05 ms → 19 ms at 200,000); binding is cheap at this size.
AS_LIST_UP_TO = 100


def among(conn: Connection, column: Any, ids: Iterable[int | None]) -> ColumnElement[bool]:
    """`column IN ids`, with the ids bound as one value. A None matches nothing, as in an
    IN-list; anything but an integer is a TypeError, never a value turned into some id."""
    values = [i for i in ids if i is not None]
    if not all(type(i) is int for i in values):
        raise TypeError("among() takes integer ids only")
    if len(values) <= AS_LIST_UP_TO:
        return cast(ColumnElement[bool], column.in_(values))
    if conn.dialect.name == "postgresql":
        return column == any_(bindparam(None, values, type_=ARRAY(BigInteger), unique=True))
    listed: BindParameter[str] = bindparam(None, orjson.dumps(values).decode(), unique=True)
    return column.in_(select(literal_column("value")).select_from(func.json_each(listed)))
