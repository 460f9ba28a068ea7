"""The control API of the simulated CRMs, `/_sandbox/crm/<salesforce|zoho>/...` (JSON in, JSON
out): their state (`GET`), faults (`POST faults`, `{}` clears), an expired session or token for
every client (`POST expire`), a revoked grant (`POST revoke`), the limits (`POST limits`: the
daily allocation `{"daily", "used"}`, Zoho's `concurrency` and `sub_concurrency`, Salesforce's
`concurrent_long` and `long_running_ms`), an opt-out a merchant sets in the CRM (`POST opt-out
{"email"}`), custom fields an admin adds as a one-time setup (`POST fields`), and every live record of an
object, to compare what a push left there (`GET records/<object>`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, request

from sandbox.http import as_json, current_world
from sandbox.salesforce.org import SalesforceOrg
from sandbox.salesforce.schema import custom_field as sf_field
from sandbox.salesforce.values import SalesforceError
from sandbox.zoho.org import ZohoOrg
from sandbox.zoho.schema import RecordError
from sandbox.zoho.schema import custom_field as zoho_field

bp = Blueprint("sandbox_crm_control", __name__, url_prefix="/_sandbox/crm/<kind>")
OPT_OUT = {
    "salesforce": ("Contact", "Email", "HasOptedOutOfEmail"),
    "zoho": ("Contacts", "Email", "Email_Opt_Out"),
}


def bad(message: str, status: int = 400) -> Response:
    return as_json({"error": message}, status)


def crm(kind: str) -> SalesforceOrg | ZohoOrg | None:
    world = current_world()
    return {"salesforce": world.salesforce, "zoho": world.zoho}.get(kind)


def body() -> dict[str, Any] | None:
    found = request.get_json(silent=True)
    return found if isinstance(found, dict) else None


@bp.get("")
def state(kind: str) -> Response:
    org = crm(kind)
    if org is None:
        return bad(f"no CRM {kind!r} (salesforce or zoho)", 404)
    allocation = org.daily_max if isinstance(org, SalesforceOrg) else org.daily_credits
    return as_json(
        {
            "counts": org.counts(),
            "used": org.used,
            "daily": allocation,
            "faults": org.faults.state(),
            "revoked": org.revoked,
        }
        | (
            {
                "max_in_flight": org.max_in_flight,
                "concurrency": org.concurrency,
                "max_sub_in_flight": org.max_sub_in_flight,
                "sub_concurrency": org.sub_concurrency,
            }
            if isinstance(org, ZohoOrg)
            else {
                "max_long_running": org.max_long_running,
                "concurrent_long": org.concurrent_long,
                "long_running_ms": org.long_running_ms,
            }
        )
    )


@bp.post("/faults")
def faults(kind: str) -> Response:
    org, given = crm(kind), body()
    if org is None or given is None:
        return bad("a JSON object for salesforce or zoho") if org else bad(f"no CRM {kind!r}", 404)
    problem = org.faults.set(given)
    return bad(problem) if problem else as_json({"faults": org.faults.state()})


@bp.post("/expire")
def expire(kind: str) -> Response:
    org = crm(kind)
    if org is None:
        return bad(f"no CRM {kind!r}", 404)
    count = org.expire_sessions() if isinstance(org, SalesforceOrg) else org.expire_tokens()
    return as_json({"expired": count})


@bp.post("/revoke")
def revoke(kind: str) -> Response:
    org = crm(kind)
    if org is None:
        return bad(f"no CRM {kind!r}", 404)
    org.revoked = True
    return as_json({"revoked": True})


@bp.post("/limits")
def limits(kind: str) -> Response:
    org, given = crm(kind), body()
    if org is None:
        return bad(f"no CRM {kind!r}", 404)
    allowed = {"daily", "used"} | (
        {"concurrency", "sub_concurrency", "search_lag_s"}
        if isinstance(org, ZohoOrg)
        else {"concurrent_long", "long_running_ms"}
    )
    if (
        given is None
        or not set(given) <= allowed
        or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in given.values())
    ):
        return bad(f"limits takes {sorted(allowed)}: whole numbers, 0 or more")
    with org.lock:
        if "daily" in given:
            if isinstance(org, SalesforceOrg):
                org.daily_max = given["daily"]
            else:
                org.daily_credits = given["daily"]
        if "used" in given:
            org.used = given["used"]
        for name in ("concurrency", "sub_concurrency", "search_lag_s", "concurrent_long", "long_running_ms"):
            if name in given:
                setattr(org, name, given[name])
    return state(kind)


@bp.post("/opt-out")
def opt_out(kind: str) -> Response:
    """A merchant unsubscribes a contact in the CRM: the flag set and the record's time moved."""
    org, given = crm(kind), body()
    if org is None:
        return bad(f"no CRM {kind!r}", 404)
    email = given.get("email") if given else None
    if not isinstance(email, str) or not email:
        return bad('opt-out takes {"email"}')
    obj, email_field, flag = OPT_OUT[kind]
    with org.lock:
        if isinstance(org, SalesforceOrg):
            matches = [
                r
                for r in org.records[obj].values()
                if not r.deleted and str(r.fields.get(email_field, "")).lower() == email.lower()
            ]
            for r in matches:
                org.write(org.objects[obj], r, {flag: bool(given.get("opted_out", True))})  # type: ignore[union-attr]
            ids = [r.id for r in matches]
        else:
            module = org.modules[obj]
            zmatches = [
                r
                for r in org.records[obj].values()
                if str(r.values.get(email_field, "")).lower() == email.lower()
            ]
            for n, zr in enumerate(zmatches):
                org.save(module, zr, {flag: bool(given.get("opted_out", True))}, n)  # type: ignore[union-attr]
            ids = [r.id for r in zmatches]
    if not ids:
        return bad(f"no contact with e-mail {email!r}", 404)
    return as_json({"ids": ids, "at": datetime.now(UTC).isoformat()})


@bp.post("/fields")
def fields(kind: str) -> Response:
    """`{"object": "Contact", "fields": [{"name": "Ext__c", "type": "Text", "externalId": true, …}]}`
    (Salesforce, Tooling metadata) or `{"object": "Contacts", "fields": [{"field_label", "data_type",
    "unique"}]}` (Zoho)."""
    org, given = crm(kind), body()
    if org is None:
        return bad(f"no CRM {kind!r}", 404)
    specs = given.get("fields") if given else None
    if not isinstance(specs, list) or not given or not isinstance(given.get("object"), str):
        return bad('fields takes {"object", "fields": [...]}')
    made = []
    try:
        for spec in specs:
            made.append(_add_field(org, given["object"], spec))
    except (SalesforceError, RecordError) as refused:
        return bad(refused.message)
    return as_json({"added": made})


def _add_field(org: SalesforceOrg | ZohoOrg, obj: str, spec: Any) -> str:
    if not isinstance(spec, dict):
        raise SalesforceError("INVALID_INPUT", "each field is a JSON object")
    if isinstance(org, SalesforceOrg):
        made = sf_field(str(spec.get("name", "")), spec)
        if isinstance(made, str):
            raise SalesforceError("FIELD_INTEGRITY_EXCEPTION", made)
        org.add_field(obj, made)
        return made.name
    module = org.module(obj)
    if module is None:
        raise RecordError("INVALID_MODULE", f"no module {obj!r}")
    zmade = zoho_field(spec, org.new_id())
    if isinstance(zmade, RecordError):
        raise zmade
    org.add_field(module, zmade)
    return zmade.api_name


@bp.get("/records/<name>")
def records(kind: str, name: str) -> Response:
    org = crm(kind)
    if org is None:
        return bad(f"no CRM {kind!r}", 404)
    with org.lock:
        if isinstance(org, SalesforceOrg):
            try:
                obj = org.sobject(name)
            except SalesforceError:
                return bad(f"no object {name!r}", 404)
            rows = [
                {f: r.value(f) for f in obj.fields} for r in org.records[obj.name].values() if not r.deleted
            ]
        else:
            module = org.module(name)
            if module is None:
                return bad(f"no module {name!r}", 404)
            rows = [r.json(org.owner) for r in org.records[module.api_name].values()]
    return as_json({"records": rows, "count": len(rows)})
