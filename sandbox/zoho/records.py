"""Zoho CRM's records and settings resources: a module's records read a page at a time
(`fields` required from v6 on, `per_page` ≤ 200, `sort_by`/`sort_order`, `If-Modified-Since`,
`page` up to the 2,000th record and `page_token` past it, `info.more_records`), insert, update,
upsert by `duplicate_check_fields` (≤ 100 records a call, one result each with `status`, `code`,
`details`, `action`), delete by `ids`, one record by id, `deleted`, `search` by email or
`criteria`; `settings/fields` (GET, and POST to add custom fields), `settings/modules`, `users`
and `org`."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Response, request

from sandbox.answers import as_json
from sandbox.zoho import coql
from sandbox.zoho.criteria import Unreadable, matcher, quoted
from sandbox.zoho.org import MAX_RECORDS, ZohoOrg, ZRecord
from sandbox.zoho.schema import Module, RecordError, custom_field, parse_time

PER_PAGE = 200
DISCRETE_LIMIT = 2000  # records reachable by `page`; further ones need `page_token`
SORTABLE = ("id", "Created_Time", "Modified_Time")


def error(code: str, message: str, status: int = 400, details: dict[str, Any] | None = None) -> Response:
    return as_json({"code": code, "details": details or {}, "message": message, "status": "error"}, status)


def no_content() -> Response:
    """Zoho's empty answer: 204 with no body and no Content-Type."""
    answer = Response(status=204)
    del answer.headers["Content-Type"]
    return answer


def dispatch(org: ZohoOrg, version: int, parts: list[str], method: str) -> Response:
    if parts == ["users"] and method == "GET":
        return users(org)
    if parts == ["org"] and method == "GET":
        return as_json(
            {
                "org": [
                    {
                        "id": org.user_id[:12],
                        "company_name": "Sandbox Org",
                        "time_zone": "UTC",
                        "currency": "USD",
                        "country_code": org.dc.upper(),
                    }
                ]
            }
        )
    if parts[:1] == ["settings"]:
        return settings(org, parts[1:], method)
    if parts == ["coql"] and method == "POST":
        return query(org)
    module = org.module(parts[0]) if parts else None
    if module is None:
        return error(
            "INVALID_MODULE", "the module name given seems to be invalid", details={"resource_path_index": 0}
        )
    rest = parts[1:]
    with org.lock:
        if not rest:
            return _module_call(org, version, module, method)
        if rest == ["upsert"] and method == "POST":
            return write(org, module, upsert=True)
        if rest == ["deleted"] and method == "GET":
            return _listed(org.deleted[module.api_name], "deleted")
        if rest == ["search"] and method == "GET":
            return search(org, module)
        if len(rest) == 1 and rest[0].isdigit():
            return one(org, module, rest[0], method)
    return error("INVALID_URL_PATTERN", "Please check if the URL trying to access is a correct one", 404)


def _module_call(org: ZohoOrg, version: int, module: Module, method: str) -> Response:
    if method == "GET":
        return listing(org, version, module)
    if method == "DELETE":
        return delete(org, module)
    return write(org, module, upsert=False, creating=method == "POST")


def _listed(items: list[dict[str, Any]], key: str) -> Response:
    if not items:
        return no_content()
    return as_json(
        {"data": items, "info": {"per_page": PER_PAGE, "count": len(items), "page": 1, "more_records": False}}
    )


# --- reading ----------------------------------------------------------------------------


def _fields(module: Module, version: int) -> list[str] | Response | None:
    wanted = request.args.get("fields")
    if not wanted:
        if version >= 6:
            return error(
                "REQUIRED_PARAM_MISSING",
                "One of the expected parameter is missing",
                details={"param_name": "fields"},
            )
        return None
    names = [n.strip() for n in wanted.split(",") if n.strip()]
    if len(names) > 50:
        return error("LIMIT_EXCEEDED", "limit exceeded", details={"param_name": "fields", "limit": 50})
    for name in names:
        if name not in module.fields:
            return error("INVALID_DATA", "invalid data", details={"param_name": "fields", "api_name": name})
    return names


def listing(org: ZohoOrg, version: int, module: Module) -> Response:
    names = _fields(module, version)
    if isinstance(names, Response):
        return names
    args = request.args
    sort_by, order = args.get("sort_by", "id"), args.get("sort_order", "desc")
    per_page = args.get("per_page", str(PER_PAGE))
    page = args.get("page", "1")
    if (
        sort_by not in SORTABLE
        or order not in ("asc", "desc")
        or not per_page.isdigit()
        or not page.isdigit()
    ):
        return error(
            "INVALID_DATA", "invalid data", details={"param_name": "sort_by, sort_order, per_page or page"}
        )
    size = min(max(int(per_page), 1), PER_PAGE)
    since = (
        parse_time(request.headers.get("If-Modified-Since", ""))
        if "If-Modified-Since" in request.headers
        else None
    )
    if "If-Modified-Since" in request.headers and since is None:
        return error("INVALID_DATA", "invalid data", details={"header_name": "If-Modified-Since"})
    start = (int(page) - 1) * size
    token = args.get("page_token")
    if token:
        decoded = _read_token(token)
        if decoded is None:
            return error("INVALID_DATA", "invalid data", details={"param_name": "page_token"})
        start, sort_by, order = decoded
    elif start + size > DISCRETE_LIMIT:
        return error(
            "DISCRETE_PAGINATION_LIMIT_EXCEEDED",
            "The limit for discrete pagination has been exceeded. Use page_token to fetch more records.",
        )
    rows = [
        r
        for r in org.records[module.api_name].values()
        if since is None or r.modified.replace(microsecond=0) > since  # Zoho's times are to the second
    ]
    rows.sort(key=lambda r: _sort_value(r, sort_by), reverse=order == "desc")
    chunk = rows[start : start + size]
    if not chunk:
        return no_content()
    more = start + size < len(rows)
    info: dict[str, Any] = {
        "per_page": size,
        "count": len(chunk),
        "page": start // size + 1,
        "sort_by": sort_by,
        "sort_order": order,
        "more_records": more,
    }
    info |= {
        "next_page_token": _token(start + size, sort_by, order) if more else None,
        "previous_page_token": None,
        "page_token_expiry": None,
    }
    return as_json({"data": [r.json(org.owner, names) for r in chunk], "info": info})


def _sort_value(record: ZRecord, name: str) -> Any:
    if name == "Created_Time":
        return (record.created, int(record.id))
    if name == "Modified_Time":
        return (record.modified, int(record.id))
    return int(record.id)


def _token(start: int, sort_by: str, order: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([start, sort_by, order]).encode()).decode()


def _read_token(token: str) -> tuple[int, str, str] | None:
    try:
        start, sort_by, order = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, TypeError):
        return None
    if not isinstance(start, int) or sort_by not in SORTABLE or order not in ("asc", "desc"):
        return None
    return start, sort_by, order


def one(org: ZohoOrg, module: Module, record_id: str, method: str) -> Response:
    record = org.records[module.api_name].get(record_id)
    if method == "GET":
        return no_content() if record is None else as_json({"data": [record.json(org.owner)]})
    if method == "DELETE":
        return _deleted_answer(org, module, [record_id])
    body = request.get_json(silent=True, force=True)
    items = body.get("data") if isinstance(body, dict) else None
    if not isinstance(items, list) or len(items) != 1 or not isinstance(items[0], dict):
        return error("INVALID_DATA", "invalid data", details={"api_name": "data"})
    items[0]["id"] = record_id
    return _results(org, module, items, upsert=False, creating=False)


def query(org: ZohoOrg) -> Response:
    """COQL: the records a select query names, read from what the org holds now."""
    body = request.get_json(silent=True, force=True)
    asked = body.get("select_query") if isinstance(body, dict) else None
    if not isinstance(asked, str):
        return error(
            "REQUIRED_PARAM_MISSING",
            "One of the expected parameter is missing",
            400,
            {"api_name": "select_query"},
        )
    try:
        rows, more = coql.run(org, asked)
    except coql.Unreadable as why:
        return error("SYNTAX_ERROR", "error occurred while parsing the query", 400, {"reason": str(why)})
    if not rows:
        return no_content()
    return as_json({"data": rows, "info": {"count": len(rows), "more_records": more}})


def search(org: ZohoOrg, module: Module) -> Response:
    email, criteria = request.args.get("email"), request.args.get("criteria")
    if not email and not criteria:
        return error(
            "REQUIRED_PARAM_MISSING",
            "One of the expected parameter is missing",
            details={"param_name": "criteria"},
        )
    try:
        asked = criteria or f"(Email:equals:{quoted(email or '')})"
        wanted = matcher(asked, set(module.fields) | {"Email"})
    except Unreadable as why:
        return error("INVALID_QUERY", "invalid query formed", details={"reason": str(why)})
    indexed = datetime.now(UTC) - timedelta(seconds=org.search_lag_s)
    held = org.records[module.api_name].values()
    found = [r for r in held if wanted(r.values) and r.modified <= indexed]
    if not found:
        return no_content()
    return as_json(
        {
            "data": [r.json(org.owner) for r in found],
            "info": {"per_page": PER_PAGE, "count": len(found), "page": 1, "more_records": False},
        }
    )


# --- writing ----------------------------------------------------------------------------


def write(org: ZohoOrg, module: Module, *, upsert: bool, creating: bool = False) -> Response:
    body = request.get_json(silent=True, force=True)
    items = body.get("data") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items:
        return error("INVALID_DATA", "invalid data", details={"api_name": "data"})
    if len(items) > MAX_RECORDS:
        return error("LIMIT_EXCEEDED", "limit exceeded", details={"limit": MAX_RECORDS, "api_name": "data"})
    checks = body.get("duplicate_check_fields") if upsert and isinstance(body, dict) else None
    if checks is not None and (not isinstance(checks, list) or any(c not in module.fields for c in checks)):
        return error("INVALID_DATA", "invalid data", details={"api_name": "duplicate_check_fields"})
    return _results(org, module, items, upsert=upsert, creating=creating, checks=checks)


def _results(
    org: ZohoOrg,
    module: Module,
    items: list[Any],
    *,
    upsert: bool,
    creating: bool,
    checks: list[str] | None = None,
) -> Response:
    unique = [f.api_name for f in module.fields.values() if f.unique]
    order = list(checks) if checks else [*module.duplicate_check, *unique]
    out = []
    for index, item in enumerate(items):
        try:
            out.append(_one(org, module, item, index, upsert=upsert, creating=creating, order=order))
        except RecordError as refused:
            out.append(refused.body())
    ok = sum(1 for r in out if r["status"] == "success")
    status = (201 if creating else 200) if ok == len(out) else 207 if ok else 400
    return as_json({"data": out}, status)


def _one(
    org: ZohoOrg, module: Module, item: Any, index: int, *, upsert: bool, creating: bool, order: list[str]
) -> dict[str, Any]:
    record, duplicate = None, None
    if upsert:
        record, duplicate = org.find(module, order, item if isinstance(item, dict) else {})
    elif not creating:
        record_id = str(item.get("id", "")) if isinstance(item, dict) else ""
        record = org.records[module.api_name].get(record_id)
        if record is None:
            raise RecordError(
                "INVALID_DATA",
                "the id given seems to be invalid",
                {"api_name": "id", "json_path": f"$.data[{index}].id"},
            )
    saved = org.save(module, record, item, index)
    action = "update" if record is not None else "insert"
    details = {
        "Modified_Time": saved.json(org.owner)["Modified_Time"],
        "Modified_By": org.owner,
        "Created_Time": saved.json(org.owner)["Created_Time"],
        "id": saved.id,
        "Created_By": org.owner,
    }
    body: dict[str, Any] = {
        "code": "SUCCESS",
        "details": details,
        "message": "record updated" if record else "record added",
        "status": "success",
    }
    if upsert:
        body |= {"duplicate_field": duplicate, "action": action}
    return body


def delete(org: ZohoOrg, module: Module) -> Response:
    ids = [i for i in request.args.get("ids", "").split(",") if i]
    if not ids:
        return error(
            "REQUIRED_PARAM_MISSING",
            "One of the expected parameter is missing",
            details={"param_name": "ids"},
        )
    if len(ids) > MAX_RECORDS:
        return error("LIMIT_EXCEEDED", "limit exceeded", details={"limit": MAX_RECORDS, "param_name": "ids"})
    return _deleted_answer(org, module, ids)


def _deleted_answer(org: ZohoOrg, module: Module, ids: list[str]) -> Response:
    out = []
    for record_id in ids:
        if org.delete(module, record_id):
            out.append(
                {
                    "code": "SUCCESS",
                    "details": {"id": record_id},
                    "message": "record deleted",
                    "status": "success",
                }
            )
        else:
            out.append(
                {
                    "code": "INVALID_DATA",
                    "details": {"id": record_id},
                    "message": "the related id given seems to be invalid",
                    "status": "error",
                }
            )
    ok = sum(1 for r in out if r["status"] == "success")
    return as_json({"data": out}, 200 if ok == len(out) else 207 if ok else 400)


# --- settings, users --------------------------------------------------------------------


def settings(org: ZohoOrg, parts: list[str], method: str) -> Response:
    if parts == ["modules"] and method == "GET":
        modules = [
            {
                "api_name": m.api_name,
                "module_name": m.api_name,
                "singular_label": m.singular,
                "plural_label": m.api_name.replace("_", " "),
                "api_supported": True,
                "generated_type": "default",
                "id": str(4_000_000 + n),
            }
            for n, m in enumerate(org.modules.values())
        ]
        return as_json({"modules": modules})
    if parts != ["fields"] or method not in ("GET", "POST"):
        return error("INVALID_URL_PATTERN", "Please check if the URL trying to access is a correct one", 404)
    module = org.module(request.args.get("module", ""))
    if module is None:
        return error(
            "REQUIRED_PARAM_MISSING" if "module" not in request.args else "INVALID_MODULE",
            "the module name given seems to be invalid",
            details={"param_name": "module"},
        )
    if method == "GET":
        with org.lock:
            return as_json({"fields": [f.describe() for f in module.fields.values()]})
    body = request.get_json(silent=True, force=True)
    specs = body.get("fields") if isinstance(body, dict) else None
    if not isinstance(specs, list) or not specs:
        return error("INVALID_DATA", "invalid data", details={"api_name": "fields"})
    out = []
    for spec in specs:
        made = custom_field(spec, org.new_id())
        try:
            if isinstance(made, RecordError):
                raise made
            org.add_field(module, made)
            out.append(
                {
                    "code": "SUCCESS",
                    "details": {"id": made.id, "api_name": made.api_name},
                    "message": "field created",
                    "status": "success",
                }
            )
        except RecordError as refused:
            out.append(refused.body())
    ok = sum(1 for r in out if r["status"] == "success")
    return as_json({"fields": out}, 201 if ok == len(out) else 207 if ok else 400)


def users(org: ZohoOrg) -> Response:
    user = {
        "id": org.user_id,
        "full_name": "Sandbox Admin",
        "email": "admin@sandbox.example",
        "status": "active",
        "role": {"name": "CEO", "id": org.user_id[:15]},
        "profile": {"name": "Administrator", "id": org.user_id[:14]},
    }
    return as_json({"users": [user], "info": {"per_page": 200, "count": 1, "page": 1, "more_records": False}})
