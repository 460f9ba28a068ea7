"""Zoho's Query API (COQL, `POST /crm/v8/coql {"select_query"}`) as the sandbox reads it: `select
F, G from Module where F in ('a', 'b') limit N offset M` or `where F = 'a'`, an `in` of at most 50
values and LIMIT at most 2,000 (200 unless given); what it holds now, never a search index.
Anything else is refused as Zoho refuses a query it cannot read (SYNTAX_ERROR)."""

from __future__ import annotations

import re
from typing import Any

from sandbox.zoho.org import ZohoOrg

MOST_IN = 50  # values in one `in` (COQL's limitations page)
MOST_LIMIT = 2000  # records in one call (v7 and later)
QUERY = re.compile(
    r"\s*select\s+(?P<fields>[\w\s,]+?)\s+from\s+(?P<module>\w+)\s+where\s+(?P<where>.+?)"
    r"(?:\s+limit\s+(?P<limit>\d+))?(?:\s+offset\s+(?P<offset>\d+))?\s*;?\s*",
    re.IGNORECASE | re.DOTALL,
)
CONDITION = re.compile(
    r"\(?\s*(?P<field>\w+)\s*(?:(?P<eq>=)\s*(?P<one>'.*')|in\s*\((?P<many>.*)\))\s*\)?", re.I | re.S
)
TEXT = re.compile(r"\s*'((?:\\.|[^'\\])*)'\s*(?:,|$)")


class Unreadable(ValueError):
    """A query the sandbox does not read; its words say why."""


def run(org: ZohoOrg, query: str) -> tuple[list[dict[str, Any]], bool]:
    """The rows a query selects, and whether more match past its limit and offset."""
    found = QUERY.fullmatch(query)
    if found is None:
        raise Unreadable("select <fields> from <module> where <condition> [limit N] [offset M]")
    module = org.module(found["module"])
    if module is None:
        raise Unreadable(f"invalid module {found['module']}")
    names = [n.strip() for n in found["fields"].split(",")]
    field, values = _condition(found["where"])
    for name in (*names, field):
        if name != "id" and name not in module.fields:
            raise Unreadable(f"invalid column {name}")
    limit, offset = int(found["limit"] or 200), int(found["offset"] or 0)
    if not 1 <= limit <= MOST_LIMIT:
        raise Unreadable(f"limit is 1 to {MOST_LIMIT}")
    with org.lock:
        held = list(org.records[module.api_name].values())
        matched = [r for r in held if str(r.id if field == "id" else r.values.get(field, "")) in values]
        page = matched[offset : offset + limit]
        rows = [{n: (r.id if n == "id" else r.values.get(n)) for n in names} for r in page]
    return rows, offset + limit < len(matched)


def _condition(where: str) -> tuple[str, set[str]]:
    """The one field a condition names, and the values it matches."""
    found = CONDITION.fullmatch(where.strip())
    if found is None:
        raise Unreadable("the sandbox reads one condition: <field> = '<text>' or <field> in ('<text>', …)")
    listed = found["one"] if found["eq"] else found["many"]
    values, at = [], 0
    while at < len(listed):
        text = TEXT.match(listed, at)
        if text is None:
            raise Unreadable("values are quoted text, separated by commas")
        values.append(re.sub(r"\\(.)", r"\1", text.group(1)))
        at = text.end()
    if not values or (found["eq"] and len(values) != 1) or len(values) > MOST_IN:
        raise Unreadable(f"an in takes 1 to {MOST_IN} values")
    return found["field"], set(values)
