"""Shopify's search syntax, form by form (sandbox/shopify/search.py): given a query string and
a record's field values, when it is parsed and tested, then it matches as Shopify documents
(https://shopify.dev/docs/api/usage/search-syntax)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from graphql import GraphQLError

from sandbox.shopify import search

FIELDS = frozenset({"email", "state", "tag", "id", "updated_at", "created_at", "orders_count", "total_spent"})
AT = datetime(2026, 12, 1, 10, 18, 5, tzinfo=UTC)


def record(**values: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "email": "ada@example.com",
        "state": "enabled",
        "tag": ["vip", "newsletter"],
        "id": 207119551,
        "updated_at": AT,
        "created_at": AT - timedelta(days=30),
        "orders_count": 3,
        "total_spent": 120,
        "": ["Ada", "Lovelace", "ada@example.com"],
    }
    return {**base, **values}


def hits(query: str, **values: Any) -> bool:
    found = search.parse(query, FIELDS)
    return found.matches(record(**values).__getitem__)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("email:ada@example.com", True),
        ("email:ADA@EXAMPLE.COM", True),  # text compares without case
        ("email:bob@example.com", False),
        ("email:ada*", True),  # a prefix
        ("email:'ada@example.com'", True),
        ('email:"ada@example.com"', True),
        ("state:enabled", True),
        ("tag:vip", True),  # any of a list
        ("tag:wholesale", False),
        ("email:*", True),  # has a value
        ("email:'ada@example.com", True),  # an unclosed quote runs to the end
    ],
)
def test_a_field_term_compares_its_value(query: str, expected: bool) -> None:
    assert hits(query) is expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("id:207119551", True),
        ("id:>207119550", True),
        ("id:>207119551", False),
        ("id:>=207119551", True),
        ("id:<207119551", False),
        ("id:<=207119551", True),
        ("id:>gid://shopify/Customer/207119550", True),
        ("orders_count:>2", True),
        ("total_spent:<100", False),
    ],
)
def test_comparators_order_numbers(query: str, expected: bool) -> None:
    assert hits(query) is expected


@pytest.mark.parametrize(
    "query",
    [
        "updated_at:>='2026-12-01 10:18:05+00:00'",  # str(datetime), as tap-shopify sends it
        "updated_at:>='2026-12-01T10:18:05Z'",
        "updated_at:>=2026-12-01T10:18:05Z",
        'updated_at:>="2026-12-01T05:18:05-05:00"',  # an offset
        "updated_at:>= '2026-12-01 10:18:05+00:00'",  # a space after the comparator
        "updated_at:>'2026-12-01 10:18:04+00:00'",
        "updated_at:<'2026-12-01 10:18:06+00:00'",
        "updated_at:<='2026-12-01 10:18:05'",  # no zone: UTC
        "updated_at:'2026-12-01T10:18:05Z'",
        "updated_at:>'2026-11-30'",  # a date alone: after that whole day
        "updated_at:'2026-12-01'",  # …or within it
    ],
)
def test_both_date_forms_keep_the_time_of_day(query: str) -> None:
    assert hits(query)


@pytest.mark.parametrize(
    "query",
    [
        "updated_at:>'2026-12-01 10:18:05+00:00'",  # strictly after
        "updated_at:<'2026-12-01T10:18:05Z'",
        "updated_at:>'2026-12-01 00:00:00+00:00' AND updated_at:<'2026-12-01 10:00:00+00:00'",
        "updated_at:>'2026-12-01'",  # after the day in which it was updated
        "updated_at:<'2026-12-01'",
    ],
)
def test_a_record_updated_after_midnight_is_outside_earlier_windows(query: str) -> None:
    assert not hits(query)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("state:enabled email:ada@example.com", True),  # AND implied
        ("state:enabled AND email:bob@example.com", False),
        ("state:disabled OR email:ada@example.com", True),
        ("NOT state:disabled", True),
        ("-state:enabled", False),
        ("NOT (state:disabled OR tag:vip)", False),
        ("(state:disabled OR tag:vip) AND id:>1", True),
        ("state:disabled OR (tag:vip AND -email:bob*)", True),
        ("ada", True),  # free text
        ("grace", False),
        ("", True),
        ("   ", True),
    ],
)
def test_connectives_negation_and_parentheses(query: str, expected: bool) -> None:
    assert hits(query) is expected


def test_an_unknown_field_is_ignored_with_a_warning() -> None:
    found = search.parse("colour:blue AND state:enabled", FIELDS)
    assert found.warnings == [{"field": "colour", "message": "Invalid search field for this query."}]
    assert found.matches(record(state="enabled").__getitem__)
    assert not found.matches(record(state="disabled").__getitem__)
    assert search.parse("colour:blue", FIELDS).root is None  # nothing left: everything matches


@pytest.mark.parametrize("query", ["(state:enabled", "state:enabled)", "updated_at:>'yesterday-ish'"])
def test_a_malformed_query_is_refused_in_words(query: str) -> None:
    with pytest.raises(GraphQLError, match="Invalid search"):
        search.parse(query, FIELDS).matches(record().__getitem__)


def test_time_bounds_come_from_the_top_level_conjunction_only() -> None:
    given = search.parse(
        "updated_at:>='2026-12-01 10:18:05+00:00' AND updated_at:<'2026-12-02 00:00:00+00:00'"
    )
    after, before = search.time_bounds(given, "updated_at")
    assert after == AT - timedelta(microseconds=1)
    assert before == datetime(2026, 12, 2, tzinfo=UTC)
    either = search.parse("updated_at:>'2026-12-01' OR state:enabled")
    assert search.time_bounds(either, "updated_at") == (None, None)
