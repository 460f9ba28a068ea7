"""The OpenAPI 3 document of `/api/v1`, served at `/api/v1/openapi.json`. The test suite
runs schemathesis over it against the real app, so an answer that strays from it fails.
"""

from __future__ import annotations

from typing import Any

from connector.crm.insights import SEGMENTS
from connector.web import openapi_overview
from connector.web.openapi_schemas import ID, SCHEMAS, STR, WINDOW_DAYS, list_of, object_of, ref
from platforms.base import CHANNELS


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


def _path_id(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": ID}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


ERRORS = {
    "400": {"description": "bad parameter (named in the message)", **_json(ref("Error"))},
    "401": {"description": "missing or invalid token", **_json(ref("Error"))},
    "404": {"description": "no such record in this account", **_json(ref("Error"))},
}
UNREACHABLE = {"502": {"description": "platform unreachable", **_json(ref("Error"))}}
PAGE = [
    _query("limit", {"type": "integer", "minimum": 1, "maximum": 200}, "page size (default 50)"),
    _query("cursor", {"type": "string", "pattern": "^[0-9]{1,18}$"}, "the next_cursor of the previous page"),
]
DATE = {"type": "string", "format": "date"}
SINCE = "start (ISO 8601, 1970-01-01 to 9000-01-01), default {} days before until"
UNTIL = _query("until", DATE, "end (ISO 8601, excluded, 1970-01-01 to 9000-01-01), default now")
CHANNEL_SINCE = "start (ISO 8601, 1970-01-01 to 9000-01-01); with neither date, the Overview's 12 months"
CHANNEL_RANGE = [_query("since", DATE, CHANNEL_SINCE), UNTIL]  # queries.reports.CHANNEL_DAYS
SALES_RANGE = [_query("since", DATE, SINCE.format(90)), UNTIL]
TEXT = {"type": "string", "pattern": "^[^\\x00]*$"}  # NUL is answered 400: no database holds it
TRUE_FALSE = {"type": "string", "enum": ["true", "false"]}


def _get(
    summary: str, ok: dict[str, Any], params: list[dict[str, Any]] | None = None, **more: Any
) -> dict[str, Any]:
    return {
        "get": {
            "summary": summary,
            "parameters": params or [],
            "responses": {"200": {"description": "OK", **ok}, **ERRORS},
            **more,
        }
    }


def _post(summary: str, ok: dict[str, Any], params: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "post": {
            "summary": summary,
            "parameters": params or [],
            "responses": {"200": {"description": "OK", **ok}, **ERRORS, **UNREACHABLE},
        }
    }


def document(server_url: str = "/") -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "crm-connector API",
            "version": "1.0.0",
            "description": "Per-account CRM data; every request needs `Authorization: Bearer crm_…`.",
        },
        "servers": [{"url": server_url}],
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {**SCHEMAS, **openapi_overview.SCHEMAS},
        },
        "paths": {**_store_paths(), **_contact_paths(), **_report_paths(), **_dead_letter_paths()},
    }


def _store_paths() -> dict[str, Any]:
    return {
        "/api/v1/stores": _get(
            "Stores with sync state and progress",
            _json(object_of({"stores": {"type": "array", "items": ref("Store")}})),
        ),
        "/api/v1/stores/{store_id}": _get("One store", _json(ref("Store")), [_path_id("store_id")]),
        "/api/v1/stores/{store_id}/webhooks": _get(
            "Webhook health: what the platform has against what is needed",
            _json(ref("WebhookHealth")),
            [_path_id("store_id")],
            responses={"200": {"description": "OK", **_json(ref("WebhookHealth"))}, **ERRORS, **UNREACHABLE},
        ),
        "/api/v1/stores/{store_id}/webhooks/repair": _post(
            "Create missing subscriptions, replace disabled ones",
            _json(ref("WebhookHealth")),
            [_path_id("store_id")],
        ),
    }


def _contact_paths() -> dict[str, Any]:
    """Contacts, then orders (the order of the paths is the document's)."""
    contact_filters = [
        _query("q", TEXT, "name, e-mail or phone contains (no NUL character)"),
        _query("segment", {"type": "string", "enum": [n for n, _r in SEGMENTS]}, "RFM segment"),
        _query("advocate", TRUE_FALSE, "brand advocates (or not)"),
        _query("inactive", TRUE_FALSE, "no order within the inactivity window (or not)"),
        _query("channel", {"type": "string", "enum": list(CHANNELS)}, "bought through this channel"),
        _query("subscribed", TRUE_FALSE, "has a confirmed product subscription (or not)"),
        _query("across_stores", TRUE_FALSE, "has records in two or more of the account's stores (or not)"),
        _query("format", {"type": "string", "enum": ["json", "csv"]}, "csv: the whole filtered list as CSV"),
    ]
    csv_or_json = {
        "content": {
            "application/json": {"schema": list_of(ref("ContactSummary"), paged=True)},
            "text/csv": {"schema": STR},
        }
    }
    return {
        "/api/v1/contacts": _get(
            "Contacts (search, filters, cursor pages, CSV)", csv_or_json, [*contact_filters, *PAGE]
        ),
        "/api/v1/contacts/{contact_id}": _get(
            "A contact's 360° view", _json(ref("Contact360")), [_path_id("contact_id")]
        ),
        "/api/v1/orders": _get(
            "Orders, by id",
            _json(list_of(ref("Order"), paged=True)),
            [_query("store_id", ID, "only this store"), *PAGE],
        ),
        "/api/v1/orders/{order_id}": _get(
            "An order with line items and tracking", _json(ref("OrderDetail")), [_path_id("order_id")]
        ),
    }


def _report_paths() -> dict[str, Any]:
    return {
        "/api/v1/products": _get(
            "A store's products with inventory cover",
            _json(list_of(ref("Product"))),
            [
                {"name": "store_id", "in": "query", "required": True, "schema": ID},
                _query("window_days", WINDOW_DAYS, "sales window for cover"),
            ],
        ),
        "/api/v1/overview": _get(
            "The Overview's figures for a period, against the previous period of equal length",
            _json(ref("Overview")),
            openapi_overview.PARAMS,
        ),
        "/api/v1/reports/channels": _get("The channel report", _json(ref("ChannelReport")), CHANNEL_RANGE),
        "/api/v1/reports/sales-by-region": _get(
            "Units and revenue per product per region per period",
            _json(ref("RegionSales")),
            [*SALES_RANGE, _query("period", {"type": "string", "enum": ["day", "week", "month"]}, "bucket")],
        ),
        "/api/v1/segments": _get("Contacts and spend per RFM segment", _json(list_of(ref("Segment")))),
        "/api/v1/reengagement": _get(
            "People to re-engage (with consent), each with the reason", _json(list_of(ref("Reengage")))
        ),
    }


def _dead_letter_paths() -> dict[str, Any]:
    return {
        "/api/v1/dead-letters": _get(
            "Open dead letters, with plain-language reasons", _json(list_of(ref("DeadLetter")))
        ),
        "/api/v1/dead-letters/{letter_id}/retry": _post(
            "Retry one", _json(ref("RetryResult")), [_path_id("letter_id")]
        ),
        "/api/v1/dead-letters/retry-all": _post("Retry every open one", _json(list_of(ref("RetryResult")))),
    }
