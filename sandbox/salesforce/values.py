"""Field values in and out: a JSON (or CSV) value checked and converted for its field's type as
Salesforce checks it, with Salesforce's error codes; times written as the REST API writes them
(`2026-01-31T12:00:00.000+0000`)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

from sandbox.salesforce.schema import Field

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class SalesforceError(Exception):
    """One entry of Salesforce's error array, with the HTTP status it comes with."""

    def __init__(self, code: str, message: str, fields: list[str] | None = None, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.fields, self.status = code, message, fields or [], status

    def body(self) -> dict[str, Any]:
        return {"message": self.message, "errorCode": self.code, "fields": self.fields}


def sf_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"


def parse_time(text: str) -> datetime | None:
    """ISO 8601 as Salesforce takes it (`Z`, `+0000` or `+00:00`; a date alone is midnight UTC)."""
    candidate = text.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", candidate):
        candidate += "T00:00:00Z"
    candidate = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", candidate.replace("Z", "+00:00"))
    try:
        parsed = datetime.fromisoformat(candidate)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _not_deserializable(f: Field, value: Any) -> SalesforceError:
    kind = {"boolean": "boolean", "double": "double", "currency": "double", "percent": "double"}
    return SalesforceError(
        "JSON_PARSER_ERROR",
        f"Cannot deserialize instance of {kind.get(f.type, f.type)} from VALUE_STRING value {value} "
        "or request may be missing a required field",
    )


def checked(f: Field, value: Any, *, from_csv: bool = False) -> Any:
    """The value to store for `f`, or SalesforceError. None clears the field."""
    if value is None:
        if f.required:
            raise SalesforceError(
                "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{f.name}]", [f.name]
            )
        return False if f.type == "boolean" else None
    if f.type == "boolean":
        if from_csv and isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
            return value.lower() in ("true", "1")
        if not isinstance(value, bool):
            raise _not_deserializable(f, value)
        return value
    if f.type in ("double", "currency", "percent"):
        if from_csv and isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                raise _not_deserializable(f, value) from None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _not_deserializable(f, value)
        return value
    if f.type in ("date", "datetime"):
        return _checked_time(f, value)
    if not isinstance(value, str):
        value = str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value
        if not isinstance(value, str):
            raise _not_deserializable(f, value)
    return _checked_text(f, value)


def _checked_time(f: Field, value: Any) -> str:
    parsed = parse_time(value) if isinstance(value, str) else None
    if parsed is None:
        raise SalesforceError(
            "JSON_PARSER_ERROR", f"Cannot deserialize instance of {f.type} from VALUE_STRING value {value}"
        )
    return parsed.date().isoformat() if f.type == "date" else sf_time(parsed)


def _checked_text(f: Field, value: str) -> str:
    if f.length and len(value) > f.length and f.type != "reference":
        raise SalesforceError(
            "STRING_TOO_LONG",
            f"{f.label or f.name}: data value too large: {value[:40]} (max length={f.length})",
            [f.name],
        )
    if f.type == "email" and value and not EMAIL.match(value):
        raise SalesforceError("INVALID_EMAIL_ADDRESS", f"{f.name}: invalid email address: {value}", [f.name])
    if f.type == "picklist" and f.picklist and f.required and value not in f.picklist:
        raise SalesforceError(
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            f"{f.label or f.name}: bad value for restricted picklist field: {value}",
            [f.name],
        )
    return value


def today() -> str:
    return date.today().isoformat()
