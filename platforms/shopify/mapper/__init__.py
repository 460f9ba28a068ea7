"""Shopify payloads → CRM rows: the webhooks' REST bodies (`rest`) and the sync's GraphQL
nodes (`graphql`), both pure and ending in `platforms.storable`. The rest of the code
imports them from here; `GRAPHQL_MAPPERS` is what the reader maps each entity's nodes with.
"""

from platforms.shopify.mapper.graphql import (
    FINANCIAL,
    FULFILMENT,
    GRAPHQL_MAPPERS,
    checkout_from_graphql,
    customer_from_graphql,
    order_from_graphql,
    product_from_graphql,
)
from platforms.shopify.mapper.rest import (
    checkout_rows,
    consent_rows,
    customer_rows,
    deletion,
    fulfillment_rows,
    line_item_row,
    order_rows,
    product_rows,
    refund_amount,
    refund_row,
    refund_rows,
)

__all__ = [
    "FINANCIAL",
    "FULFILMENT",
    "GRAPHQL_MAPPERS",
    "checkout_from_graphql",
    "checkout_rows",
    "consent_rows",
    "customer_from_graphql",
    "customer_rows",
    "deletion",
    "fulfillment_rows",
    "line_item_row",
    "order_from_graphql",
    "order_rows",
    "product_from_graphql",
    "product_rows",
    "refund_amount",
    "refund_row",
    "refund_rows",
]
