"""The neutral shapes a destination is handed and answers with: a record to push (its
connector id and fields), the field mapping (CRM field → connector field, per object), what
one batch did (pushed with external ids, refused with the CRM's reason) and an opt-out read back.
"""

from __future__ import annotations

from collections.abc import Mapping as ReadOnly
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

Mapping = dict[str, dict[str, str]]  # object → {CRM field: connector field}
FieldMap = ReadOnly[str, ReadOnly[str, str]]  # the same, as a push reads it


@dataclass(frozen=True)
class Record:
    record_id: int
    fields: dict[str, Any]
    contact_id: int | None = None  # an order's person


@dataclass
class Outcome:
    pushed: dict[int, str] = field(default_factory=dict)  # record id → CRM id
    refused: dict[int, str] = field(default_factory=dict)  # record id → the CRM's reason, in words


@dataclass(frozen=True)
class Optout:
    external_id: str
    channel: str
    occurred_at: datetime
    source: str


def merged(defaults: dict[str, dict[str, str]], overrides: dict[str, Any] | None) -> Mapping:
    """The default mapping with a destination's overrides laid over it: a CRM field mapped to
    a connector field, or to None (not pushed)."""
    result = {obj: dict(fields) for obj, fields in defaults.items()}
    for obj, fields in (overrides or {}).items():
        if not isinstance(fields, dict) or obj not in result:
            continue
        for crm_field, ours in fields.items():
            if ours is None:
                result[obj].pop(str(crm_field), None)
            else:
                result[obj][str(crm_field)] = str(ours)
    return result
