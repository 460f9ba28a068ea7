"""The org's HTTP face at `/services/...`: OAuth, then every `/services/data/vXX.X/...` call
through one gate (the long-running requests in progress, a valid session, the fault roll, the
daily allocation) to its handler.
Every answer carries `Sforce-Limit-Info: api-usage=N/M`; errors are Salesforce's array
`[{"message", "errorCode", "fields"}]`: 401 INVALID_SESSION_ID for an expired or unknown
session, 403 REQUEST_LIMIT_EXCEEDED when throttled, past the concurrent long-running limit
("ConcurrentRequests …") or when the day's allocation is spent ("TotalRequests …")."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, request
from werkzeug.wrappers import Response as WResponse

from sandbox import consent
from sandbox.answers import as_json, world_part
from sandbox.salesforce import auth, bulk2, collections, rest
from sandbox.salesforce.org import SalesforceOrg
from sandbox.salesforce.values import SalesforceError

bp = Blueprint("sandbox_salesforce", __name__, url_prefix="/services")
VERSION = re.compile(r"\d{2}\.0")
OLDEST, NEWEST = 41, 66
SEASONS = ("Spring", "Summer", "Winter")
CONCURRENT = "ConcurrentRequests (Concurrent API Requests) Limit exceeded."


def org() -> SalesforceOrg:
    found: SalesforceOrg | None = world_part("salesforce")
    if found is None:
        raise SalesforceError("NOT_FOUND", "The requested resource does not exist", status=404)
    return found


def instance_url() -> str:
    from sandbox.addressing import origin

    return origin()


def errors(
    *items: SalesforceError, status: int | None = None, headers: dict[str, str] | None = None
) -> Response:
    return as_json([e.body() for e in items], status or items[0].status, headers)


@bp.errorhandler(SalesforceError)
def refused(error: SalesforceError) -> Response:
    return errors(error, headers=_limit_header())


@bp.errorhandler(auth.OAuthError)
def oauth_refused(error: auth.OAuthError) -> Response:
    return as_json(error.body(), error.status)


def _limit_header() -> dict[str, str]:
    found: SalesforceOrg | None = world_part("salesforce")
    return {"Sforce-Limit-Info": found.limit_info()} if found is not None else {}


@bp.post("/oauth2/token")
def token() -> Response:
    return as_json(auth.token(org(), request, instance_url()))


@bp.route("/oauth2/authorize", methods=["GET", "POST"])
def authorize() -> WResponse:
    the_org = org()

    def check(args: dict[str, str]) -> WResponse | None:
        auth.check_request(the_org, args)  # an OAuthError is Salesforce's 400
        return None

    return consent.consent("Salesforce", check, lambda args: auth.approve(the_org, args))


@bp.post("/oauth2/revoke")
def revoke() -> Response:
    auth.revoke(org(), request.form.get("token", request.args.get("token", "")))
    return Response("", 200)


@bp.get("/data/")
@bp.get("/data")
def versions() -> Response:
    """The versions the org serves (not counted against the allocation, as Salesforce says)."""
    org()
    out = []
    for number in range(OLDEST, NEWEST + 1):
        year = 2017 + (number - 38) // 3 + (1 if (number - 38) % 3 == 2 else 0)
        label = f"{SEASONS[(number - 39) % 3]} '{str(year)[-2:]}"
        out.append({"label": label, "url": f"/services/data/v{number}.0", "version": f"{number}.0"})
    return as_json(out)


@bp.route("/data/v<version>/", methods=["GET"], defaults={"path": ""})
@bp.route("/data/v<version>", methods=["GET"], defaults={"path": ""})
@bp.route("/data/v<version>/<path:path>", methods=["GET", "POST", "PATCH", "PUT", "DELETE"])
def api(version: str, path: str) -> Response:
    the_org = org()
    if not VERSION.fullmatch(version) or not OLDEST <= int(version[:2]) <= NEWEST:
        raise SalesforceError("NOT_FOUND", "The requested resource does not exist", status=404)
    ticket = the_org.begin_request()
    if ticket is None:
        refusal = SalesforceError("REQUEST_LIMIT_EXCEEDED", CONCURRENT, status=403)
        return errors(refusal, headers=_limit_header())
    try:
        gate = _gate(the_org)
        if gate is not None:
            return gate
        handler, args = _route(path.strip("/"))
        answer = handler(the_org, version, *args)
        answer.headers["Sforce-Limit-Info"] = the_org.limit_info()
        the_org.faults.hold()  # acted on already: a client gone meanwhile never hears of it
        return answer
    finally:
        the_org.end_request(ticket)


def _gate(the_org: SalesforceOrg) -> Response | None:
    if not auth.bearer(the_org, request):
        return errors(SalesforceError("INVALID_SESSION_ID", "Session expired or invalid", status=401))
    fault = the_org.faults.roll(f"{request.method} {request.path}")
    headers = _limit_header()
    if fault == "throttle":
        if the_org.faults.retry_after_s:
            headers["Retry-After"] = str(the_org.faults.retry_after_s)
        return errors(SalesforceError("REQUEST_LIMIT_EXCEEDED", CONCURRENT, status=403), headers=headers)
    if fault == "error":
        message = (
            "An unexpected error occurred. Please include this ErrorId if you contact support: 1869230155-22"
        )
        return errors(SalesforceError("UNKNOWN_EXCEPTION", message, status=500), headers=headers)
    if not the_org.charge():
        return errors(
            SalesforceError("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.", status=403),
            headers=headers,
        )
    return None


Handler = Callable[..., Response]


def _route(path: str) -> tuple[Handler, tuple[Any, ...]]:
    parts = path.split("/") if path else []
    method = request.method
    head = parts[0] if parts else ""
    if not parts and method == "GET":
        return rest.resources, ()
    if head == "limits" and method == "GET":
        return rest.limits, ()
    if head in ("query", "queryAll") and method == "GET":
        return rest.query, (head == "queryAll", parts[1] if len(parts) > 1 else None)
    if head == "sobjects":
        return rest.route(parts[1:], method)
    if head == "composite" and len(parts) > 1 and parts[1] == "sobjects":
        return collections.route(parts[2:], method)
    if head == "tooling" and parts[1:] == ["sobjects", "CustomField"] and method == "POST":
        return rest.create_custom_field, ()
    if head == "jobs" and len(parts) > 1 and parts[1] == "ingest":
        return bulk2.route(parts[2:], method)
    raise SalesforceError("NOT_FOUND", "The requested resource does not exist", status=404)
