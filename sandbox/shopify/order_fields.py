"""The standard GraphQL fields of an order and its children (line items, fulfillments,
refunds, transactions, shipping lines, discount applications) that schema_standard.graphql
declares, from the same generated order as the node's own fields and its REST twin
(shapes.order_rest: same ids, amounts and codes)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sandbox import generator
from sandbox.shopify import fields, journey, payments
from sandbox.shopify import shapes as s
from sandbox.shopify.connection import nested
from sandbox.state import Record, SandboxStore
from sandbox.world import Shop

ZERO = Decimal("0.00")
GRAMS_PER_ITEM = 250  # as the REST line item's `grams`
CODE = "WELCOME10"  # the code REST's discount_codes carries


def _quantity(o: dict[str, Any]) -> int:
    return sum(int(ln["quantity"]) for ln in o["lines"])


def order_more(shop: Shop, rec: Record, node: dict[str, Any], build: fields.Builders) -> dict[str, Any]:
    o, store, cur = rec.data, shop.store, rec.data["currency"]

    def bag(value: Decimal) -> dict[str, Any]:
        return s.gql_bag(value, cur)

    paid, cancelled, qty = o["paid"], o["cancelled"], _quantity(o)
    weight = str(GRAMS_PER_ITEM * qty)
    transactions = order_transactions(shop, rec, build)
    shipping = shipping_line(store, rec)
    discounts = [discount_application(o)] if o["discount"] else []
    return {
        "refunds": lambda _info, first=None: [
            refund_more(shop, rec, r, build) for r in node["refunds"](None)
        ],
        "shippingAddress": fields.address(node["shippingAddress"]),
        "billingAddress": fields.address(node["billingAddress"]),
        **_money_fields(o, bag),
        "additionalFees": [],
        "app": _app(node),
        "billingAddressMatchesShippingAddress": True,
        "canMarkAsPaid": not paid and not cancelled,
        "canNotifyCustomer": bool(node["email"]),
        "cancelReason": "CUSTOMER" if cancelled else None,
        "cancellation": {"staffNote": None} if cancelled else None,
        "capturable": False,
        "clientIp": None,
        "closed": False,
        "confirmationNumber": f"C{rec.index:08d}",
        "confirmed": True,
        "currentSubtotalLineItemsQuantity": qty,
        "currentTotalWeight": weight,
        "totalWeight": weight,
        "customAttributes": [],
        "merchantOfRecordApp": None,
        "customerLocale": "en",
        "discountCodes": [CODE] if o["discount"] else [],
        "discountCode": CODE if o["discount"] else None,
        "disputes": [],
        "dutiesIncluded": False,
        "edited": False,
        "estimatedTaxes": False,
        "fulfillable": not cancelled and s.fulfillment_status(o) != "fulfilled",
        "fullyPaid": paid,
        "unpaid": not paid and not cancelled,
        "hasTimelineComment": False,
        "fulfillmentsCount": {"count": len(o["fulfillments"]), "precision": "EXACT"},
        "transactionsCount": {"count": len(transactions), "precision": "EXACT"},
        "merchantBusinessEntity": _business(shop),
        "number": o["number"] - 1000,
        "paymentGatewayNames": ["shopify_payments"],
        "poNumber": None,
        "presentmentCurrencyCode": cur,
        "refundable": paid and not cancelled,
        "registeredSourceUrl": None,
        "requiresShipping": True,
        "restockable": not cancelled,
        "returnStatus": "NO_RETURN",
        "shopifyProtect": None,
        "sourceIdentifier": None,
        "statusPageUrl": f"https://{store.name}/orders/{rec.id:x}/authenticate",
        "subtotalLineItemsQuantity": qty,
        "taxExempt": False,
        "taxesIncluded": False,
        "taxLines": [tax_line(o["tax"], cur)] if o["tax"] else [],
        "shippingLine": shipping,
        "shippingLines": nested(lambda: [shipping]),
        "retailLocation": retail_location(store) if o["channel"][0] == "pos" else None,
        "discountApplications": nested(lambda: discounts),
        "transactions": lambda _info, first=None: transactions,
        **journey.journey_fields(node),
    }


def _money_fields(o: dict[str, Any], bag: Any) -> dict[str, Any]:
    refunded, total = o["refund_amount"], o["total"]
    received = total if o["paid"] else ZERO
    return {
        "cartDiscountAmountSet": bag(o["discount"]) if o["discount"] else None,
        "currentCartDiscountAmountSet": bag(o["discount"]),
        "currentShippingPriceSet": bag(o["shipping"]),
        "currentSubtotalPriceSet": bag(o["subtotal"] - o["discount"]),
        "currentTotalAdditionalFeesSet": None,
        "currentTotalDiscountsSet": bag(o["discount"]),
        "currentTotalDutiesSet": None,
        "currentTotalTaxSet": bag(o["tax"]),
        "netPaymentSet": bag(received - refunded),
        "originalTotalAdditionalFeesSet": None,
        "originalTotalDutiesSet": None,
        "originalTotalPriceSet": bag(total),
        "refundDiscrepancySet": bag(ZERO),
        "totalCapturableSet": bag(ZERO),
        "totalCashRoundingAdjustment": {"paymentSet": bag(ZERO), "refundSet": bag(ZERO)},
        "totalOutstandingSet": bag(ZERO if o["paid"] or o["cancelled"] else total),
        "totalReceivedSet": bag(received),
        "totalRefundedShippingSet": bag(ZERO),
        "totalTipReceivedSet": bag(ZERO),
    }


def _app(node: dict[str, Any]) -> dict[str, Any]:
    return fields.app_fields(node["channelInformation"]["app"])


def _business(shop: Shop) -> dict[str, Any]:
    name = shop.domain.split(".")[0]
    return {
        "id": s.gid("BusinessEntity", 1 + shop.store.number),
        "address": {
            "address1": "1 Main Street",
            "address2": None,
            "city": "Louisville",
            "countryCode": "US",
            "province": "Kentucky",
            "zip": "40202",
        },
        "companyName": None,
        "displayName": name.replace("-", " ").title(),
        "primary": True,
    }


def tax_line(amount: Decimal, currency: str, rate: float = 0.08) -> dict[str, Any]:
    return {
        "title": "Sales Tax",
        "rate": rate,
        "ratePercentage": rate * 100,
        "priceSet": s.gql_bag(amount, currency),
        "source": "Shopify",
        "channelLiable": False,
    }


def discount_application(o: dict[str, Any]) -> dict[str, Any]:
    """The order's one discount: the WELCOME10 code, 10% across the line items."""
    return {
        "__typename": "DiscountCodeApplication",
        "code": CODE,
        "allocationMethod": "ACROSS",
        "index": 0,
        "targetSelection": "ALL",
        "targetType": "LINE_ITEM",
        "value": {"__typename": "PricingPercentageValue", "percentage": 10.0},
    }


def shipping_line(store: SandboxStore, rec: Record) -> dict[str, Any]:
    o, cur = rec.data, rec.data["currency"]
    price = s.gql_bag(o["shipping"], cur)
    return {
        "id": s.gid("ShippingLine", s.child_id(store, "line", rec.index, 7)),  # REST's shipping line id
        "carrierIdentifier": None,
        "code": "Standard",
        "title": "Standard",
        "source": "shopify",
        "currentDiscountedPriceSet": price,
        "discountedPriceSet": price,
        "originalPriceSet": price,
        "custom": False,
        "deliveryCategory": None,
        "discountAllocations": [],
        "isRemoved": False,
        "phone": None,
        "shippingRateHandle": None,
        "taxLines": [],
    }


def retail_location(store: SandboxStore) -> dict[str, Any]:
    base = s.location(store, 0)
    _name, country, province = generator.LOCATIONS[0]
    address = {
        "address1": None,
        "address2": None,
        "city": None,
        "country": s.COUNTRY_NAMES.get(country, country),
        "countryCode": country,
        "formatted": [p for p in (province, s.COUNTRY_NAMES.get(country, country)) if p],
        "latitude": None,
        "longitude": None,
        "phone": None,
        "province": province,
        "provinceCode": province,
        "zip": None,
    }
    anchor = s.gql_time(store.dataset.anchor - store.dataset.span)
    return {
        **base,
        "address": address,
        "activatable": False,
        "addressVerified": False,
        "createdAt": anchor,
        "updatedAt": anchor,
        "deactivatable": False,
        "deactivatedAt": None,
        "deletable": False,
        "fulfillmentService": None,
        "fulfillsOnlineOrders": True,
        "hasActiveInventory": True,
        "hasUnfulfilledOrders": False,
        "isActive": True,
        "isFulfillmentService": False,
        "legacyResourceId": base["id"].rsplit("/", 1)[-1],
        "localPickupSettingsV2": None,
        "shipsInventory": True,
        "suggestedAddresses": [],
    }


def refund_more(shop: Shop, rec: Record, refund: dict[str, Any], build: fields.Builders) -> dict[str, Any]:
    return {
        **refund,
        "legacyResourceId": refund["id"].rsplit("/", 1)[-1],
        "order": lambda _info: build.order(shop, rec),
        "updatedAt": refund["createdAt"],
        "orderAdjustments": nested(lambda: []),
        "refundLineItems": nested(lambda: []),
    }


def order_transactions(shop: Shop, rec: Record, build: fields.Builders) -> list[dict[str, Any]]:
    return payments.transactions(shop, rec, build)


def line_item_more(
    shop: Shop, rec: Record, ln: dict[str, Any], node: dict[str, Any], build: fields.Builders
) -> dict[str, Any]:
    o, cur = rec.data, rec.data["currency"]
    total = ln["price"] * ln["quantity"]
    share = (total * Decimal("0.10")).quantize(Decimal("0.01")) if o["discount"] else ZERO
    shipped = any(ln["index"] in f["lines"] for f in o["fulfillments"])
    allocations = (
        [{"allocatedAmountSet": s.gql_bag(share, cur), "discountApplication": discount_application(o)}]
        if o["discount"]
        else []
    )
    product = shop.store.get("products", ln["product"])
    variant = product.data["variants"][ln["variant"]]
    return {
        "product": lambda _info: build.product(shop, product),
        "variant": lambda _info: build.variant(shop, product, variant),
        "requiresShipping": True,
        "originalTotalSet": s.gql_bag(total, cur),
        "taxLines": lambda _info, first=None: [],
        "taxable": True,
        "isGiftCard": False,
        "discountAllocations": allocations,
        "customAttributes": [],
        "totalDiscountSet": s.gql_bag(share, cur),
        "duties": [],
        "discountedUnitPriceSet": s.gql_bag(ln["price"], cur),
        "unfulfilledDiscountedTotalSet": s.gql_bag(ZERO if shipped else total, cur),
        "unfulfilledOriginalTotalSet": s.gql_bag(ZERO if shipped else total, cur),
        "lineItemGroup": None,
    }


def fulfillment_more(shop: Shop, rec: Record, f: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    quantity = sum(int(ln["quantity"]) for ln in rec.data["lines"] if ln["index"] in f["lines"])
    return {
        "totalQuantity": quantity,
        "estimatedDeliveryAt": None,
        "requiresShipping": True,
        "service": {
            "id": s.gid("FulfillmentService", 1 + shop.store.number),
            "serviceName": "Manual",
            "handle": "manual",
            "trackingSupport": False,
            "type": "MANUAL",
            "permitsSkuSharing": True,
            "inventoryManagement": False,
        },
        "location": retail_location(shop.store),
    }
