"""Salesforce's text formats: a SOQL string literal, a value in a Bulk API 2.0 CSV (#N/A clears a
field; numbers without an exponent), the result rows Bulk API 2.0 answers, and per-record errors
in plain words."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any


def reason(errors: list[dict[str, Any]]) -> str:
    """Salesforce's per-record errors in plain words: 'Required fields are missing: [LastName]'."""
    return "; ".join(str(e.get("message", e.get("statusCode", "refused"))) for e in errors) or "refused"


def bulk_reason(text: str) -> str:
    code, _, rest = text.partition(":")
    message, _, _fields = rest.rpartition(":")
    return message or code


def csv_value(value: Any) -> Any:
    if value is None:
        return "#N/A"  # Bulk API 2.0: clear the field
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float | Decimal):
        return _plain_number(value)
    return value


def _plain_number(value: float | Decimal) -> str:
    """A number without an exponent (1e-05 → 0.00001), as a Salesforce number field reads it."""
    if not (value.is_finite() if isinstance(value, Decimal) else math.isfinite(value)):
        return "#N/A"  # no number Salesforce can hold: the field cleared, not the record refused
    text = repr(value) if isinstance(value, float) else str(value)
    if "e" not in text.lower():
        return text
    return format(Decimal(text), "f")


def soql_text(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
