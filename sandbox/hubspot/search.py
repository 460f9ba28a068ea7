"""HubSpot's CRM search in the sandbox (`POST /crm/v3/objects/<obj>/search`): filter groups
(OR of groups, AND within one) on properties with EQ/NEQ/GT/GTE/LT/LTE/IN/NOT_IN/HAS_PROPERTY/
NOT_HAS_PROPERTY/BETWEEN, sorts (`{"propertyName", "direction"}`, or a name, `-name`
descending), `after` paging of at most 200 a page with the `total`, no page past
the 10,000th result (a 400, as HubSpot answers), and its own per-second limit (a 429).
Dates compare as instants (epoch milliseconds or ISO 8601), numbers as numbers, the rest as text.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import Response, request

from sandbox.hubspot.common import as_json, error, portal
from sandbox.hubspot.portal import HubRecord

PAGE_MAX = 200
RESULT_CAP = 10_000
GROUPS_MAX, FILTERS_PER_GROUP, FILTERS_MAX = 5, 10, 25
DATES = {"createdate", "lastmodifieddate", "hs_lastmodifieddate"}
DEFAULT = {"contacts": ["createdate", "email", "firstname", "lastname", "lastmodifieddate"]}
Key = tuple[int, float | str]


class Refused(ValueError):
    """A search HubSpot would refuse with a 400, in its words."""


def search(obj: str) -> Response:
    p = portal()
    if obj not in p.records:
        return error(400, f"Unable to infer object type from: {obj}", "VALIDATION_ERROR")
    with p.lock:
        admitted = p.admit_search()
    if not admitted:
        return error(
            429,
            "You have reached your secondly limit.",
            "RATE_LIMITS",
            errorType="RATE_LIMIT",
            policyName="SECONDLY",
        )
    body = request.get_json(silent=True)
    try:
        return as_json(_answer(obj, body if isinstance(body, dict) else {}))
    except Refused as bad:
        return error(400, str(bad), "VALIDATION_ERROR")


def _answer(obj: str, body: dict[str, Any]) -> dict[str, Any]:
    limit, offset = _paging(body)
    match = _matcher(body.get("filterGroups") or [])
    wanted = [str(w) for w in body.get("properties") or []] or DEFAULT.get(obj, [])
    p = portal()
    with p.lock:
        hits = [r for r in p.records[obj].values() if match(r)]
        hits.sort(key=_sort_key(body.get("sorts") or []))
        page = [r.as_json(wanted) for r in hits[offset : offset + limit]]
    out: dict[str, Any] = {"total": len(hits), "results": page}
    if offset + limit < len(hits):
        after = str(offset + limit)
        out["paging"] = {"next": {"after": after, "link": f"?after={after}"}}
    return out


def _paging(body: dict[str, Any]) -> tuple[int, int]:
    try:
        limit = int(body.get("limit") or 10)
        offset = int(body.get("after") or 0)
    except (TypeError, ValueError):
        raise Refused("limit and after must be numbers") from None
    if not 0 < limit <= PAGE_MAX:
        raise Refused(f"limit must be between 1 and {PAGE_MAX}")
    if offset < 0 or offset + limit > RESULT_CAP:
        raise Refused(f"a search returns at most {RESULT_CAP:,} results; narrow it with a filter")
    return limit, offset


def _matcher(groups: Any) -> Callable[[HubRecord], bool]:
    if not isinstance(groups, list) or len(groups) > GROUPS_MAX:
        raise Refused(f"at most {GROUPS_MAX} filterGroups")
    tests: list[list[Callable[[HubRecord], bool]]] = []
    for group in groups:
        filters = group.get("filters") if isinstance(group, dict) else None
        if not isinstance(filters, list) or not filters or len(filters) > FILTERS_PER_GROUP:
            raise Refused(f"each filterGroup takes 1 to {FILTERS_PER_GROUP} filters")
        tests.append([_filter(f) for f in filters])
    if sum(len(t) for t in tests) > FILTERS_MAX:
        raise Refused(f"at most {FILTERS_MAX} filters in all")
    if not tests:
        return lambda record: True
    return lambda record: any(all(t(record) for t in group) for group in tests)


def _filter(given: Any) -> Callable[[HubRecord], bool]:
    if not isinstance(given, dict) or not given.get("propertyName") or not given.get("operator"):
        raise Refused("a filter needs propertyName and operator")
    name, op = str(given["propertyName"]), str(given["operator"])
    if op == "HAS_PROPERTY":
        return lambda r: bool(r.value(name))
    if op == "NOT_HAS_PROPERTY":
        return lambda r: not r.value(name)
    if op in ("IN", "NOT_IN"):
        values = given.get("values")
        if not isinstance(values, list) or not values:
            raise Refused(f"{op} needs values")
        keys = {_key(name, str(v)) for v in values}
        inside = op == "IN"

        def among(record: HubRecord) -> bool:
            have = record.value(name)
            return (have is not None and _key(name, have) in keys) == inside

        return among
    if op == "BETWEEN":
        return _between(name, given)
    compare = _COMPARE.get(op)
    if compare is None or given.get("value") is None:
        raise Refused(f"operator {op} with a value is not one HubSpot's search takes here")
    want = _key(name, str(given["value"]))

    def test(record: HubRecord) -> bool:
        have = record.value(name)
        if op == "NEQ":
            return have is None or _key(name, have) != want
        return have is not None and have != "" and _ordered(_key(name, have), want, compare)

    return test


def _between(name: str, given: dict[str, Any]) -> Callable[[HubRecord], bool]:
    if given.get("value") is None or given.get("highValue") is None:
        raise Refused("BETWEEN needs value and highValue")
    low, high = _key(name, str(given["value"])), _key(name, str(given["highValue"]))

    def test(record: HubRecord) -> bool:
        have = record.value(name)
        if not have:
            return False
        key = _key(name, have)
        return _ordered(key, low, lambda c: c >= 0) and _ordered(key, high, lambda c: c <= 0)

    return test


_COMPARE: dict[str, Callable[[int], bool]] = {
    "EQ": lambda c: c == 0,
    "NEQ": lambda c: c != 0,
    "GT": lambda c: c > 0,
    "GTE": lambda c: c >= 0,
    "LT": lambda c: c < 0,
    "LTE": lambda c: c <= 0,
}


def _ordered(have: Key, want: Key, compare: Callable[[int], bool]) -> bool:
    if have[0] == want[0] == 0:
        a, b = float(have[1]), float(want[1])
        return compare((a > b) - (a < b))
    x, y = str(have[1]), str(want[1])  # text, or a number against text: compared as text
    return compare((x > y) - (x < y))


def _key(name: str, value: str) -> Key:
    """A value as the search compares it: an instant (ms), a number, or text (case aside)."""
    if name in DATES:
        moment = _millis(value)
        if moment is not None:
            return (0, moment)
    try:
        return (0, float(value))
    except ValueError:
        return (1, value.lower())


def _millis(value: str) -> float | None:
    if value.isdigit():
        return float(value)
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000
    except ValueError:
        return None


def _sort_key(sorts: Any) -> Callable[[HubRecord], Any]:
    """HubSpot's sorts, then the record id (so pages are stable)."""
    if not isinstance(sorts, list):
        raise Refused("sorts must be a list")
    named = [s for s in sorts if isinstance(s, str) or (isinstance(s, dict) and s.get("propertyName"))]
    order = [_sort_of(s) for s in named]

    def key(record: HubRecord) -> Any:
        parts: list[Any] = []
        for name, descending in order:
            value = record.value(name)
            kind, item = _key(name, value) if value else (2, "")
            parts.append(_Desc((kind, item)) if descending else (kind, item))
        return (*parts, int(record.id))

    return key


def _sort_of(given: dict[str, Any] | str) -> tuple[str, bool]:
    """(property, descending) of one sort."""
    if isinstance(given, str):
        return given.removeprefix("-"), given.startswith("-")
    return str(given["propertyName"]), str(given.get("direction") or "ASCENDING").upper() == "DESCENDING"


class _Desc:
    """A sort key taken in reverse."""

    def __init__(self, key: Any) -> None:
        self.key = key

    def __lt__(self, other: _Desc) -> bool:
        return bool(other.key < self.key)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Desc) and self.key == other.key

    def __hash__(self) -> int:
        return hash(self.key)
