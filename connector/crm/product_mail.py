"""A new-product e-mail as a shopper reads it: the product's picture, name, price with its
currency and a link to its page, the store's name and the one-click unsubscribe, as HTML
beside the plain-text part. Everything here comes from the platform and is untrusted: text
is escaped, and a picture or link is used only when it is an absolute http(s) URL.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlsplit

from babel.numbers import format_currency
from markupsafe import Markup, escape
from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from connector.db.models import Product, ProductVariant, Store

LOCALE = "en_US"  # when the store has not said its own (connector.accounts.profiles)


@dataclass(frozen=True)
class ProductCard:
    title: str
    store: str
    price: Decimal | None = None
    currency: str | None = None
    image: str | None = None
    link: str | None = None
    locale: str = LOCALE  # the store's, for the price

    @property
    def price_text(self) -> str:
        if self.price is None:
            return ""
        if self.currency and len(self.currency) == 3 and self.currency.isalpha():
            try:
                return format_currency(self.price, self.currency.upper(), locale=self.locale)
            except (ValueError, LookupError):
                pass
        return f"{self.price:.2f} {self.currency or ''}".strip()


def web_url(url: object) -> str | None:
    """The URL when it is an absolute http(s) one with a host and no control characters."""
    if not isinstance(url, str) or any(ord(ch) < 33 or ord(ch) == 127 for ch in url):
        return None
    parts = urlsplit(url)
    return url if parts.scheme.lower() in ("http", "https") and parts.hostname else None


def card_of(conn: Connection, store_id: int, product_platform_id: int | None) -> ProductCard | None:
    """The product as the e-mail shows it, from what the connector holds (None: not held)."""
    found = conn.execute(
        select(
            Product.title,
            Product.handle,
            Product.raw,
            Store.domain,
            Store.platform,
            Store.currency,
            Store.name,
            Store.locale,
        )
        .join(Store, Store.id == Product.store_id)
        .where(Product.store_id == store_id, Product.platform_id == product_platform_id)
    ).first()
    if found is None:
        return None
    title, handle, raw, domain, platform, currency, name, locale = found
    price = conn.scalar(
        select(func.min(ProductVariant.price)).where(
            ProductVariant.store_id == store_id,
            ProductVariant.product_platform_id == product_platform_id,
            ProductVariant.deleted_at.is_(None),
        )
    )
    raw = raw or {}
    return ProductCard(
        title=title or "A new product",
        store=name or _store_name(domain),
        price=price if price is not None else _decimal(raw.get("price")),
        currency=currency,
        image=web_url(_image(raw)),
        link=web_url(_link(raw, platform, domain, handle)),
        locale=locale or LOCALE,
    )


def _decimal(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value)) if value not in (None, "") else None
    except ArithmeticError:
        return None


def _store_name(domain: str) -> str:
    return urlsplit(domain).hostname or domain if "://" in domain else domain


def _image(raw: dict[str, Any]) -> Any:
    """The first picture in the shapes the platforms send (REST image/images, GraphQL
    featuredImage/featuredMedia, WooCommerce images)."""
    for key in ("image", "featuredImage"):
        found = raw.get(key)
        if isinstance(found, dict) and (found.get("src") or found.get("url")):
            return found.get("src") or found.get("url")
    images = raw.get("images")
    if isinstance(images, list) and images and isinstance(images[0], dict):
        return images[0].get("src") or images[0].get("url")
    media = raw.get("featuredMedia")
    if isinstance(media, dict):
        return ((media.get("preview") or {}).get("image") or {}).get("url")
    return None


def _link(raw: dict[str, Any], platform: str, domain: str, handle: str | None) -> Any:
    for key in ("permalink", "onlineStoreUrl"):
        if raw.get(key):
            return raw[key]
    if platform == "shopify" and handle:
        return f"https://{domain}/products/{quote(handle, safe='')}"
    return None


def plain_text(card: ProductCard, body: str, unsubscribe: str | None) -> str:
    lines = [body, ""]
    if card.price is not None:
        lines.append(f"Price: {card.price_text}")
    if card.link:
        lines.append(f"See it: {card.link}")
    if unsubscribe:
        lines += ["", f"Stop these e-mails: {unsubscribe}"]
    return "\n".join(lines).strip() + "\n"


PAGE = Markup(
    '<!doctype html><html><head><meta charset="utf-8"><title>{title}</title></head>'
    '<body style="margin:0;padding:16px;font-family:system-ui,sans-serif;color:#1d2430">'
    '<div style="max-width:520px;margin:0 auto"><p style="color:#667085">{store}</p>{picture}'
    '<h1 style="font-size:20px">{name}</h1>{price}<p>{body}</p>{button}{stop}</div></body></html>'
)
PICTURE = Markup('<img src="{}" alt="{}" width="480" style="max-width:100%;height:auto;border:0">')
NAME = Markup('<a href="{}" style="color:#14213d">{}</a>')
PRICE = Markup('<p style="font-size:18px;margin:4px 0">{}</p>')
BUTTON = Markup(
    '<p><a href="{}" style="display:inline-block;padding:10px 18px;background:#2f6fed;color:#fff;'
    'text-decoration:none;border-radius:4px">See it at {}</a></p>'
)
STOP = Markup(
    '<p style="color:#667085;font-size:12px">You get this because you asked {} for news. '
    '<a href="{}" style="color:#667085">Stop these e-mails</a> (one click).</p>'
)
NOTHING = Markup("")


def html(card: ProductCard, body: str, unsubscribe: str | None) -> str:
    """The HTML part: inline styles only (mail clients drop style sheets); every value is
    escaped by Markup.format."""
    return str(
        PAGE.format(
            title=card.title,
            store=card.store,
            picture=PICTURE.format(card.image, card.title) if card.image else NOTHING,
            name=NAME.format(card.link, card.title) if card.link else escape(card.title),
            price=PRICE.format(card.price_text) if card.price_text else NOTHING,
            body=body,
            button=BUTTON.format(card.link, card.store) if card.link else NOTHING,
            stop=STOP.format(card.store, unsubscribe) if unsubscribe else NOTHING,
        )
    )
