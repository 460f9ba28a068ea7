"""A dashboard list as a merchant reads it: one page of rows in a chosen order, with the
total and how many pages there are, and the same rows (every page) as CSV. What may be
sorted is a whitelist of named columns per list (a user's sort key is only ever looked up,
never put into SQL); page and page size are bounded; arguments a list does not take are
refused with a sentence naming them, so a typo never shows another list in silence.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from flask import Response, request
from sqlalchemy import func, nulls_last, select
from sqlalchemy.engine import Connection
from sqlalchemy.sql import Select

from connector.errors import BadInput
from connector.web.queries.contacts import csv_cell

PER_PAGE = 50
MAX_PER_PAGE = 200
MAX_PAGE = 10**9
PAGING = ("page", "per_page", "sort", "format")


@dataclass(frozen=True)
class Column:
    """A column of a list: its name in the URL and the CSV, its heading, and what it sorts by
    (a SQL expression for a SQL list; the row's value under `key` for a list of dicts)."""

    key: str
    label: str
    sorts_by: Any = None
    sortable: bool = True


@dataclass(frozen=True)
class Listing:
    name: str
    columns: tuple[Column, ...]
    default_sort: str  # a column's key, "-" first for descending
    filters: tuple[str, ...] = ()  # the other arguments the list takes (each checked by its page)
    prefix: str = ""  # for a second list on one page: its arguments are prefix + name

    def arg(self, name: str) -> str:
        return self.prefix + name

    def column(self, key: str) -> Column | None:
        return next((c for c in self.columns if c.key == key and c.sortable), None)

    def accepted(self) -> tuple[str, ...]:
        return tuple(self.arg(n) for n in PAGING) + self.filters


@dataclass(frozen=True)
class View:
    """The page, page size and order a request asked for, checked."""

    listing: Listing
    page: int = 1
    per_page: int = PER_PAGE
    sort: str = ""
    descending: bool = False
    csv: bool = False  # every row, for the CSV export (the page and its size do not apply)

    @property
    def sort_arg(self) -> str:
        return ("-" if self.descending else "") + self.sort


@dataclass
class Shown:
    """One page of a list: its rows, the total over every page, and where this page is."""

    view: View
    rows: Sequence[Any]
    total: int
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.view.per_page))

    @property
    def first(self) -> int:
        return (self.view.page - 1) * self.view.per_page + 1

    @property
    def last(self) -> int:
        return self.first + len(self.rows) - 1

    @property
    def beyond(self) -> bool:
        """A page past the last one was asked for (shown as an empty page that says so)."""
        return not self.rows and self.total > 0


def _bounded(args: Mapping[str, Any], name: str, default: int, top: int) -> int:
    raw = args.get(name)
    if raw in (None, ""):
        return default
    if not (isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) <= 10):
        raise BadInput(f"{name}: a whole number from 1 to {top:,}")
    value = int(raw)
    if not 1 <= value <= top:
        raise BadInput(f"{name}: a whole number from 1 to {top:,}")
    return value


def view_of(listing: Listing, args: Mapping[str, Any], *, checked: bool = True) -> View:
    """The request's page, page size and order for this list; a bad one is refused with a
    sentence naming the argument (`checked`: also refuse arguments the page does not take)."""
    if checked:
        unknown = sorted(k for k in args if k not in listing.accepted())
        if unknown:
            raise BadInput(f"{unknown[0]}: this list takes {', '.join(listing.accepted())}, not {unknown[0]}")
    raw_sort = args.get(listing.arg("sort")) or listing.default_sort
    key = raw_sort.removeprefix("-")
    if listing.column(key) is None:
        names = ", ".join(c.key for c in listing.columns if c.sortable)
        raise BadInput(f"{listing.arg('sort')}: one of {names} (a leading - for descending)")
    wanted = args.get(listing.arg("format"))
    if wanted not in (None, "", "csv"):
        raise BadInput(f"{listing.arg('format')}: csv, or leave it out for the page")
    page = _bounded(args, listing.arg("page"), 1, MAX_PAGE)
    per_page = _bounded(args, listing.arg("per_page"), PER_PAGE, MAX_PER_PAGE)
    if wanted == "csv":
        page, per_page = 1, MAX_PAGE
    return View(listing, page, per_page, key, raw_sort.startswith("-"), wanted == "csv")


def _ordering(view: View, tiebreak: Any) -> list[Any]:
    column = view.listing.column(view.sort)
    assert column is not None and column.sorts_by is not None, "a SQL list sorts by SQL expressions"
    expression = column.sorts_by.desc() if view.descending else column.sorts_by.asc()
    return [nulls_last(expression), tiebreak.desc() if view.descending else tiebreak.asc()]


def sql_count(conn: Connection, query: Select[*tuple[Any, ...]]) -> int:
    return int(conn.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0)


def sql_page(conn: Connection, view: View, query: Select[*tuple[Any, ...]], tiebreak: Any) -> Shown:
    """One page of a query's rows in the view's order (`tiebreak`, a unique column, makes the
    order total, so no row is on two pages), and the query's count, both in SQL."""
    total = sql_count(conn, query)
    offset = (view.page - 1) * view.per_page
    rows = (
        []
        if offset >= total
        else conn.execute(
            query.order_by(*_ordering(view, tiebreak)).offset(offset).limit(view.per_page)
        ).all()
    )
    return Shown(view, rows, total)


def _sort_key(key: str) -> Callable[[Mapping[str, Any]], Any]:
    def of(row: Mapping[str, Any]) -> Any:
        value = row.get(key)
        return (value is None, "" if value is None else _comparable(value))

    return of


def _comparable(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return float(value)  # money comes as text ("12.50") from the read models
        except ValueError:
            return value.casefold()
    return value


def ordered(view: View, rows: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """A list of dicts (an aggregate already computed: a report) in the view's order; empty
    values last either way."""
    present = [r for r in rows if r.get(view.sort) is not None]
    absent = [r for r in rows if r.get(view.sort) is None]
    try:
        present.sort(key=_sort_key(view.sort), reverse=view.descending)
    except TypeError:  # mixed kinds in one column: compare them as text
        present.sort(key=lambda r: str(r.get(view.sort)), reverse=view.descending)
    return present + absent


def rows_page(view: View, rows: Sequence[Mapping[str, Any]]) -> Shown:
    offset = (view.page - 1) * view.per_page
    return Shown(view, ordered(view, rows)[offset : offset + view.per_page], len(rows))


def csv_text(columns: Sequence[Column], rows: Iterable[Mapping[str, Any]]) -> str:
    """The rows under the columns' names, each cell safe for a spreadsheet (`csv_cell`)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([c.key for c in columns])
    for row in rows:
        writer.writerow([csv_cell(_cell(row.get(c.key))) for c in columns])
    return out.getvalue()


def _cell(value: Any) -> Any:
    if isinstance(value, dict):
        return "; ".join(f"{v} {k}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return "; ".join(str(v) for v in value)
    return "" if value is None else value


def csv_response(text: str, name: str) -> Response:
    return Response(
        text, mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}.csv"'}
    )


def url_with(**changes: Any) -> str:
    """Jinja global: this page's address with some arguments changed (None removes one)."""
    args = {k: v for k, v in request.args.items() if k != "id_token"}
    for name, value in changes.items():
        if value is None:
            args.pop(name, None)
        else:
            args[name] = str(value)
    return request.path + ("?" + urlencode(args) if args else "")
