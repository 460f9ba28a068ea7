"""Magento's searchCriteria, parsed from the query string and applied to records.

`searchCriteria[filter_groups][i][filters][j][field|value|condition_type]`: filters in a
group OR, groups AND; `sortOrders[k][field|direction]`; `pageSize` and 1-based `currentPage`,
where a page past the end answers the last page again. A plain request (time-window filters,
one sort by id or a time) pages the store's sorted view at any size; others walk the records.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from werkzeug.datastructures import MultiDict

from sandbox.magento.values import parse_time
from sandbox.state import Record, SandboxStore

CONDITIONS = (
    "eq", "neq", "gt", "gteq", "lt", "lteq", "like", "nlike", "in", "nin",
    "null", "notnull", "from", "to", "finset",
)  # fmt: skip
KEY = re.compile(r"^searchCriteria((?:\[[^\]]*\])*)$")
SEGMENT = re.compile(r"\[([^\]]*)\]")
VIEW_SORT = {"entity_id": "id", "id": "id", "created_at": "created", "updated_at": "updated"}
SECOND = timedelta(seconds=1)


class CriteriaError(Exception):
    """Bad searchCriteria: answered 400 with Magento's message and parameters."""

    def __init__(self, message: str, parameters: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message, self.parameters = message, parameters or {}

    def body(self) -> dict[str, Any]:
        return {"message": self.message, "parameters": self.parameters}


@dataclass(frozen=True)
class Filter:
    field: str
    value: str
    condition: str


@dataclass
class Criteria:
    groups: list[list[Filter]] = field(default_factory=list)
    sorts: list[tuple[str, bool]] = field(default_factory=list)  # (field, descending)
    page_size: int | None = None
    current_page: int = 1
    echo: dict[str, Any] = field(default_factory=dict)
    past_end_empty: bool = False  # 2.4.x answers an empty page past the end; 2.3.x the last page

    def fields(self) -> set[str]:
        return {f.field for group in self.groups for f in group} | {name for name, _ in self.sorts}


DEFAULT_PAGE_SIZE, MAXIMUM_PAGE_SIZE = 20, 300  # Web API input limits, when a store enables them


def parse(args: MultiDict[str, str], *, input_limit: bool = False, past_end: str = "last") -> Criteria:
    tree: dict[str, Any] = {}
    seen = False
    for key, value in args.items(multi=True):
        match = KEY.match(key)
        if not match:
            continue
        seen = True
        path = SEGMENT.findall(match.group(1))
        if path:
            _put(tree, path, value)
    if not seen:
        raise CriteriaError('"%fieldName" is required. Enter and try again.', {"fieldName": "searchCriteria"})
    criteria = _criteria(tree)
    criteria.past_end_empty = past_end == "empty"
    if input_limit:  # off by default (developer.adobe.com/commerce/webapi/get-started/api-security/)
        if criteria.page_size is not None and criteria.page_size > MAXIMUM_PAGE_SIZE:
            raise CriteriaError(f"Maximum SearchCriteria pageSize is {MAXIMUM_PAGE_SIZE}")
        criteria.page_size = criteria.page_size or DEFAULT_PAGE_SIZE
    return criteria


def _put(tree: dict[str, Any], path: list[str], value: str) -> None:
    node = tree
    for name in path[:-1]:
        child = node.setdefault(name, {})
        if not isinstance(child, dict):
            raise CriteriaError("searchCriteria has a value where a list was expected.")
        node = child
    node[path[-1]] = value


def _criteria(tree: dict[str, Any]) -> Criteria:
    out = Criteria()
    for g_key in _ordered(tree.get("filter_groups", tree.get("filterGroups", {}))):
        group = tree.get("filter_groups", tree.get("filterGroups", {}))[g_key]
        filters = group.get("filters", {}) if isinstance(group, dict) else {}
        parsed = [_filter(filters[f_key]) for f_key in _ordered(filters)]
        if parsed:
            out.groups.append(parsed)
    sorts = tree.get("sortOrders", tree.get("sort_orders", {}))
    for s_key in _ordered(sorts):
        entry = sorts[s_key] if isinstance(sorts[s_key], dict) else {}
        name = str(entry.get("field", "")).strip()
        direction = str(entry.get("direction", "ASC")).upper()
        if not name:
            raise CriteriaError('"%fieldName" is required. Enter and try again.', {"fieldName": "field"})
        if direction not in ("ASC", "DESC"):
            raise CriteriaError(
                "Sort order direction %1 is invalid. Use ASC or DESC.", {"1": entry.get("direction", "")}
            )
        out.sorts.append((name, direction == "DESC"))
    size = _integer(tree.get("pageSize", tree.get("page_size")))
    page = _integer(tree.get("currentPage", tree.get("current_page")))
    if size is not None and size < 0:
        raise CriteriaError(
            'Invalid value of "%value" provided for the %fieldName field.',
            {"value": str(size), "fieldName": "pageSize"},
        )
    out.page_size = size if size else None  # 0 or absent: no limit
    out.current_page = max(page or 1, 1)
    out.echo = _echo(out, size, page)
    return out


def _ordered(node: Any) -> list[str]:
    if not isinstance(node, dict):
        raise CriteriaError("searchCriteria has a value where a list was expected.")
    return sorted(node, key=lambda k: (0, int(k)) if k.isdigit() else (1, 0))


def _filter(node: Any) -> Filter:
    if not isinstance(node, dict) or not str(node.get("field", "")).strip():
        raise CriteriaError('"%fieldName" is required. Enter and try again.', {"fieldName": "field"})
    condition = str(node.get("condition_type", node.get("conditionType", "eq"))).strip().lower() or "eq"
    if condition not in CONDITIONS:
        raise CriteriaError('Invalid condition type "%1" provided.', {"1": condition})
    return Filter(str(node["field"]).strip(), str(node.get("value", "")), condition)


def _integer(value: Any) -> int | None:
    if value is None:
        return None
    if not isinstance(value, str) or not re.fullmatch(r"-?\d{1,9}", value.strip()):
        raise CriteriaError(
            'The "%value" value\'s type is invalid. The "%type" type was expected. Verify and try again.',
            {"value": str(value), "type": "int"},
        )
    return int(value)


def _echo(c: Criteria, size: int | None, page: int | None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "filter_groups": [
            {"filters": [{"field": f.field, "value": f.value, "condition_type": f.condition} for f in g]}
            for g in c.groups
        ]
    }
    if c.sorts:
        out["sort_orders"] = [{"field": n, "direction": "DESC" if d else "ASC"} for n, d in c.sorts]
    if size is not None:
        out["page_size"] = size
    if page is not None:
        out["current_page"] = page
    return out


# --- applying ---------------------------------------------------------------------------------


def page_bounds(c: Criteria, total: int) -> tuple[int, int]:
    """[start, stop) of the page asked for; past the end, the last page again (Magento 2.3 and
    before) or nothing (2.4, magento/magento2#26986)."""
    if c.page_size is None:
        return 0, total
    pages = max(math.ceil(total / c.page_size), 1)
    page = c.current_page if c.past_end_empty else min(c.current_page, pages)
    return (page - 1) * c.page_size, page * c.page_size


def apply(items: Iterable[dict[str, Any]], c: Criteria, id_field: str) -> tuple[int, list[dict[str, Any]]]:
    """Filter, sort and page rendered records (the general path)."""
    chosen = [item for item in items if all(any(matches(item, f) for f in g) for g in c.groups)]
    chosen.sort(key=lambda item: item[id_field])
    for name, descending in reversed(c.sorts):
        chosen.sort(key=lambda item, n=name: _sort_key(field_of(item, n)), reverse=descending)  # type: ignore[misc]
    start, stop = page_bounds(c, len(chosen))
    return len(chosen), chosen[start:stop]


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, 0)
    if isinstance(value, bool | int | float):
        return (1, float(value))
    return (2, str(value).lower())


def field_of(item: dict[str, Any], name: str) -> Any:
    """A record's field; `entity_id` also names a customer's or product's `id` (its column)."""
    if name == "entity_id" and "entity_id" not in item:
        return item.get("id")
    return item.get(name)


def matches(item: dict[str, Any], f: Filter) -> bool:
    value = field_of(item, f.field)
    if f.condition == "null":
        return value is None
    if f.condition == "notnull":
        return value is not None
    if f.condition in ("in", "nin"):
        wanted = [v.strip() for v in f.value.split(",")]
        found = value is not None and any(_compare(value, w) == 0 for w in wanted)
        return found if f.condition == "in" else not found
    if value is None:
        return f.condition in ("neq", "nlike")
    if f.condition in ("like", "nlike"):
        pattern = "^" + re.escape(f.value.lower()).replace("%", ".*").replace("_", ".") + "$"
        found = re.match(pattern, str(value).lower(), re.S) is not None
        return found if f.condition == "like" else not found
    if f.condition == "finset":
        return f.value.strip().lower() in [v.strip().lower() for v in str(value).split(",")]
    order = _compare(value, f.value)
    if order is None:
        return False
    return {
        "eq": order == 0, "neq": order != 0, "gt": order > 0, "gteq": order >= 0,
        "from": order >= 0, "lt": order < 0, "lteq": order <= 0, "to": order <= 0,
    }[f.condition]  # fmt: skip


def _compare(value: Any, text: str) -> int | None:
    """value <=> text as MySQL would: numbers as numbers, datetimes as datetimes, text
    case-insensitively; a value that cannot be read as the column's type is the zero value."""
    if isinstance(value, bool):
        value = int(value)
    if isinstance(value, int | float):
        try:
            other = float(text)
        except ValueError:
            other = 0.0
        return (value > other) - (value < other)
    mine = parse_time(str(value)) if _looks_like_time(str(value)) else None
    if mine is not None:
        theirs = parse_time(text)
        if theirs is None:
            return 1  # against the zero date every time is later
        return (mine > theirs) - (mine < theirs)
    a, b = str(value).lower(), text.lower()
    return (a > b) - (a < b)


def _looks_like_time(text: str) -> bool:
    return re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", text) is not None


# --- the fast path --------------------------------------------------------------------------


@dataclass
class Window:
    updated_after: datetime | None = None  # strictly after
    updated_before: datetime | None = None  # strictly before
    created_after: datetime | None = None


def window(c: Criteria) -> Window | None:
    """The time window a plain request asks for, or None if it needs the general path."""
    if len(c.sorts) > 1 or any(name not in VIEW_SORT for name, _ in c.sorts):
        return None
    w = Window()
    for group in c.groups:
        if len(group) != 1:
            return None
        f = group[0]
        at = parse_time(f.value)
        lower = f.condition in ("gt", "gteq", "from")
        if f.field not in ("updated_at", "created_at") or at is None:
            return None
        if f.condition not in ("gt", "gteq", "from", "lt", "lteq", "to"):
            return None
        if f.field == "created_at" and not lower:
            return None
        if f.condition in ("gteq", "from"):
            at -= SECOND  # stamps are whole seconds: >= t is > t - 1s
        if f.condition in ("lteq", "to"):
            at += SECOND
        if f.field == "created_at":
            w.created_after = max(w.created_after or at, at)
        elif lower:
            w.updated_after = max(w.updated_after or at, at)
        else:
            w.updated_before = min(w.updated_before or at, at)
    return w


def select(
    store: SandboxStore, entity: str, c: Criteria, render: Callable[[Record], dict[str, Any]], id_field: str
) -> tuple[int, list[dict[str, Any]]]:
    """(total_count, this page's rendered records) for a search over one entity."""
    w = window(c)
    if w is None:
        with store.lock:
            indices = [i for i in range(store.overlays[entity].size) if store.exists(entity, i)]
        return apply((render(store.get(entity, i)) for i in indices), c, id_field)
    name, descending = c.sorts[0] if c.sorts else ("entity_id", False)
    view = store.view(
        entity,
        VIEW_SORT[name],
        updated_after=w.updated_after,
        created_after=w.created_after,
        updated_before=w.updated_before,
    )
    total = len(view)
    start, stop = page_bounds(c, total)
    return total, [render(r) for r in store.records(entity, view.keys(start, stop, descending))]
