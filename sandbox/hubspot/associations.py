"""HubSpot's v4 associations in the sandbox: default associations made in batches (an order to
its contact, an order to its line items — a line item has one parent, so one associated to
another order is refused), read in batches or one record's page, as HubSpot answers them
(`toObjectId` with its `associationTypes`). Archiving a record drops its associations.
"""

from __future__ import annotations

from typing import Any

from flask import Response, request

from sandbox.hubspot.common import as_json, error, portal
from sandbox.hubspot.portal import Portal, stamp

# HubSpot's own association type ids (category HUBSPOT_DEFINED), from its associations v4 docs
TYPE_IDS = {
    ("orders", "contacts"): 507,
    ("contacts", "orders"): 508,
    ("orders", "line_items"): 513,
    ("line_items", "orders"): 514,
}
MAX_INPUTS = 100


def _bad(message: str) -> Response:
    return error(400, message, "VALIDATION_ERROR")


def _pairs(from_obj: str, to_obj: str) -> list[tuple[str, str]] | Response:
    if (from_obj, to_obj) not in TYPE_IDS:
        return _bad(f"association {from_obj} → {to_obj} is not in this sandbox")
    inputs = (request.get_json(silent=True) or {}).get("inputs")
    if not isinstance(inputs, list) or not inputs or len(inputs) > MAX_INPUTS:
        return _bad(f"inputs: between 1 and {MAX_INPUTS} associations are required")
    try:
        return [(str(i["from"]["id"]), str(i["to"]["id"])) for i in inputs]
    except (KeyError, TypeError):
        return _bad("each input needs from.id and to.id")


def associate(from_obj: str, to_obj: str) -> Response:
    found = _pairs(from_obj, to_obj)
    if isinstance(found, Response):
        return found
    p = portal()
    with p.lock:
        if any(a not in p.records[from_obj] or b not in p.records[to_obj] for a, b in found):
            return _bad("One or more objects in the association do not exist")
        as_order_line = [(a, b) if from_obj == "orders" else (b, a) for a, b in found]
        if "line_items" in (from_obj, to_obj):
            taken = [li for order, li in as_order_line if p.parents.get(li, order) != order]
            if taken:
                return _bad(
                    f"Line item {taken[0]} already belongs to another object; a line item has one parent"
                )
            p.parents |= {li: order for order, li in as_order_line}
        else:
            for order, contact in as_order_line:
                p.associations = {a for a in p.associations if a[0] != order} | {(order, contact)}
    type_id = TYPE_IDS[(from_obj, to_obj)]
    results = [{"from": {"id": a}, "to": {"id": b}, "associationTypes": [_type(type_id)]} for a, b in found]
    now = stamp()
    return as_json({"status": "COMPLETE", "results": results, "startedAt": now, "completedAt": now})


def _type(type_id: int) -> dict[str, Any]:
    return {"category": "HUBSPOT_DEFINED", "typeId": type_id, "label": None}


def linked(p: Portal, from_obj: str, record_id: str, to_obj: str) -> list[str]:
    """The ids of `to_obj` records associated with this record, in id order."""
    if {from_obj, to_obj} == {"orders", "line_items"}:
        if from_obj == "orders":
            found = [li for li, order in p.parents.items() if order == record_id]
        else:
            found = [p.parents[record_id]] if record_id in p.parents else []
    elif (from_obj, to_obj) == ("orders", "contacts"):
        found = [c for o, c in p.associations if o == record_id]
    else:
        found = [o for o, c in p.associations if c == record_id]
    return sorted(found, key=int)


def batch_read(from_obj: str, to_obj: str) -> Response:
    """`{"inputs": [{"id"}]}` → each input with associations, `to` its associated records."""
    if (from_obj, to_obj) not in TYPE_IDS:
        return _bad(f"association {from_obj} → {to_obj} is not in this sandbox")
    inputs = (request.get_json(silent=True) or {}).get("inputs")
    if not isinstance(inputs, list) or not inputs or len(inputs) > MAX_INPUTS:
        return _bad(f"inputs: between 1 and {MAX_INPUTS} records are required")
    p, type_id = portal(), TYPE_IDS[(from_obj, to_obj)]
    with p.lock:
        ids = [str(i.get("id")) for i in inputs if isinstance(i, dict)]
        found = {i: linked(p, from_obj, i, to_obj) for i in ids if i in p.records[from_obj]}
    results = [
        {"from": {"id": i}, "to": [{"toObjectId": int(t), "associationTypes": [_type(type_id)]} for t in tos]}
        for i, tos in found.items()
        if tos
    ]
    now = stamp()
    return as_json({"status": "COMPLETE", "results": results, "startedAt": now, "completedAt": now})


def page(from_obj: str, record_id: str, to_obj: str) -> Response:
    """One record's associations of a type (`GET /crm/v4/objects/<obj>/<id>/associations/<to>`)."""
    if (from_obj, to_obj) not in TYPE_IDS:
        return _bad(f"association {from_obj} → {to_obj} is not in this sandbox")
    p, type_id = portal(), TYPE_IDS[(from_obj, to_obj)]
    with p.lock:
        if record_id not in p.records[from_obj]:
            return error(404, "Object not found.", "OBJECT_NOT_FOUND")
        tos = linked(p, from_obj, record_id, to_obj)
    return as_json({"results": [{"toObjectId": int(t), "associationTypes": [_type(type_id)]} for t in tos]})


def forget(p: Portal, record_id: str) -> None:
    """A record archived: its associations go (its line items stay, without a parent)."""
    p.associations = {a for a in p.associations if record_id not in a}
    p.parents = {li: order for li, order in p.parents.items() if record_id not in (li, order)}
