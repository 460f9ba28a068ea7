"""The HubSpot side of the sandbox, at /hubspot (a client's base URL): private-app or OAuth
(sandbox/hubspot/oauth.py: install page, token and token-info endpoints) Bearer auth,
`/account-info/v3/details`, CRM v3 properties and objects (contacts, orders, line_items: list,
get, batch upsert by a unique `idProperty`, batch update by id, batch read with
`propertiesWithHistory` or by a unique `idProperty`, batch archive (kept restorable:
`?archived=true` lists them), a contact's GDPR delete (nothing kept), search), v4 associations
(batch default create, batch read, one record's page),
and the subscription status (`/communication-preferences/v3/...`). Every answer carries the
`X-HubSpot-RateLimit-*` headers; over the 10-second window it is a 429 in HubSpot's shape.
Each call is logged (`Portal.log`: method, path, how many inputs it named).
`/hubspot/_control/faults` queues statuses (429, 5xx, 401) to answer next, or slows answers.
"""

from __future__ import annotations

import time

from flask import Blueprint, Response, g, request

from sandbox.hubspot import associations, oauth, records, search
from sandbox.hubspot.common import as_json, error, portal

bp = Blueprint("sandbox_hubspot", __name__, url_prefix="/hubspot")
CATEGORY = {429: "RATE_LIMITS", 500: "INTERNAL_ERROR", 502: "BAD_GATEWAY", 503: "SERVICE_UNAVAILABLE"}


@bp.before_request
def gate() -> Response | None:
    if request.path.startswith(("/hubspot/_control/", "/hubspot/oauth/")):
        return None
    p = portal()
    body = request.get_json(silent=True) if request.method == "POST" else None
    inputs = body.get("inputs") if isinstance(body, dict) else None
    with p.lock:
        p.log.append((request.method, request.path, len(inputs) if isinstance(inputs, list) else 0))
        p.requests += 1
        aimed = p.faults_on in request.path
        fault = p.faults.popleft() if p.faults and aimed else None
        allowed, g.hubspot_headers = p.admit()
    token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    granted = p.oauth.state(token)
    if granted == "expired":
        return error(401, "The OAuth token used to make this call expired.", "EXPIRED_AUTHENTICATION")
    if fault == 401 or (token != p.token and granted is None):
        expired = fault == 401 or token in p.revoked
        return error(
            401,
            "The access token provided is expired, revoked, malformed, or invalid for other reasons.",
            "EXPIRED_AUTHENTICATION" if expired else "INVALID_AUTHENTICATION",
        )
    if fault == 429 or not allowed:
        return error(
            429,
            "You have reached your ten_secondly_rolling limit.",
            "RATE_LIMITS",
            errorType="RATE_LIMIT",
            policyName="TEN_SECONDLY_ROLLING",
        )
    if fault is not None:
        return error(fault, "Internal error; please try again.", CATEGORY.get(fault, "INTERNAL_ERROR"))
    return None


@bp.after_request
def headers(response: Response) -> Response:
    if request.path.startswith("/hubspot/_control/"):
        return response
    latency = portal().latency_ms
    if latency:
        time.sleep(latency / 1000)  # acted on already: a client gone meanwhile never hears of it
    for name, value in (getattr(g, "hubspot_headers", None) or {}).items():
        response.headers[name] = value
    return response


@bp.get("/account-info/v3/details")
def details() -> Response:
    p = portal()
    return as_json(
        {
            "portalId": p.portal_id,
            "accountType": "STANDARD",
            "timeZone": "Etc/UTC",
            "companyCurrency": "USD",
            "uiDomain": "app.hubspot.com",
            "dataHostingLocation": "na1",
        }
    )


@bp.get("/crm/v3/properties/<obj>")
def list_properties(obj: str) -> Response:
    if obj not in portal().properties:
        return error(404, f"Unable to infer object type from: {obj}", "OBJECT_NOT_FOUND")
    return as_json({"results": list(portal().properties[obj].values())})


@bp.post("/crm/v3/properties/<obj>")
def create_property(obj: str) -> Response:
    p, body = portal(), request.get_json(silent=True) or {}
    name = str(body.get("name") or "")
    if obj not in p.properties or not name or not body.get("type") or not body.get("groupName"):
        return error(400, "Property definition is missing name, type or groupName", "VALIDATION_ERROR")
    with p.lock:
        if name in p.properties[obj]:
            return error(409, f"A property named '{name}' already exists.", "OBJECT_ALREADY_EXISTS")
        p.properties[obj][name] = {**body, "hasUniqueValue": bool(body.get("hasUniqueValue"))}
    return as_json(p.properties[obj][name], 201)


bp.add_url_rule("/oauth/authorize", view_func=oauth.authorize, methods=["GET", "POST"])
bp.add_url_rule("/oauth/v1/token", view_func=oauth.token, methods=["POST"])
bp.add_url_rule("/oauth/2026-03/token", "token_dated", view_func=oauth.token, methods=["POST"])
bp.add_url_rule("/oauth/2026-03/token/introspect", view_func=oauth.introspect, methods=["POST"])
bp.add_url_rule("/oauth/v1/access-tokens/<token>", view_func=oauth.token_info, methods=["GET"])
bp.add_url_rule("/crm/v3/objects/<obj>", view_func=records.list_page, methods=["GET"])
bp.add_url_rule("/crm/v3/objects/<obj>/<record_id>", view_func=records.get_one, methods=["GET"])
bp.add_url_rule(
    "/crm/v3/objects/<obj>/<record_id>", "archive_one", view_func=records.archive_one, methods=["DELETE"]
)
bp.add_url_rule("/crm/v3/objects/<obj>/batch/upsert", view_func=records.batch_upsert, methods=["POST"])
bp.add_url_rule("/crm/v3/objects/<obj>/batch/update", view_func=records.batch_update, methods=["POST"])
bp.add_url_rule("/crm/v3/objects/<obj>/batch/read", view_func=records.batch_read, methods=["POST"])
bp.add_url_rule("/crm/v3/objects/<obj>/batch/archive", view_func=records.batch_archive, methods=["POST"])
bp.add_url_rule("/crm/v3/objects/<obj>/gdpr-delete", view_func=records.gdpr_delete, methods=["POST"])
bp.add_url_rule("/crm/v3/objects/<obj>/search", view_func=search.search, methods=["POST"])
bp.add_url_rule(
    "/crm/v4/associations/<from_obj>/<to_obj>/batch/associate/default",
    endpoint="associations_associate",
    view_func=associations.associate,
    methods=["POST"],
)
bp.add_url_rule(
    "/crm/v4/associations/<from_obj>/<to_obj>/batch/read",
    endpoint="associations_batch_read",
    view_func=associations.batch_read,
    methods=["POST"],
)
bp.add_url_rule(
    "/crm/v4/objects/<from_obj>/<record_id>/associations/<to_obj>",
    endpoint="associations_page",
    view_func=associations.page,
    methods=["GET"],
)
bp.add_url_rule("/communication-preferences/v3/unsubscribe", view_func=records.unsubscribe, methods=["POST"])
bp.add_url_rule(
    "/communication-preferences/v3/status/email/<email>",
    view_func=records.subscription_status,
    methods=["GET"],
)


@bp.post("/_control/faults")
def faults() -> Response:
    """`{"statuses": [429, 503, 401]}` answered next, one per request (with `"on"`, a part of
    a path: only to the requests whose path holds it); `{"rotate_token": true}`
    revokes the token (the merchant rotated it); `{"window_ms", "max_per_window"}` set the limit;
    `{"latency_ms"}` holds every answer that long after the request was acted on;
    `{"search_per_second", "search_window_ms"}` set the search's own limit; for the OAuth
    app, `{"expire_access": true}` lapses its access tokens, `{"revoke_refresh": true}` its
    refresh tokens, `{"hub_domain"}` renames the portal its token info names."""
    p, body = portal(), request.get_json(silent=True) or {}
    with p.lock:
        p.faults.extend(int(s) for s in body.get("statuses") or [])
        if "statuses" in body:
            p.faults_on = str(body.get("on") or "")
        if body.get("rotate_token"):
            p.rotate_token()
        p.window_ms = int(body.get("window_ms", p.window_ms))
        p.max_per_window = int(body.get("max_per_window", p.max_per_window))
        p.latency_ms = int(body.get("latency_ms", p.latency_ms))
        if body.get("expire_access"):  # every OAuth access token lapses now
            p.oauth.access = dict.fromkeys(p.oauth.access, 0.0)
        if body.get("revoke_refresh"):  # the merchant uninstalled the app: no refresh works
            p.oauth.refresh_tokens.clear()
        p.oauth.hub_domain = str(body.get("hub_domain", p.oauth.hub_domain))
        p.search_per_second = int(body.get("search_per_second", p.search_per_second))
        p.search_window_s = float(body.get("search_window_ms", p.search_window_s * 1000)) / 1000
    return as_json({"token": p.token, "queued": list(p.faults)})
