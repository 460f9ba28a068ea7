"""The Zoho side of the sandbox: each data center's accounts server at `/zoho/<dc>/accounts`
and its API domain at `/zoho/<dc>/api`, where `/crm/v2`…`/crm/v8/...` passes one gate (the
`Authorization: Zoho-oauthtoken <token>` header, the fault roll, the day's credits) to the
records and settings handlers (sandbox/zoho/records.py). Errors are Zoho's
`{"code", "details", "message", "status": "error"}`: 401 INVALID_TOKEN for an expired or unknown
token, 429 TOO_MANY_REQUESTS past the concurrency or sub-concurrency limit (sandbox/zoho/limits.py),
when the day's credits are spent or when throttled, 500 INTERNAL_ERROR for an injected fault.
Every answer carries `X-API-CREDITS-REMAINING` once half the day's credits are used."""

from __future__ import annotations

import re

from flask import Blueprint, Response, request
from werkzeug.wrappers import Response as WResponse

from sandbox import consent
from sandbox.addressing import origin
from sandbox.answers import as_json, world_part
from sandbox.zoho import accounts, limits, records
from sandbox.zoho.org import DATA_CENTERS, ZohoOrg

bp = Blueprint("sandbox_zoho", __name__, url_prefix="/zoho/<dc>")
VERSIONS = range(2, 9)
BUSY = "The concurrency limit of the user for the app is exceeded"
BUSY_HEAVY = "The sub-concurrency limit of the user for the app is exceeded"
SPENT = "Number of API requests for the 24 hour period is exceeded"


def error(code: str, message: str, status: int, details: dict[str, object] | None = None) -> Response:
    return as_json({"code": code, "details": details or {}, "message": message, "status": "error"}, status)


def org_for(dc: str) -> ZohoOrg | Response:
    found: ZohoOrg | None = world_part("zoho")
    if found is None or dc not in DATA_CENTERS:
        return error("INVALID_URL_PATTERN", "Please check if the URL trying to access is a correct one", 404)
    return found


def _here(dc: str, part: str) -> str:
    """This data center's accounts or API URL, as the request addressed the sandbox."""
    prefix = f"/zoho/{dc}/{part}"
    if request.environ.get("sandbox.routed_prefix") is not None:
        return f"{request.scheme}://{DATA_CENTERS[dc][0 if part == 'accounts' else 1]}" + _port()
    return origin() + prefix


def _port() -> str:
    host = request.host
    return ":" + host.rsplit(":", 1)[1] if ":" in host and not host.endswith("]") else ""


def _params() -> dict[str, str]:
    return request.args.to_dict() | request.form.to_dict()


@bp.post("/accounts/oauth/v2/token")
def token(dc: str) -> Response:
    org = org_for(dc)
    if isinstance(org, Response):
        return org
    return as_json(accounts.token(org, dc, _params(), _here(dc, "api")))


@bp.route("/accounts/oauth/v2/auth", methods=["GET", "POST"])
def authorize(dc: str) -> WResponse:
    org = org_for(dc)
    if isinstance(org, Response):
        return org
    here = _here(dc, "accounts")

    def check(args: dict[str, str]) -> WResponse | None:
        refused = accounts.check_request(org, dc, args)
        return None if refused is None else as_json(refused, 400)

    return consent.consent("Zoho", check, lambda args: accounts.approve(org, args, here))


@bp.post("/accounts/oauth/v2/token/revoke")
def revoke(dc: str) -> Response:
    org = org_for(dc)
    if isinstance(org, Response):
        return org
    return as_json(accounts.revoke(org, _params().get("token", "")))


@bp.route("/api/crm/v<int:version>/<path:path>", methods=["GET", "POST", "PUT", "DELETE"])
def api(dc: str, version: int, path: str) -> Response:
    org = org_for(dc)
    if isinstance(org, Response):
        return org
    if version not in VERSIONS:
        return error("INVALID_URL_PATTERN", "Please check if the URL trying to access is a correct one", 404)
    if not org.enter():
        return error("TOO_MANY_REQUESTS", BUSY, 429)
    try:
        answer = _answer(org, dc, version, [p for p in path.split("/") if p])
        answer.headers.update(org.credits_header())
        return answer
    finally:
        org.leave()


def _answer(org: ZohoOrg, dc: str, version: int, parts: list[str]) -> Response:
    gate = _gate(org, dc)
    if gate is not None:
        return gate
    written = limits.records_written(parts, request.method)
    heavy = limits.heavy(written)
    if heavy and not org.enter_heavy():
        return error("TOO_MANY_REQUESTS", BUSY_HEAVY, 429)
    try:
        if not org.charge(limits.credits(written)):
            return error("TOO_MANY_REQUESTS", SPENT, 429)
        answer = records.dispatch(org, version, parts, request.method)
        org.faults.hold()  # acted on already (and still in progress): a client gone never hears
        return answer
    finally:
        if heavy:
            org.leave_heavy()


@bp.route("/api/<path:anything>", methods=["GET", "POST", "PUT", "DELETE"])
def elsewhere(dc: str, anything: str) -> Response:
    return error("INVALID_URL_PATTERN", "Please check if the URL trying to access is a correct one", 404)


HEADER = re.compile(r"Zoho-oauthtoken\s+(\S+)", re.IGNORECASE)


def _gate(org: ZohoOrg, dc: str) -> Response | None:
    found = HEADER.fullmatch(request.headers.get("Authorization", "").strip())
    if found is None:
        return error("AUTHENTICATION_FAILURE", "Authentication failed", 401)
    state = org.token_state(found.group(1)) if dc == org.dc else "unknown"
    if state != "valid":
        return error("INVALID_TOKEN", "invalid oauth token", 401)
    fault = org.faults.roll(f"{request.method} {request.path}")
    if fault == "throttle":
        answer = error("TOO_MANY_REQUESTS", BUSY, 429)
        if org.faults.retry_after_s:
            answer.headers["Retry-After"] = str(org.faults.retry_after_s)
        return answer
    if fault == "error":
        return error("INTERNAL_ERROR", "Internal Server Error", 500)
    return None
