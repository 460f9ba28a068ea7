"""Salesforce's text formats: a SOQL string literal, a value in a Bulk API 2.0 CSV (#N/A clears a
field), the result rows Bulk API 2.0 answers, and per-record errors in plain words."""

from __future__ import annotations

import csv
import io
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
    return value


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def soql_text(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
