"""Product's remaining standard fields (schema_products.graphql): storefront URLs, SEO, the
variants' price range, the deprecated image fields beside media, counts of variants and media.
Each is derived from the product's own record and its one generated image, so the same seed
gives the same bytes; a product that is not published has no storefront URL, as on Shopify.
"""

from __future__ import annotations

from typing import Any

from sandbox.shopify import shapes as s
from sandbox.shopify.connection import nested
from sandbox.state import Record
from sandbox.world import Shop


def product_extra(shop: Shop, rec: Record, node: dict[str, Any], image: dict[str, Any]) -> dict[str, Any]:
    p, cur = rec.data, shop.store.dataset.currency
    prices = [v["price"] for v in p["variants"]]
    page = f"https://{shop.domain}/products/{p['handle']}"
    published = node.get("status") == "ACTIVE" and node.get("publishedAt") is not None
    return {
        "bodyHtml": node.get("descriptionHtml"),
        "onlineStoreUrl": page if published else None,
        "onlineStorePreviewUrl": page,
        "priceRangeV2": {
            "maxVariantPrice": s.gql_money(max(prices), cur),
            "minVariantPrice": s.gql_money(min(prices), cur),
        },
        "seo": {"title": None, "description": None},  # no override: the storefront uses title and description
        "featuredImage": image["image"],
        "feedback": None,  # no app has left feedback on the product
        "variantsCount": {"count": len(p["variants"]), "precision": "EXACT"},
        "mediaCount": {"count": 1, "precision": "EXACT"},
        "images": nested(lambda: [image["image"]]),
    }


def preview(image: dict[str, Any]) -> dict[str, Any]:
    """A media item's preview: its image once processed."""
    return {"status": image["status"], "image": image["image"]}
