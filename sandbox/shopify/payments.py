"""An order's payment transactions in GraphQL: a card sale when it is paid, an authorization
and its void when it was cancelled, and the refund (REST's refund transaction id) when part
of it was given back; amounts from the generated order, card details from its number."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sandbox import generator
from sandbox.shopify import shapes as s
from sandbox.shopify.fields import Builders
from sandbox.state import STORE_STRIDE, Record
from sandbox.world import Shop

TRANSACTION_BASE = 611_840_231_000_000_000
ZERO = Decimal("0.00")
CARDS = (
    ("Visa", "visa", "424242"),
    ("Mastercard", "master", "555555"),
    ("American Express", "american_express", "378282"),
)


def transactions(shop: Shop, rec: Record, build: Builders) -> list[dict[str, Any]]:
    o, store = rec.data, shop.store
    made = s.gql_time(rec.created_at)
    out: list[dict[str, Any]] = []
    if o["cancelled"]:
        auth = _transaction(shop, rec, 0, "AUTHORIZATION", o["total"], made)
        out += [auth, _transaction(shop, rec, 1, "VOID", ZERO, s.gql_time(rec.updated_at), auth)]
    elif o["paid"]:
        sale = _transaction(shop, rec, 0, "SALE", o["total"], made)
        out.append(sale)
        if o["refunded"]:
            refund_id = s.child_id(store, "refund", rec.index, 0, 1) + 1  # as REST's refund transaction
            refund = _transaction(
                shop, rec, 2, "REFUND", o["refund_amount"], s.gql_time(rec.updated_at), sale
            )
            out.append({**refund, "id": s.gid("OrderTransaction", refund_id)})
    for t in out:
        t["order"] = lambda _info: build.order(shop, rec)
    return out


def _transaction(
    shop: Shop,
    rec: Record,
    n: int,
    kind: str,
    amount: Decimal,
    at: str | None,
    parent: dict[str, Any] | None = None,
) -> dict[str, Any]:
    o, cur = rec.data, rec.data["currency"]
    company, method, bin_ = CARDS[rec.index % len(CARDS)]
    last4 = f"{(rec.index * 7919) % 10000:04d}"
    buyer = generator.buyer(shop.store.dataset, o)
    tid = TRANSACTION_BASE + shop.store.number * STORE_STRIDE + rec.index * 4 + n
    refundable = amount - o["refund_amount"] if kind == "SALE" else ZERO
    return {
        "id": s.gid("OrderTransaction", tid),
        "accountNumber": f"•••• •••• •••• {last4}",
        "amount": s.money(amount),  # deprecated, still served (airbyte-source-shopify selects it)
        "amountSet": s.gql_bag(amount, cur),
        "amountRoundingSet": None,
        "authorizationCode": f"{tid % 1000000:06d}",
        "authorizationExpiresAt": None,
        "createdAt": at,
        "processedAt": at,
        "errorCode": None,
        "formattedGateway": "Shopify Payments",
        "gateway": "shopify_payments",
        "kind": kind,
        "manualPaymentGateway": False,
        "maximumRefundableV2": s.gql_money(refundable, cur),
        "multiCapturable": False,
        "manuallyCapturable": False,
        "parentTransaction": parent,
        "paymentId": f"r{tid:x}",
        "receiptJson": "{}",
        "settlementCurrency": None,
        "settlementCurrencyRate": None,
        "shopifyPaymentsSet": None,
        "status": "SUCCESS",
        "test": False,
        "totalUnsettledSet": s.gql_bag(ZERO, cur),
        "fees": [],
        "paymentDetails": {
            "__typename": "CardPaymentDetails",
            "avsResultCode": "Y",
            "bin": bin_,
            "company": company,
            "cvvResultCode": "M",
            "expirationMonth": 1 + rec.index % 12,
            "expirationYear": 2027 + rec.index % 4,
            "name": f"{buyer['first_name']} {buyer['last_name']}",
            "number": f"•••• •••• •••• {last4}",
            "paymentMethodName": method,
            "wallet": None,
        },
    }
