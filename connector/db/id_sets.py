"""A set of row ids as one bound value: SQLite reads it through json_each, PostgreSQL as an array.

`column.in_(ids)` binds one parameter per id, and SQLAlchemy expands and processes each of them on
every statement: for the 10,000 ids of a push batch that was most of the time its views took to
read. One value costs one parameter, whatever the number of ids.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson
from sqlalchemy import ARRAY, BigInteger, ColumnElement, any_, bindparam, func, literal_column, select
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import BindParameter


def among(conn: Connection, column: Any, ids: Iterable[int | None]) -> ColumnElement[bool]:
    """`column IN ids`, with the ids bound as one value. A None matches nothing, as in an
    IN-list; anything but an integer is a TypeError, never a value turned into some id."""
    values = [i for i in ids if i is not None]
    if not all(type(i) is int for i in values):
        raise TypeError("among() takes integer ids only")
    if conn.dialect.name == "postgresql":
        return column == any_(bindparam(None, values, type_=ARRAY(BigInteger), unique=True))
    listed: BindParameter[str] = bindparam(None, orjson.dumps(values).decode(), unique=True)
    return column.in_(select(literal_column("value")).select_from(func.json_each(listed)))
