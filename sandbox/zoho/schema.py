"""The modules a push touches and their fields as `settings/fields` describes them (api_name,
data_type, length, mandatory, read-only, unique, lookup); custom fields join through the
fields API (`POST settings/fields?module=…`). Checking a value for its field lives here too,
answering Zoho's per-record error (`INVALID_DATA` with `expected_data_type`, and so on)."""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
CUSTOM_TYPES = (  # what the fields API makes
    "text",
    "email",
    "phone",
    "textarea",
    "boolean",
    "integer",
    "double",
    "currency",
    "date",
    "datetime",
)
TYPES = (*CUSTOM_TYPES, "picklist", "lookup", "subform")  # and what standard fields also are


class RecordError(Exception):
    """One record's refusal: `{"code", "details", "message", "status": "error"}`."""

    def __init__(self, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.details = code, message, details or {}

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "details": self.details, "message": self.message, "status": "error"}


@dataclass
class ZField:
    api_name: str
    data_type: str
    label: str = ""
    length: int = 255
    mandatory: bool = False
    read_only: bool = False
    unique: bool = False
    custom: bool = False
    lookup: str | None = None  # the module a lookup points at
    id: str = ""

    def describe(self) -> dict[str, Any]:
        label = self.label or self.api_name.replace("_", " ")
        body: dict[str, Any] = {
            "api_name": self.api_name,
            "field_label": label,
            "display_label": label,
            "data_type": self.data_type,
            "json_type": _json_type(self.data_type),
            "length": self.length,
            "system_mandatory": self.mandatory,
            "read_only": self.read_only,
            "custom_field": self.custom,
            "unique": {"casesensitive": False} if self.unique else {},
            "id": self.id or str(5_725_767_000_000_000_000 + zlib.crc32(self.api_name.encode())),
        }
        if self.lookup:
            body["lookup"] = {"module": {"api_name": self.lookup}}
        return body


def _json_type(data_type: str) -> str:
    return {
        "boolean": "boolean",
        "integer": "integer",
        "double": "double",
        "currency": "double",
        "lookup": "jsonobject",
        "subform": "jsonarray",
    }.get(data_type, "string")


@dataclass
class Module:
    api_name: str
    singular: str
    fields: dict[str, ZField] = field(default_factory=dict)
    duplicate_check: tuple[str, ...] = ()  # the system-defined duplicate-check fields

    def add(self, *fields: ZField) -> Module:
        for f in fields:
            self.fields[f.api_name] = f
        return self


SYSTEM = ("id", "Created_Time", "Modified_Time", "Owner", "Created_By", "Modified_By")


def _system() -> tuple[ZField, ...]:
    return (
        ZField("id", "bigint", "Record Id", 19, read_only=True),
        ZField("Created_Time", "datetime", read_only=True),
        ZField("Modified_Time", "datetime", read_only=True),
        ZField("Owner", "ownerlookup", read_only=True),
        ZField("Created_By", "ownerlookup", read_only=True),
        ZField("Modified_By", "ownerlookup", read_only=True),
    )


def _address(prefix: str, zip_name: str = "Zip") -> tuple[ZField, ...]:
    return tuple(
        ZField(f"{prefix}_{part}", "text", length=n)
        for part, n in (("Street", 250), ("City", 100), ("State", 100), (zip_name, 30), ("Country", 100))
    )


def _module(api_name: str, singular: str, *fields: ZField, duplicate_check: tuple[str, ...] = ()) -> Module:
    """A standard module: the system fields, its own, and the Description every module has."""
    description = ZField("Description", "textarea", length=32000)
    return Module(api_name, singular, duplicate_check=duplicate_check).add(*_system(), *fields, description)


def standard_modules() -> dict[str, Module]:
    modules = [
        _module(
            "Contacts",
            "Contact",
            ZField("First_Name", "text", length=40),
            ZField("Last_Name", "text", length=80, mandatory=True),
            ZField("Full_Name", "text", read_only=True),
            ZField("Email", "email", length=100),
            ZField("Phone", "phone", length=30),
            ZField("Mobile", "phone", length=30),
            *_address("Mailing"),
            ZField("Email_Opt_Out", "boolean"),
            ZField("Date_of_Birth", "date"),
            ZField("Lead_Source", "picklist"),
            duplicate_check=("Email",),
        ),
        _module(
            "Products",
            "Product",
            ZField("Product_Name", "text", length=200, mandatory=True),
            ZField("Product_Code", "text", length=40),
            ZField("Unit_Price", "currency"),
            ZField("Product_Active", "boolean"),
            duplicate_check=("Product_Name",),
        ),
        _module(
            "Sales_Orders",
            "Sales Order",
            ZField("Subject", "text", length=250, mandatory=True),
            ZField("Contact_Name", "lookup", lookup="Contacts"),
            ZField("Status", "picklist"),
            ZField("Due_Date", "date"),
            ZField("Customer_No", "text", length=50),
            ZField("Ordered_Items", "subform", mandatory=True),
            ZField("Sub_Total", "currency", read_only=True),
            ZField("Grand_Total", "currency", read_only=True),
            *_address("Billing", "Code"),
            *_address("Shipping", "Code"),
        ),
    ]
    return {m.api_name: m for m in modules}


def zoho_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def parse_time(text: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return None
    return parsed if parsed.tzinfo else None  # Zoho wants the offset


def checked(f: ZField, value: Any, path: str) -> Any:
    """The value to keep for `f`; RecordError (Zoho's INVALID_DATA) when it does not fit."""
    details = {"api_name": f.api_name, "json_path": path}
    if value is None:
        if f.mandatory:
            raise RecordError("MANDATORY_NOT_FOUND", "required field not found", details)
        return None
    expected = {"expected_data_type": f.data_type}
    if f.data_type == "boolean":
        if not isinstance(value, bool):
            raise RecordError("INVALID_DATA", "invalid data", details | expected)
        return value
    if f.data_type in ("integer", "double", "currency"):
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or (f.data_type == "integer" and not isinstance(value, int))
        ):
            raise RecordError("INVALID_DATA", "invalid data", details | expected)
        return value
    if f.data_type == "datetime":
        if not isinstance(value, str) or parse_time(value) is None:
            raise RecordError("INVALID_DATA", "invalid data", details | expected)
        return zoho_time(parse_time(value))  # type: ignore[arg-type]
    if f.data_type == "date":
        if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise RecordError("INVALID_DATA", "invalid data", details | expected)
        return value
    if not isinstance(value, str):
        raise RecordError("INVALID_DATA", "invalid data", details | expected)
    if f.data_type == "email" and value and not EMAIL.match(value):
        raise RecordError("INVALID_DATA", "invalid data", details | expected)
    if len(value) > f.length:
        raise RecordError("INVALID_DATA", "invalid data", details | {"maximum_length": f.length})
    return value


def custom_field(spec: Any, field_id: str) -> ZField | RecordError:
    if (
        not isinstance(spec, dict)
        or not isinstance(spec.get("field_label"), str)
        or not spec["field_label"].strip()
    ):
        return RecordError("MANDATORY_NOT_FOUND", "required field not found", {"api_name": "field_label"})
    data_type = spec.get("data_type")
    if data_type not in CUSTOM_TYPES:
        return RecordError(
            "INVALID_DATA", "invalid data", {"api_name": "data_type", "supported_values": list(CUSTOM_TYPES)}
        )
    label = spec["field_label"].strip()
    api_name = re.sub(r"\W+", "_", label).strip("_")
    if not api_name or not api_name[0].isalpha():
        return RecordError("INVALID_DATA", "invalid data", {"api_name": "field_label"})
    length = spec.get("length", 255 if data_type == "text" else 100)
    unique = isinstance(spec.get("unique"), dict)
    return ZField(api_name, str(data_type), label, int(length), unique=unique, custom=True, id=field_id)
