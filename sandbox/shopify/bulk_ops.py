"""A Shopify bulk operation's life cycle in the sandbox: started CREATED, seen RUNNING by the
next poll, then COMPLETED (or FAILED, or CANCELING → CANCELED when cancelled by id); how
many may run at once by API version; the result file behind a signed, expiring URL.

The export is written by a thread (sandbox/shopify/bulk.py) while polls watch: the first
poll after the start answers RUNNING, and the outcome is revealed once a poll has seen it
run (or HOLD_S after the start, for a client that only waits for `bulk_operations/finish`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, abort, request, send_file

from sandbox.http import current_world
from sandbox.shopify import events as events
from sandbox.shopify import shapes as shapes
from sandbox.shopify.bulk_status import observed as observed
from sandbox.shopify.urls import shop_base
from sandbox.world import Shop, World

bp = Blueprint("sandbox_shopify_bulk", __name__, url_prefix="/shopify/<shop_domain>")
HOLD_S = 2.0  # the longest an unwatched export stays RUNNING after its file is written
URL_TTL_S = 7 * 86400  # result URLs expire after seven days
FIVE_AT_ONCE_FROM = "2026-01"  # before it: one bulk query at a time per shop
ACTIVE = ("CREATED", "RUNNING", "CANCELING")
SIGNER = "assets-us-prod@shopify-tiers.iam.gserviceaccount.com"  # the storage account signing the URL


def concurrency(version: str) -> int:
    """Bulk queries an app may run at once on a shop, for the API version asked."""
    return 5 if version == "unstable" or version >= FIVE_AT_ONCE_FROM else 1


def groups_by_default(version: str) -> bool:
    """`groupObjects` defaults to false from 2026-01 (true before)."""
    return not (version == "unstable" or version >= FIVE_AT_ONCE_FROM)


def start(shop: Shop, query: str, group: bool | None, all_orders: bool) -> dict[str, Any]:
    """`bulkOperationRunQuery`: the new operation (CREATED) or Shopify's userErrors."""
    from sandbox.shopify.bulk import BulkError, plan_bulk, run_bulk

    version = (request.view_args or {}).get("version", FIVE_AT_ONCE_FROM)
    w = current_world()
    with shop.store.lock:
        running = [o for o in shop.bulk_ops.values() if o["type"] == "QUERY" and o["status"] in ACTIVE]
        limit = concurrency(version)
        if len(running) >= limit:
            return _refused(running)
        try:
            plan = plan_bulk(query, groups_by_default(version) if group is None else group)
        except BulkError as exc:
            return {
                "bulkOperation": None,
                "userErrors": [{"field": ["query"], "message": m, "code": "INVALID"} for m in exc.messages],
            }
        op_id = len(shop.bulk_ops) + 1 + 1000 * shop.store.number
        op = _new(op_id, query)
        op["_base"] = shop_base(shop.domain)
        op["_shown"] = threading.Event()
        shop.bulk_ops[op_id] = op
        shop.bulk = op
    out = result_path(w, shop, op_id)
    answer = {"bulkOperation": dict(op), "userErrors": []}  # CREATED, whatever the writer does next
    threading.Thread(target=_run, args=(w, shop, op, plan, out, all_orders, run_bulk), daemon=True).start()
    return answer


def _refused(running: list[dict[str, Any]]) -> dict[str, Any]:
    """Shopify's words, for one running or five (a 2026-04 store's sixth run answered the same
    sentence listing all five: shopify-draft-proxy's bulk-operation-run-query-concurrency-limit)."""
    ids = ", ".join(o["id"] for o in running)
    message = f"A bulk query operation for this app and shop is already in progress: {ids}."
    return {
        "bulkOperation": None,
        "userErrors": [{"field": None, "code": "OPERATION_IN_PROGRESS", "message": message}],
    }


def _new(op_id: int, query: str) -> dict[str, Any]:
    return {
        "id": shapes.gid("BulkOperation", op_id),
        "status": "CREATED",
        "errorCode": None,
        "createdAt": shapes.gql_time(datetime.now(UTC)),
        "completedAt": None,
        "objectCount": "0",
        "rootObjectCount": "0",
        "fileSize": None,
        "url": None,
        "partialDataUrl": None,
        "query": query,
        "type": "QUERY",
    }


def _run(
    w: World, shop: Shop, op: dict[str, Any], plan: Any, out: Path, all_orders: bool, write: Any
) -> None:
    write(shop, op, plan, out, all_orders, w.render_cache)
    op["_shown"].wait(HOLD_S)  # a poll has seen it RUNNING, or nobody is watching
    with shop.store.lock:
        _finish(w, op)
    numeric = int(op["id"].rsplit("/", 1)[-1])
    events.fire(
        w,
        shop,
        "bulk_operations/finish",
        {
            "admin_graphql_api_id": op["id"],
            "completed_at": op["completedAt"],
            "created_at": op["createdAt"],
            "error_code": op["errorCode"].lower() if op["errorCode"] else None,
            "status": op["status"].lower(),
            "type": "query",
            "id": numeric,
        },
    )


def _finish(w: World, op: dict[str, Any]) -> None:
    result = dict(op["_result"])
    if op.get("_cancel"):
        result["status"] = "CANCELED"
    op.update(result, completedAt=shapes.gql_time(datetime.now(UTC)))
    has_data = result["fileSize"] is not None
    url = signed_url(w, op["_base"], int(op["id"].rsplit("/", 1)[-1])) if has_data else None
    if result["status"] == "COMPLETED":
        op["url"] = url
    elif result["status"] in ("FAILED", "CANCELED"):
        op["partialDataUrl"] = url


def cancel(shop: Shop, value: str) -> dict[str, Any]:
    """`bulkOperationCancel(id:)`: that operation, CANCELING; or why it cannot be."""
    tail = value.rsplit("/", 1)[-1]
    op = (
        shop.bulk_ops.get(int(tail))
        if value.startswith("gid://shopify/BulkOperation/") and tail.isdigit()
        else None
    )
    if op is None:
        return {
            "bulkOperation": None,
            "userErrors": [{"field": ["id"], "message": "Bulk operation does not exist"}],
        }
    with shop.store.lock:
        if op["status"] not in ("CREATED", "RUNNING"):
            return {
                "bulkOperation": op,
                "userErrors": [
                    {
                        "field": None,
                        "message": f"A bulk operation cannot be canceled when it is {op['status'].lower()}",
                    }
                ],
            }
        op["status"], op["_cancel"] = "CANCELING", True
        op["_shown"].set()
        return {"bulkOperation": dict(op), "userErrors": []}  # as it stood: the writer may finish now


# --- the result file, as a signed storage URL ---------------------------------------------------


def result_path(w: World, shop: Shop, op_id: int) -> Path:
    return Path(tempfile.gettempdir()) / f"sandbox-bulk-{w.run_id}-{shop.domain}-{op_id}.jsonl"


def _signature(w: World, path: str, params: dict[str, str]) -> str:
    canonical = path + "?" + urlencode(sorted(params.items()))
    return base64.b64encode(
        hmac.new(w.api_secret.encode(), canonical.encode(), hashlib.sha256).digest()
    ).decode()


def signed_url(w: World, base: str, op_id: int, *, now: float | None = None) -> str:
    """The file's URL as Shopify hands it out: a storage URL signed for seven days (V2 style:
    GoogleAccessId, Expires, Signature) that names the file it downloads as."""
    expires = int(now if now is not None else time.time()) + URL_TTL_S
    name = f"bulk-{op_id}.jsonl"
    params = {
        "GoogleAccessId": SIGNER,
        "Expires": str(expires),
        "response-content-disposition": f"attachment; filename=\"{name}\"; filename*=UTF-8''{name}",
        "response-content-type": "application/jsonl",
    }
    path = f"/bulk/{op_id}.jsonl"
    signature = _signature(w, path, params)
    ordered = {k: params[k] for k in ("GoogleAccessId", "Expires")} | {"Signature": signature} | params
    return f"{base}{path}?{urlencode(ordered)}"


def _storage_error(status: int, code: str, message: str) -> Response:
    head = "<?xml version='1.0' encoding='UTF-8'?>"
    body = f"{head}<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    return Response(body, status, mimetype="application/xml")


@bp.get("/bulk/<int:op_id>.jsonl")
def result_file(shop_domain: str, op_id: int) -> Response:
    """The file, to a request carrying a valid, unexpired signature (as the storage checks it)."""
    w = current_world()
    shop = w.shops.get(shop_domain)
    if shop is None:
        abort(404)
    params = {k: v for k, v in request.args.items() if k != "Signature"}
    given = request.args.get("Signature", "")
    if not given or not hmac.compare_digest(given, _signature(w, f"/bulk/{op_id}.jsonl", params)):
        return _storage_error(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
        )
    expires = params.get("Expires", "")
    if not expires.isdigit() or time.time() > int(expires):
        return _storage_error(400, "ExpiredToken", "The provided token has expired.")
    path = result_path(w, shop, op_id)
    if shop.bulk_ops.get(op_id) is None or not path.exists():
        return _storage_error(404, "NoSuchKey", "The specified key does not exist.")
    disposition = params.get("response-content-disposition")
    sent = send_file(path, mimetype=params.get("response-content-type", "application/jsonl"))
    if disposition:
        sent.headers["Content-Disposition"] = disposition
    return sent
