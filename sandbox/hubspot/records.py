"""HubSpot's CRM records in the sandbox: batch upsert by a unique property (refused whole, as
HubSpot refuses a batch with an invalid input: 400 VALIDATION_ERROR naming the property — a
line item's number that is none or negative too — or 409 CONFLICT for an e-mail another contact
has), batch read and archive, pages, and the e-mail subscription status a person changes.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Response, request

from sandbox.hubspot import associations
from sandbox.hubspot.common import as_json, error, portal
from sandbox.hubspot.portal import NUMBERS, HubRecord, Portal, stamp

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _error(status: int, message: str, category: str, errors: list[dict[str, Any]] | None = None) -> Response:
    return error(status, message, category, **({"errors": errors} if errors else {}))


def _unknown(obj: str) -> Response | None:
    if obj not in portal().records:
        return _error(400, f"Unable to infer object type from: {obj}", "VALIDATION_ERROR")
    return None


def batch_upsert(obj: str) -> Response:
    if (bad := _unknown(obj)) is not None:
        return bad
    p, inputs = portal(), (request.get_json(silent=True) or {}).get("inputs")
    if not isinstance(inputs, list) or not inputs or len(inputs) > 100:
        return _error(400, "inputs: between 1 and 100 records are required", "VALIDATION_ERROR")
    with p.lock:
        refused = _invalid(p, obj, inputs)
        if refused is not None:
            return refused
        results = [_upsert_one(p, obj, i) for i in inputs]
    now = stamp()
    return as_json({"status": "COMPLETE", "results": results, "startedAt": now, "completedAt": now})


def batch_update(obj: str) -> Response:
    """Records changed by their HubSpot ids (`inputs: [{id, properties}]`, ≤ 100); an id not
    held is refused for the whole batch, as HubSpot answers it (404-less: 400)."""
    if (bad := _unknown(obj)) is not None:
        return bad
    p, inputs = portal(), (request.get_json(silent=True) or {}).get("inputs")
    if not isinstance(inputs, list) or not inputs or len(inputs) > 100:
        return _error(400, "inputs: between 1 and 100 records are required", "VALIDATION_ERROR")
    now = stamp()
    with p.lock:
        held = [p.records[obj].get(str(i.get("id"))) for i in inputs]
        if any(r is None for r in held):
            return _error(400, "One or more records were not found", "VALIDATION_ERROR")
        for record, item in zip(held, inputs, strict=True):
            assert record is not None
            for name, given in (item.get("properties") or {}).items():
                p.set_property(record, name, "" if given is None else str(given), obj=obj, now=now)
            record.updated_at = now
        results = [r.as_json() for r in held if r is not None]
    return as_json({"status": "COMPLETE", "results": results, "startedAt": now, "completedAt": now})


def _invalid(p: Portal, obj: str, inputs: list[Any]) -> Response | None:
    known = p.properties[obj]
    for item in inputs:
        id_property = str(item.get("idProperty") or "")
        if not known.get(id_property, {}).get("hasUniqueValue"):
            return _error(400, f"{id_property!r} is not a unique property of {obj}", "VALIDATION_ERROR")
        props = item.get("properties") or {}
        missing = [n for n in props if n not in known]
        if missing:
            errors = [
                {"message": f'Property "{n}" does not exist', "code": "PROPERTY_DOESNT_EXIST"}
                for n in missing
            ]
            return _error(400, "Property values were not valid", "VALIDATION_ERROR", errors)
        if (bad := _not_numbers(obj, props)) is not None:
            return bad
        email = props.get("email")
        if obj == "contacts" and email and not EMAIL.match(str(email)):
            errors = [{"message": f"Email address {email} is invalid", "code": "INVALID_EMAIL"}]
            return _error(400, "Property values were not valid", "VALIDATION_ERROR", errors)
        if obj == "contacts" and email:
            holder = p.unique_index(obj, "email").get(str(email).lower())
            mine = p.unique_index(obj, id_property).get(str(item.get("id")))
            if holder is not None and holder != mine:
                return _error(409, f"Contact already exists. Existing ID: {holder}", "CONFLICT")
    return None


def _not_numbers(obj: str, props: dict[str, Any]) -> Response | None:
    """A number property must parse as one; a line item's price and quantity are never negative."""
    for name in NUMBERS.get(obj, ()):
        given = props.get(name)
        if given in (None, ""):
            continue
        try:
            value = float(str(given))
        except ValueError:
            errors = [{"message": f"{given} was not a valid number.", "code": "INVALID_DOUBLE"}]
            return _error(400, "Property values were not valid", "VALIDATION_ERROR", errors)
        if value < 0 and name in ("price", "quantity"):
            errors = [{"message": f"{name} cannot be negative: {given}", "code": "INVALID_DOUBLE"}]
            return _error(400, "Property values were not valid", "VALIDATION_ERROR", errors)
    return None


def _upsert_one(p: Portal, obj: str, item: dict[str, Any]) -> dict[str, Any]:
    id_property, value = str(item["idProperty"]), str(item["id"])
    existing = p.unique_index(obj, id_property).get(value)
    now = stamp()
    record = p.records[obj].get(existing) if existing else None
    new = record is None
    if record is None:
        record = HubRecord(p.new_id(), {id_property: value}, now, now)
        p.add_record(obj, record)
    for name, given in (item.get("properties") or {}).items():
        text = "" if given is None else str(given)
        p.set_property(record, name, text.lower() if name == "email" else text, obj=obj, now=now)
    record.updated_at = now
    return {**record.as_json(), "new": new}


def batch_read(obj: str) -> Response:
    if (bad := _unknown(obj)) is not None:
        return bad
    p, body = portal(), request.get_json(silent=True) or {}
    wanted, history = body.get("properties"), body.get("propertiesWithHistory")
    by = body.get("idProperty")
    with p.lock:
        index = p.unique_index(obj, str(by)) if by else None
        keys = [str(i.get("id")) for i in body.get("inputs") or []]
        found = [p.records[obj].get(index.get(k, "") if index is not None else k) for k in keys]
        results = [r.as_json(wanted, history) for r in found if r is not None]
    now = stamp()
    return as_json({"status": "COMPLETE", "results": results, "startedAt": now, "completedAt": now})


def batch_archive(obj: str) -> Response:
    if (bad := _unknown(obj)) is not None:
        return bad
    p = portal()
    with p.lock:
        for item in (request.get_json(silent=True) or {}).get("inputs") or []:
            gone = str(item.get("id"))
            p.drop_record(obj, gone)
            associations.forget(p, gone)
    return Response(status=204)


def gdpr_delete(obj: str) -> Response:
    """A contact deleted for good (`objectId`, or with `idProperty` email its e-mail): nothing
    of it stays, archived copy included."""
    if obj != "contacts":
        return _error(404, "Unable to route POST request", "OBJECT_NOT_FOUND")
    p, body = portal(), request.get_json(silent=True) or {}
    given, by = str(body.get("objectId") or ""), body.get("idProperty")
    if not given or by not in (None, "email"):
        return _error(400, "objectId is required; idProperty may only be email", "VALIDATION_ERROR")
    with p.lock:
        found = p.unique_index(obj, "email").get(given.lower()) if by == "email" else given
        if found is None and by == "email":
            return Response(status=204)  # HubSpot blocklists an e-mail it does not hold
        if found not in p.records[obj] and found not in p.archived[obj]:
            return _error(404, "Object not found.", "OBJECT_NOT_FOUND")
        p.drop_record(obj, str(found), for_good=True)
        associations.forget(p, str(found))
    return Response(status=204)


def list_page(obj: str) -> Response:
    if (bad := _unknown(obj)) is not None:
        return bad
    p = portal()
    limit = min(int(request.args.get("limit", 10)), 100)
    after = int(request.args.get("after", 0))
    wanted = _wanted()
    held = p.archived if request.args.get("archived", "").lower() == "true" else p.records
    with p.lock:
        ordered = sorted(held[obj].values(), key=lambda r: int(r.id))
        page = [r for r in ordered if int(r.id) > after][:limit]
        results = [r.as_json(wanted) for r in page]
        more = len(page) == limit and int(page[-1].id) < int(ordered[-1].id)
    paging = {"next": {"after": page[-1].id, "link": ""}} if more else None
    return as_json({"results": results, **({"paging": paging} if paging else {})})


def _wanted() -> list[str] | None:
    """`properties=a,b` or `properties=a&properties=b` (HubSpot takes both); none: all of them."""
    return [w for given in request.args.getlist("properties") for w in given.split(",") if w] or None


def get_one(obj: str, record_id: str) -> Response:
    if (bad := _unknown(obj)) is not None:
        return bad
    p = portal()
    wanted = _wanted()
    held = p.archived if request.args.get("archived", "").lower() == "true" else p.records
    with p.lock:
        record = held[obj].get(record_id)
        if record is None:
            return _error(404, "Object not found.", "OBJECT_NOT_FOUND")
        return as_json(record.as_json(wanted))


def archive_one(obj: str, record_id: str) -> Response:
    """One record archived (kept restorable); 204 whether or not it was there, as batch archive."""
    if (bad := _unknown(obj)) is not None:
        return bad
    p = portal()
    with p.lock:
        p.drop_record(obj, record_id)
        associations.forget(p, record_id)
    return Response(status=204)


def unsubscribe() -> Response:
    """The person opts out of e-mail in HubSpot (all subscriptions: `hs_email_optout` true)."""
    p, body = portal(), request.get_json(silent=True) or {}
    email = str(body.get("emailAddress") or "").lower()
    with p.lock:
        holder = p.unique_index("contacts", "email").get(email)
        if holder is None:
            return _error(400, f"{email} is not a contact", "VALIDATION_ERROR")
        p.set_property(p.records["contacts"][holder], "hs_email_optout", "true", source="EMAIL")
    return as_json(
        {"recipient": email, "subscriptionId": body.get("subscriptionId"), "status": "NOT_SUBSCRIBED"}
    )


def subscription_status(email: str) -> Response:
    p = portal()
    with p.lock:
        holder = p.unique_index("contacts", "email").get(email.lower())
        out = holder is not None and p.records["contacts"][holder].properties.get("hs_email_optout") == "true"
    status = "NOT_SUBSCRIBED" if out else "SUBSCRIBED"
    return as_json(
        {"recipient": email, "subscriptionStatuses": [{"id": "1", "name": "Marketing", "status": status}]}
    )
