"""A destination's field mapping as the merchant changes it: each change (`OBJECT.CRM_FIELD=
CONNECTOR_FIELD`, or a CRM field left out) is checked against the destination's objects, the
connector fields there are and the field that carries the connector's id before any is kept;
the overrides are data on the destination, laid over its kind's defaults (`records.merged`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import destinations as kinds
from connector.errors import BadInput
from destinations.protocol import Destination as Kind
from destinations.records import Mapping, merged

CRM_FIELD = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,99}")
FIXED = ("id", "contact_id")  # what ties a record to the connector: never remapped nor left out


@dataclass(frozen=True)
class Change:
    obj: str
    crm_field: str
    ours: str | None  # None: the CRM field is left out


def parse(sets: Sequence[str], leave_out: Sequence[str]) -> list[Change]:
    """`--set OBJECT.CRM_FIELD=CONNECTOR_FIELD` and `--leave-out OBJECT.CRM_FIELD`, as changes."""
    changes = []
    for given in sets:
        target, sep, ours = given.partition("=")
        if not sep or not ours.strip():
            raise BadInput(f"--set {given!r}: write OBJECT.CRM_FIELD=CONNECTOR_FIELD")
        changes.append(Change(*_target(target, "--set"), ours.strip()))
    changes += [Change(*_target(given, "--leave-out"), None) for given in leave_out]
    return changes


def _target(given: str, option: str) -> tuple[str, str]:
    obj, sep, crm_field = given.strip().partition(".")
    if not sep or not CRM_FIELD.fullmatch(crm_field):
        raise BadInput(
            f"{option} {given!r}: name the object and the CRM field as OBJECT.CRM_FIELD "
            "(a field name is letters, digits and _)"
        )
    return obj, crm_field


def connector_fields(obj: str) -> set[str]:
    """The connector fields a record of this object carries (any destination's defaults name them)."""
    return {ours for kind in kinds.every() for ours in kind.DEFAULT_MAPPING.get(obj, {}).values()}


def changed(kind: Kind, overrides: dict[str, Any] | None, changes: Sequence[Change]) -> dict[str, Any]:
    """The destination's overrides after these changes; the first change that cannot be is refused,
    naming why, and nothing is changed."""
    result: dict[str, Any] = {obj: dict(f) for obj, f in (overrides or {}).items() if isinstance(f, dict)}
    for change in changes:
        _check(kind, change)
        fields = result.setdefault(change.obj, {})
        default = kind.DEFAULT_MAPPING[change.obj].get(change.crm_field)
        if change.ours == default:
            fields.pop(change.crm_field, None)  # back to the default: no override needed
        else:
            fields[change.crm_field] = change.ours
    return {obj: fields for obj, fields in result.items() if fields}


def _check(kind: Kind, change: Change) -> None:
    if change.obj not in kind.DEFAULT_MAPPING:
        raise BadInput(f"{change.obj!r}: {kind.KIND} takes {', '.join(kind.DEFAULT_MAPPING)}")
    default = kind.DEFAULT_MAPPING[change.obj].get(change.crm_field)
    if default in FIXED or change.ours in FIXED:
        raise BadInput(
            f"{change.obj}.{change.crm_field}: the connector's {default or change.ours} goes in its own "
            "field, which cannot be remapped or left out"
        )
    known = connector_fields(change.obj) - set(FIXED)
    if change.ours is not None and change.ours not in known:
        raise BadInput(
            f"{change.ours!r} is not a connector field of {change.obj}; they are: {', '.join(sorted(known))}"
        )


def effective(kind: Kind, overrides: dict[str, Any] | None) -> Mapping:
    return merged(kind.DEFAULT_MAPPING, overrides)


def not_there(kind: Kind, mapping: Mapping, known: dict[str, set[str]]) -> list[str]:
    """The CRM fields the mapping names that the CRM lacks, as OBJECT.FIELD (with the field of
    another case it has, if any); the kind's defaults, which the first push makes or `destinations
    check` verifies, are not asked about."""
    absent = []
    for obj, fields in mapping.items():
        have = known.get(obj, set())
        for crm in fields:
            if crm in kind.DEFAULT_MAPPING[obj] or crm in have:
                continue
            alike = sorted(f for f in have if f.lower() == crm.lower())
            absent.append(f"{obj}.{crm}" + (f" (it has {alike[0]})" if alike else ""))
    return absent
