"""The Shopify side of the sandbox: shops at /shopify/<domain>, OAuth, and the Admin GraphQL
API with Shopify's cost-based throttling and bulk operations.

OAuth approves at once, as a merchant clicking "Install" would. GraphQL charges the
requested cost up front from the shop's bucket (refilled at the plan's restore rate),
answers THROTTLED with HTTP 200 when the bucket is short, and refunds the unused part.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode, urlparse

import jwt
from flask import Blueprint, Response, abort, redirect, request
from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    GraphQLError,
    execute_sync,
    parse,
    validate,
)

from sandbox.faults import injected
from sandbox.http import as_json, current_world
from sandbox.shopify import bulk_ops as bulk_ops
from sandbox.shopify import events as events
from sandbox.shopify import fields
from sandbox.shopify import graphql as gql
from sandbox.shopify import operations as gql_operations
from sandbox.shopify import shapes as shapes
from sandbox.shopify import shop as shop_objects
from sandbox.shopify.cost import CostError, CostModel
from sandbox.world import PLANS, Shop, ShopifySubscription, World

bp = Blueprint("sandbox_shopify", __name__, url_prefix="/shopify/<shop_domain>")
MAX_SINGLE_QUERY_COST = 1000
CODE_TTL_S = 600
ONLINE_TTL_S, OFFLINE_EXPIRING_TTL_S, REFRESH_TTL_S = 86399, 3600, 7_776_000


world = current_world


def shop_of(domain: str) -> Shop:
    shop = world().shops.get(domain)
    if shop is None:
        abort(404)
    return shop


def query_hmac(params: dict[str, str], secret: str) -> str:
    """Shopify's query-string HMAC: drop hmac, sort, join k=v with &, hex HMAC-SHA256."""
    message = "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k not in ("hmac", "signature"))
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


# --- OAuth ------------------------------------------------------------------------------------------


@bp.get("/admin/oauth/authorize")
def authorize(shop_domain: str) -> Any:
    shop, w = shop_of(shop_domain), world()
    args = request.args
    if args.get("client_id") != w.api_key:
        return as_json({"errors": "Invalid client_id"}, 400)
    redirect_uri = args.get("redirect_uri", "")
    if urlparse(redirect_uri).scheme not in ("http", "https"):
        return as_json({"errors": "Invalid redirect_uri"}, 400)
    code = secrets.token_hex(16)
    online = "per-user" in args.getlist("grant_options[]")
    shop.codes[code] = time.time()
    shop.code_grants[code] = {"scope": args.get("scope", ""), "online": online}
    shop.installed = True
    params = {
        "code": code,
        "host": shapes.encode_host(shop.domain),
        "shop": shop.domain,
        "state": args.get("state", ""),
        "timestamp": str(int(time.time())),
    }
    params["hmac"] = query_hmac(params, w.api_secret)
    return redirect(f"{redirect_uri}?{urlencode(params)}", 302)


@bp.post("/admin/oauth/access_token")
def access_token(shop_domain: str) -> Response:
    shop, w = shop_of(shop_domain), world()
    form = request.get_json(silent=True) or request.form.to_dict()
    if form.get("client_id") != w.api_key or not hmac.compare_digest(
        form.get("client_secret", ""), w.api_secret
    ):
        return as_json(
            {"error": "invalid_client", "error_description": "Client credentials are invalid"}, 401
        )
    grant = form.get("grant_type", "authorization_code")
    expiring = str(form.get("expiring", "0")) == "1"
    if grant == "refresh_token":
        old = shop.refresh_tokens.pop(form.get("refresh_token", ""), None)
        if old is None:
            return as_json({"error": "invalid_grant", "error_description": "refresh token is invalid"}, 400)
        return as_json(_issue(shop, shop.tokens[old]["scope"], online=False, expiring=True))
    if grant == "urn:ietf:params:oauth:grant-type:token-exchange" and form.get(
        "subject_token_type", ""
    ).endswith(":id_token"):
        return _exchange_session_token(shop, w, form, expiring)
    if grant == "urn:ietf:params:oauth:grant-type:token-exchange":
        subject = form.get("subject_token", "")
        if subject not in shop.tokens or shop.tokens[subject].get("expires_at"):
            return as_json({"error": "invalid_subject_token"}, 400)
        scope = shop.tokens.pop(subject)["scope"]
        return as_json(_issue(shop, scope, online=False, expiring=expiring))
    code = form.get("code", "")
    issued = shop.codes.pop(code, None)  # single use
    if issued is None or time.time() - issued > CODE_TTL_S:
        return as_json(
            {
                "error": "invalid_request",
                "error_description": "The authorization code was not found or was already used",
            },
            400,
        )
    granted = shop.code_grants.pop(code)
    return as_json(_issue(shop, granted["scope"], online=granted["online"], expiring=expiring))


def session_token(world: World, shop: Shop, lifetime_s: int = 60) -> str:
    """What App Bridge hands an embedded app: an HS256 JWT signed with the app secret."""
    now = int(time.time())
    claims = {
        "iss": f"https://{shop.domain}/admin",
        "dest": f"https://{shop.domain}",
        "aud": world.api_key,
        "sub": "902541635",
        "exp": now + lifetime_s,
        "nbf": now,
        "iat": now,
        "jti": secrets.token_hex(8),
        "sid": secrets.token_hex(8),
    }
    return jwt.encode(claims, world.api_secret, algorithm="HS256")


def _exchange_session_token(shop: Shop, w: World, form: dict[str, Any], expiring: bool) -> Response:
    try:
        claims = jwt.decode(
            form.get("subject_token", ""), w.api_secret, algorithms=["HS256"], audience=w.api_key
        )
    except jwt.PyJWTError:
        return as_json(
            {"error": "invalid_subject_token", "error_description": "Session token is invalid"}, 400
        )
    if claims.get("dest") != f"https://{shop.domain}":
        return as_json({"error": "invalid_subject_token", "error_description": "Wrong shop"}, 400)
    online = form.get("requested_token_type", "").endswith(":online-access-token")
    shop.installed = True  # managed installation: the app is installed by Shopify
    return as_json(_issue(shop, "read_customers,read_orders,read_products", online=online, expiring=expiring))


def _issue(shop: Shop, scope: str, *, online: bool, expiring: bool) -> dict[str, Any]:
    token = ("shpua_" if online else "shpat_") + secrets.token_hex(16)
    ttl = ONLINE_TTL_S if online else OFFLINE_EXPIRING_TTL_S if expiring else None
    shop.tokens[token] = {"scope": scope, "expires_at": time.time() + ttl if ttl else None}
    answer: dict[str, Any] = {"access_token": token, "scope": scope}
    if online:
        answer |= {
            "expires_in": ttl,
            "associated_user_scope": scope,
            "associated_user": {
                "id": 902541635,
                "first_name": "Sandbox",
                "last_name": "Owner",
                "email": "owner@sandbox.example",
                "email_verified": True,
                "account_owner": True,
                "locale": "en",
                "collaborator": False,
            },
        }
    elif expiring:
        refresh = "shprt_" + secrets.token_hex(16)
        shop.refresh_tokens[refresh] = token
        answer |= {"expires_in": ttl, "refresh_token": refresh, "refresh_token_expires_in": REFRESH_TTL_S}
    return answer


# --- GraphQL ---------------------------------------------------------------------------------------


class Context:
    def __init__(self, shop: Shop, scope: str) -> None:
        self.shop, self.scopes = shop, set(scope.split(","))
        self.searches: list[dict[str, Any]] = []  # the response's extensions.search

    def warn(self, info: Any) -> Any:
        """A callback noting a query's ignored search terms under the field that was asked."""

        def note(text: str, warnings: list[dict[str, str]]) -> None:
            self.searches.append({"path": info.path.as_list(), "query": text, "warnings": warnings})

        return note

    @property
    def all_orders(self) -> bool:
        return "read_all_orders" in self.scopes


@bp.post("/admin/api/<version>/graphql.json")
def graphql(shop_domain: str, version: str) -> Response:
    shop, w = shop_of(shop_domain), world()
    if (fault := injected(w)) is not None:
        return fault
    grant = shop.tokens.get(request.headers.get("X-Shopify-Access-Token", ""))
    if grant is None or not shop.installed or (grant["expires_at"] and grant["expires_at"] < time.time()):
        return as_json(
            {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}, 401
        )
    body = request.get_json(silent=True) or {}
    document, errors = parsed(body.get("query") or "")
    if document is None or errors:
        return as_json({"errors": errors})
    variables = body.get("variables") or {}
    operation, problem = gql_operations.chosen(document, body.get("operationName"))
    if operation is None:
        return as_json({"errors": [{"message": problem}]})
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    costs = CostModel(gql.schema(), fragments, variables)
    try:
        requested = costs.requested(operation)
    except CostError as exc:
        return as_json({"errors": [{"message": str(exc)}]})
    with shop.store.lock:
        available = _refill(shop)
        status = _throttle_status(shop, available)
        if requested > MAX_SINGLE_QUERY_COST:
            return as_json(
                {
                    "errors": [
                        {
                            "message": f"Query cost is {requested}, which exceeds the single query "
                            f"max cost limit ({MAX_SINGLE_QUERY_COST}).",
                            "extensions": {
                                "code": "MAX_COST_EXCEEDED",
                                "cost": requested,
                                "maxCost": MAX_SINGLE_QUERY_COST,
                            },
                        }
                    ],
                    "extensions": {
                        "cost": {
                            "requestedQueryCost": requested,
                            "actualQueryCost": None,
                            "throttleStatus": status,
                        }
                    },
                }
            )
        if requested > available and w.throttle:
            shop.throttled += 1
            return as_json(
                {
                    "errors": [
                        {
                            "message": "Throttled",
                            "extensions": {
                                "code": "THROTTLED",
                                "documentation": "https://shopify.dev/api/usage/rate-limits",
                            },
                        }
                    ],
                    "extensions": {
                        "cost": {
                            "requestedQueryCost": requested,
                            "actualQueryCost": None,
                            "throttleStatus": status,
                        }
                    },
                }
            )
        shop.bucket_available = max(0.0, available - requested) if w.throttle else available
        shop.max_cost_seen = max(shop.max_cost_seen, requested)
    result = execute_sync(
        gql.schema(),
        document,
        root_value=_root(ctx := Context(shop, grant["scope"])),
        context_value=shop,
        variable_values=variables,
        operation_name=operation.name.value if operation.name else None,
    )
    actual = costs.actual(operation, result.data)
    with shop.store.lock:
        shop.bucket_available = min(
            PLANS[shop.plan]["maximum"], shop.bucket_available + max(0, requested - actual)
        )
        status = _throttle_status(shop, shop.bucket_available)
    answer: dict[str, Any] = {"data": result.data}
    if result.errors:
        answer["errors"] = [e.formatted for e in result.errors]
    answer["extensions"] = {
        "cost": {"requestedQueryCost": requested, "actualQueryCost": actual, "throttleStatus": status}
    }
    if ctx.searches:
        answer["extensions"]["search"] = ctx.searches
    return as_json(answer)


@functools.lru_cache(maxsize=512)
def parsed(query: str) -> tuple[DocumentNode | None, list[Any]]:
    """Parse and validate once per distinct query text (a sync repeats the same few queries)."""
    try:
        document = parse(query)
    except GraphQLError as exc:
        return None, [exc.formatted]
    return document, [e.formatted for e in validate(gql.schema(), document)]


def _refill(shop: Shop) -> float:
    plan = PLANS[shop.plan]
    now = time.monotonic()
    elapsed = now - shop.bucket_at if shop.bucket_at else 0.0
    shop.bucket_at = now
    shop.bucket_available = min(plan["maximum"], shop.bucket_available + elapsed * plan["restore"])
    return shop.bucket_available


def _throttle_status(shop: Shop, available: float) -> dict[str, Any]:
    plan = PLANS[shop.plan]
    return {
        "maximumAvailable": plan["maximum"],
        "currentlyAvailable": int(available),
        "restoreRate": plan["restore"],
    }


def _root(ctx: Context) -> dict[str, Any]:
    shop = ctx.shop

    def connection(entity: str) -> Any:
        return lambda info, **args: gql.root_connection(
            shop, entity, args, gql.MAKERS[entity], all_orders=ctx.all_orders, warn=ctx.warn(info)
        )

    def one(entity: str, kind: str) -> Any:
        def resolve(_info: Any, id: str) -> Any:
            found = gql.node_by_gid(shop, id)
            return found if found and found["__typename"] == kind else None

        return resolve

    return {
        "shop": shop_objects.shop_node(shop),
        "customers": connection("customers"),
        "abandonedCheckouts": lambda _info, **args: gql.abandoned_checkouts(shop, args),
        "abandonedCheckoutsCount": lambda _i, query=None, limit=10_000: gql.capped(
            len(gql.checkouts(shop, query)), limit
        ),
        "orders": connection("orders"),
        "products": connection("products"),
        "customersCount": lambda i, query=None, limit=10_000: gql.count_of(
            shop, "customers", query, limit, all_orders=ctx.all_orders, warn=ctx.warn(i)
        ),
        "ordersCount": lambda i, query=None, limit=10_000: gql.count_of(
            shop, "orders", query, limit, all_orders=ctx.all_orders, warn=ctx.warn(i)
        ),
        "productsCount": lambda i, query=None, limit=10_000: gql.count_of(
            shop, "products", query, limit, all_orders=ctx.all_orders, warn=ctx.warn(i)
        ),
        "productVariants": lambda _info, **args: fields.product_variants(shop, args, gql.BUILD),
        "productVariantsCount": lambda _i, query=None, limit=10_000: fields.variants_count(
            shop, query, limit
        ),
        "customer": one("customers", "Customer"),
        "order": one("orders", "Order"),
        "product": one("products", "Product"),
        "currentBulkOperation": lambda _i, type="QUERY": (  # the sandbox runs no bulk mutations
            bulk_ops.observed(shop, shop.bulk) if type == "QUERY" else None
        ),
        "currentAppInstallation": shop_objects.installation_node(shop, ctx.scopes, world().api_key),
        "webhookSubscriptions": lambda _i, first=None, after=None, topics=None: gql.list_connection(
            [
                _subscription_node(sub)
                for sub in shop.subscriptions.values()
                if not topics or _enum(sub.topic) in topics
            ],
            first,
            after,
        ),
        "bulkOperationRunQuery": lambda _i, query, groupObjects=None: bulk_ops.start(
            shop, query, groupObjects, ctx.all_orders
        ),
        "bulkOperationCancel": lambda _i, id: bulk_ops.cancel(shop, id),
        "webhookSubscriptionCreate": lambda _i, topic, webhookSubscription: _subscribe(
            shop, topic, webhookSubscription
        ),
        "webhookSubscriptionDelete": lambda _i, id: _unsubscribe(shop, id),
    }


# --- webhook subscriptions ------------------------------------------------------------------------


def _enum(topic: str) -> str:
    return topic.replace("/", "_").upper()


def _topic(enum: str) -> str:
    special = {
        "CUSTOMERS_EMAIL_MARKETING_CONSENT_UPDATE": "customers_email_marketing_consent/update",
        "BULK_OPERATIONS_FINISH": "bulk_operations/finish",
        "APP_SCOPES_UPDATE": "app/scopes_update",
        "ORDERS_PARTIALLY_FULFILLED": "orders/partially_fulfilled",
    }
    if enum in special:
        return special[enum]
    head, _, tail = enum.lower().partition("_")
    return f"{head}/{tail}"


def _subscription_node(sub: ShopifySubscription) -> dict[str, Any]:
    at = shapes.gql_time(sub.created_at)
    return {
        "id": shapes.gid("WebhookSubscription", sub.id),
        "topic": _enum(sub.topic),
        "uri": sub.uri,
        "callbackUrl": sub.uri,
        "endpoint": {"__typename": "WebhookHttpEndpoint", "callbackUrl": sub.uri},
        "format": "JSON",
        "includeFields": [],
        "createdAt": at,
        "updatedAt": at,
    }


def _subscribe(shop: Shop, topic: str, spec: dict[str, Any]) -> dict[str, Any]:
    uri = spec.get("uri") or spec.get("callbackUrl") or ""
    if urlparse(uri).scheme not in ("http", "https"):
        return {
            "webhookSubscription": None,
            "userErrors": [
                {"field": ["webhookSubscription", "callbackUrl"], "message": "Address is invalid"}
            ],
        }
    name = _topic(topic)
    if any(s.topic == name and s.uri == uri for s in shop.subscriptions.values()):
        return {
            "webhookSubscription": None,
            "userErrors": [
                {
                    "field": ["webhookSubscription", "callbackUrl"],
                    "message": "Address for this topic has already been taken",
                }
            ],
        }
    sub = ShopifySubscription(shop.next_subscription_id, name, uri, datetime.now(UTC))
    shop.next_subscription_id += 1
    shop.subscriptions[sub.id] = sub
    return {"webhookSubscription": _subscription_node(sub), "userErrors": []}


def _unsubscribe(shop: Shop, value: str) -> dict[str, Any]:
    sub_id = int(value.rsplit("/", 1)[-1]) if value.rsplit("/", 1)[-1].isdigit() else -1
    if shop.subscriptions.pop(sub_id, None) is None:
        return {
            "deletedWebhookSubscriptionId": None,
            "userErrors": [{"field": ["id"], "message": "Webhook subscription does not exist"}],
        }
    return {"deletedWebhookSubscriptionId": value, "userErrors": []}
