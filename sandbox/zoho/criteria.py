"""Zoho's search `criteria` as the sandbox reads it: one `(Field:equals:value)`, or up to ten
of them joined by `and` or by `or` inside one more pair of parentheses (`((A:equals:1)or(A:equals:2))`);
a value's `\\(`, `\\)` and `\\,` are its own characters. Anything else is refused as Zoho
refuses a query it cannot read (INVALID_QUERY)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

MOST = 10  # criteria in one search (Zoho's search page)
ONE = re.compile(r"\((?P<field>[A-Za-z0-9_$.]+):(?P<op>[a-z_]+):(?P<value>(?:\\.|[^()\\])*)\)")
JOINED = re.compile(r"\)(and|or)\(")


class Unreadable(ValueError):
    """A criteria the sandbox does not read; its words say why."""


def matcher(criteria: str, fields: set[str]) -> Callable[[dict[str, Any]], bool]:
    """A test of a record's values against `criteria` (text equality, case-insensitive)."""
    whole = ONE.fullmatch(criteria)
    if whole:
        tests, joint = [_test(whole, fields)], "and"
    else:
        inner = criteria[1:-1] if criteria.startswith("((") and criteria.endswith("))") else ""
        joints = set(JOINED.findall(inner))
        if len(joints) != 1:
            raise Unreadable("criteria are (Field:equals:value), or up to 10 of them joined by one of and/or")
        parts = [m for m in ONE.finditer(inner)]
        if "".join(m.group(0) for m in parts) != JOINED.sub(")(", inner) or len(parts) > MOST:
            raise Unreadable(f"criteria are at most {MOST} (Field:equals:value) joined by one of and/or")
        tests, joint = [_test(m, fields) for m in parts], joints.pop()
    combine = all if joint == "and" else any
    return lambda values: combine(test(values) for test in tests)


def quoted(value: str) -> str:
    """A value as it goes into criteria: its parentheses, commas and backslashes escaped."""
    return re.sub(r"([()\\,])", r"\\\1", value)


def _test(found: re.Match[str], fields: set[str]) -> Callable[[dict[str, Any]], bool]:
    field, op = found.group("field"), found.group("op")
    value = re.sub(r"\\(.)", r"\1", found.group("value")).lower()
    if op != "equals" or field not in fields:
        raise Unreadable("only equals, on a field the module has, is supported by the sandbox")
    return lambda values: str(values.get(field, "")).lower() == value
