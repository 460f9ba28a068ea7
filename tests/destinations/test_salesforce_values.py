"""A record's Salesforce values are, field by field, what `as_value` makes of each connector value
for that field's type (the mapper reads a field's type once per mapping and passes a text on as it
is; neither may change an answer), and the Bulk CSV writes each as `csv_value` does."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

import pytest

from destinations.salesforce.bulk import _csv
from destinations.salesforce.mapper import (
    CUSTOM,
    DEFAULT_MAPPING,
    NOT_PROVIDED,
    ORDER_STATUS,
    SOBJECT,
    STANDARD_NUMBERS,
    as_value,
    values,
)
from destinations.salesforce.texts import csv_value


class Channel(StrEnum):
    WEB = "web"


class Marked(str):
    """A text of a subclass, as a library may hand one over."""


SAMPLES: list[Any] = [
    None, "", " ", "0", "false", "true", "x" * 300, Marked("m"), Channel.WEB, 0, 7, 2.5, True, False,
    Decimal("12.50"), Decimal("1E+2"), datetime(2026, 5, 2, 10, 30, tzinfo=UTC), ["a", "b"], [],
]  # fmt: skip


def as_each_field(obj: str, fields: dict[str, Any], mapping: dict[str, str]) -> dict[str, Any]:
    """The answer by definition: `as_value` of each field for its type, looked up per field."""
    types = CUSTOM[SOBJECT[obj]] | STANDARD_NUMBERS
    out = {
        crm: as_value(fields.get(ours), str(types.get(crm, {}).get("type", "")), crm)
        for crm, ours in mapping.items()
    }
    if obj == "contacts" and not out.get("LastName"):
        out["LastName"] = NOT_PROVIDED
    if obj == "orders":
        out["Status"] = ORDER_STATUS
    return out


def outcome(make: Any, *args: Any) -> Any:
    try:
        return make(*args)
    except Exception as refused:  # a Number field given a text that is no number: the same refusal
        return type(refused)


@pytest.mark.parametrize("obj", ["contacts", "orders"])
@pytest.mark.parametrize("value", SAMPLES, ids=repr)
def test_each_mapped_field_gets_what_as_value_makes_of_its_value(obj: str, value: Any) -> None:
    mapping = DEFAULT_MAPPING[obj]
    fields = dict.fromkeys(mapping.values(), value)  # every connector field holding this value
    assert outcome(values, obj, fields, mapping) == outcome(as_each_field, obj, fields, mapping)


def test_the_bulk_csv_writes_each_cell_as_csv_value_does_and_leaves_a_missing_column_blank() -> None:
    rows: list[dict[str, Any]] = [{"A": v, "B": "kept"} for v in SAMPLES if not isinstance(v, list)] + [
        {"B": "b"}
    ]
    lines = list(csv.reader(io.StringIO(_csv(["A", "B"], rows), newline="")))
    assert lines[0] == ["A", "B"]
    assert [line[0] for line in lines[1:-1]] == [str(csv_value(r["A"])) for r in rows[:-1]]
    assert lines[-1] == ["", "b"]  # a column the row lacks: left as Salesforce holds it
