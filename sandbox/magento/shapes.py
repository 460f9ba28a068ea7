"""Magento 2 customers and products as `V1/customers/search` and `V1/products` answer them:
customers with their addresses and `extension_attributes.is_subscribed`; products with
type_id, visibility, status and `extension_attributes.stock_item`, a configurable parent
linking its simple children (`configurable_product_links`), which are products of their own."""

from __future__ import annotations

from typing import Any

from sandbox.generator import LOCATIONS, Dataset
from sandbox.magento.values import STORE_VIEWS, money, stamp, store_view_of
from sandbox.state import Record, SandboxStore

CHILD_BASE = 10_000_000  # configurable children's entity ids: CHILD_BASE + 4 * product index + variant
VISIBLE, NOT_VISIBLE = 4, 1  # catalog and search; not visible individually
ENABLED, DISABLED = 1, 2
REGION_IDS = {("US", "KY"): 28, ("US", "CA"): 12, ("US", "NY"): 43, ("CA", "ON"): 74}


def store_view(ds: Dataset, kind: str, index: int) -> Any:
    return store_view_of(ds.rng(kind + ":store", index).random())


def region(data: dict[str, Any]) -> dict[str, Any]:
    region_id = REGION_IDS.get((data["country"], data["province_code"]), 0)
    return {"region_code": data["province_code"], "region": data["province"], "region_id": region_id}


def customer_json(store: SandboxStore, rec: Record) -> dict[str, Any]:
    c = rec.data
    view = store_view(store.dataset, "customers", rec.index)
    address_id = rec.id  # one address per customer, in the address table's own sequence
    address: dict[str, Any] = {
        "id": address_id,
        "customer_id": rec.id,
        "region": region(c),
        "region_id": region(c)["region_id"],
        "country_id": c["country"],
        "street": [c["address1"]],
        "postcode": c["zip"],
        "city": c["city"],
        "firstname": c["first_name"],
        "lastname": c["last_name"],
        "default_shipping": True,
        "default_billing": True,
    }
    if c["phone"]:
        address["telephone"] = c["phone"]
    return {
        "id": rec.id,
        "group_id": 2 if "wholesale" in c["tags"] else 1,
        "default_billing": str(address_id),
        "default_shipping": str(address_id),
        "created_at": stamp(rec.created_at),
        "updated_at": stamp(rec.updated_at),
        "created_in": view.name,
        "email": c["email"],
        "firstname": c["first_name"],
        "lastname": c["last_name"],
        "store_id": view.id,
        "website_id": view.website_id,
        "addresses": [address],
        "disable_auto_group_change": 0,
        "extension_attributes": {
            "is_subscribed": c["email_consent"] == "subscribed",
        },
    }


def child_id(product_index: int, variant: int) -> int:
    return CHILD_BASE + 4 * product_index + variant


def type_of(data: dict[str, Any]) -> str:
    """simple (one variant), else bundle (one product in five: its variants are its selections)
    or configurable (its variants are its children)."""
    if len(data["variants"]) == 1:
        return "simple"
    return "bundle" if data["index"] % 5 == 4 else "configurable"


def is_configurable(data: dict[str, Any]) -> bool:
    return type_of(data) == "configurable"


def has_children(data: dict[str, Any]) -> bool:
    """Configurables and bundles are parents of simple products listed as rows of their own."""
    return type_of(data) != "simple"


def _stock(product_id: int, qty: int, in_stock: bool) -> dict[str, Any]:
    return {
        "item_id": product_id,
        "product_id": product_id,
        "stock_id": 1,
        "qty": qty,
        "is_in_stock": in_stock,
        "is_qty_decimal": False,
        "manage_stock": True,
        "min_qty": 0,
        "min_sale_qty": 1,
        "max_sale_qty": 10000,
        "low_stock_date": None,
        "backorders": 0,
    }


def _base(rec: Record, product_id: int, sku: str, name: str) -> dict[str, Any]:
    p = rec.data
    return {
        "id": product_id,
        "sku": sku,
        "name": name,
        "attribute_set_id": 4,
        "status": ENABLED if p["status"] == "active" else DISABLED,
        "created_at": stamp(rec.created_at),
        "updated_at": stamp(rec.updated_at),
        "weight": 1,
        "product_links": [],
        "options": [],
        "media_gallery_entries": [],
        "tier_prices": [],
    }


def product_json(store: SandboxStore, rec: Record) -> dict[str, Any]:
    p = rec.data
    kind = type_of(p)
    parent = kind != "simple"
    sku = f"SKU-{rec.index + 1}" if parent else p["variants"][0]["sku"]
    body = _base(rec, rec.id, sku, p["title"])
    units = [sum(v["inventory"]) for v in p["variants"]]
    body |= {
        "price": 0 if parent else money(p["variants"][0]["price"]),
        "visibility": VISIBLE if p["status"] != "archived" else NOT_VISIBLE,
        "type_id": kind,
        "extension_attributes": {
            "website_ids": [v.website_id for v in STORE_VIEWS],
            "category_links": [],
            "stock_item": _stock(rec.id, 0 if parent else units[0], any(units)),
        },
        "custom_attributes": [
            {"attribute_code": "url_key", "value": p["handle"]},
            {"attribute_code": "manufacturer", "value": p["vendor"]},
            {"attribute_code": "product_type", "value": p["product_type"]},
            {"attribute_code": "tags", "value": p["tags"]},
        ],
    }
    if kind == "bundle":
        body["extension_attributes"]["bundle_product_options"] = [_bundle_option(rec, sku)]
    if kind == "configurable":
        body["extension_attributes"] |= {
            "configurable_product_options": [
                {
                    "id": rec.id,
                    "attribute_id": "93",
                    "label": "Size",
                    "position": 0,
                    "values": [{"value_index": 160 + v["index"]} for v in p["variants"]],
                    "product_id": rec.id,
                }
            ],
            "configurable_product_links": [child_id(rec.index, v["index"]) for v in p["variants"]],
        }
    return body


def _bundle_option(rec: Record, sku: str) -> dict[str, Any]:
    """A dynamic-price bundle's one required option: pick one of its simple selections."""
    return {
        "option_id": rec.id,
        "title": "Size",
        "required": True,
        "type": "select",
        "position": 1,
        "sku": sku,
        "product_links": [
            {
                "id": str(child_id(rec.index, v["index"])),
                "sku": v["sku"],
                "option_id": rec.id,
                "qty": 1,
                "position": v["index"],
                "is_default": v["index"] == 0,
                "price": money(v["price"]),
                "price_type": None,
                "can_change_quantity": 0,
            }
            for v in rec.data["variants"]
        ],
    }


def child_json(rec: Record, variant: dict[str, Any]) -> dict[str, Any]:
    """A configurable's child or a bundle's selection: a simple product, stocked per source
    (a configurable's is not visible on its own; a bundle's selection is sold by itself too)."""
    p = rec.data
    cid = child_id(rec.index, variant["index"])
    units = sum(variant["inventory"])
    body = _base(rec, cid, variant["sku"], f"{p['title']}-{variant['title']}")
    return body | {
        "price": money(variant["price"]),
        "visibility": NOT_VISIBLE if is_configurable(p) else VISIBLE,
        "type_id": "simple",
        "extension_attributes": {
            "website_ids": [v.website_id for v in STORE_VIEWS],
            "category_links": [],
            "stock_item": _stock(cid, units, units > 0),
        },
        "custom_attributes": [
            {"attribute_code": "url_key", "value": f"{p['handle']}-{variant['title'].lower()}"},
            {"attribute_code": "size", "value": str(160 + variant["index"])},
        ],
    }


def source_items(rec: Record) -> list[dict[str, Any]]:
    """MSI `V1/inventory/source-items` rows of a product's simple SKUs, one per source."""
    p = rec.data
    return [
        {
            "sku": variant["sku"],
            "source_code": name.lower().replace(" ", "_"),
            "quantity": variant["inventory"][k],
            "status": 1 if variant["inventory"][k] > 0 else 0,
        }
        for variant in p["variants"]
        for k, (name, _country, _region) in enumerate(LOCATIONS)
    ]
