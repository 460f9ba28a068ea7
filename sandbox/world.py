"""The sandbox's world: every simulated shop and site, their credentials, faults and clock.

Built once from a seed and sizes; the HTTP blueprints and the control API read and
change it under each store's lock. Nothing here talks to the network except the
webhook dispatcher.
"""

from __future__ import annotations

import random
import re
import secrets
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from sandbox.deliveries import Dispatcher, Faults
from sandbox.generator import Dataset, Sizes, anchor_now
from sandbox.hubspot.portal import Portal
from sandbox.render_cache import RenderCache
from sandbox.salesforce.org import SalesforceOrg
from sandbox.state import SandboxStore
from sandbox.zoho.org import ZohoOrg

PLANS = {  # GraphQL cost bucket: restore rate (points/s) per platform-facts; bucket size is UNVERIFIED
    "basic": {"restore": 100.0, "maximum": 1000.0},  # stricter choice: the older documented 1000
    "advanced": {"restore": 200.0, "maximum": 2000.0},
    "plus": {"restore": 1000.0, "maximum": 10000.0},
}


@dataclass
class WooKey:
    key_id: int
    consumer_key: str
    consumer_secret: str
    permissions: str  # read | write | read_write
    user_id: str


@dataclass
class WooWebhook:
    id: int
    name: str
    topic: str
    delivery_url: str
    secret: str
    status: str
    created_at: datetime
    updated_at: datetime
    failure_count: int = 0
    source: str = ""  # the site's home URL as the creating request addressed it (X-WC-Webhook-Source)


@dataclass
class WooSite:
    store: SandboxStore
    keys: dict[str, WooKey] = field(default_factory=dict)
    webhooks: dict[int, WooWebhook] = field(default_factory=dict)
    nonces: dict[tuple[str, str], float] = field(default_factory=dict)
    ssl: bool = False  # True: behave as behind TLS even over plain http (tests); https always is
    host: str | None = None  # the site's own host name (`--woo-host`): it answers at its root too
    next_key_id: int = 1
    next_webhook_id: int = 1

    def issue_key(self, permissions: str, user_id: str) -> WooKey:
        key = WooKey(
            self.next_key_id,
            "ck_" + secrets.token_hex(20),
            "cs_" + secrets.token_hex(20),
            permissions,
            user_id,
        )
        self.next_key_id += 1
        self.keys[key.consumer_key] = key
        return key


@dataclass
class MagentoStore:
    """A Magento 2 install: an integration's access token (Bearer) and an admin user whose
    username and password `POST /rest/V1/integration/admin/token` exchanges for a token."""

    store: SandboxStore
    tokens: set[str] = field(default_factory=set)  # integration access tokens
    admin_username: str = "admin"
    admin_password: str = ""
    admin_tokens: set[str] = field(default_factory=set)
    input_limit: bool = False  # Web API input limits (default page size 20, maximum 300): off by default
    past_end: str = "last"  # a currentPage past the end: "last" page again (2.3) or "empty" (2.4)
    consumers: dict[str, dict[str, Any]] = field(default_factory=dict)  # activated integrations (OAuth 1.0a)
    nonces: set[tuple[str, str]] = field(default_factory=set)  # (consumer key, nonce) seen
    hooks: list[dict[str, Any]] = field(default_factory=list)  # Adobe Commerce webhooks subscribed
    webhook_key: Any = None  # its RSA key pair (Adobe Services → Webhooks), made when first asked

    def webhook_public_pem(self) -> str:
        """The public key the admin shows (the pair made on first use: "Regenerate key pair")."""
        if self.webhook_key is None:
            self.webhook_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = self.webhook_key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
        return str(pem.decode())


@dataclass
class ShopifySubscription:
    id: int
    topic: str  # REST form, e.g. orders/create
    uri: str
    created_at: datetime
    consecutive_failures: int = 0


@dataclass
class Shop:
    store: SandboxStore
    domain: str
    plan: str
    tokens: dict[str, dict[str, Any]] = field(default_factory=dict)  # access token → grant
    refresh_tokens: dict[str, str] = field(default_factory=dict)  # refresh token → access token
    codes: dict[str, float] = field(default_factory=dict)  # OAuth code → issued at (single use)
    code_grants: dict[str, dict[str, Any]] = field(default_factory=dict)  # OAuth code → what it grants
    subscriptions: dict[int, ShopifySubscription] = field(default_factory=dict)
    bucket_available: float = 0.0
    bucket_at: float = 0.0
    bulk: dict[str, Any] | None = None
    bulk_ops: dict[int, dict[str, Any]] = field(default_factory=dict)
    installed: bool = True
    next_subscription_id: int = 1
    max_cost_seen: float = 0.0  # the largest query cost ever charged (throttle evidence for tests)
    throttled: int = 0


class World:
    def __init__(
        self,
        *,
        seed: int,
        sizes: Sizes,
        shops: int = 1,
        woo_sites: int = 1,
        plan: str = "basic",
        anchor: datetime | None = None,
        throttle: bool = True,
        woo_hosts: list[str] | None = None,
        shop_domains: list[str] | None = None,
        magento_stores: int = 0,
        zoho_dc: str = "us",
        render_cache: Path | None = None,
    ) -> None:
        self.seed = seed
        self.render_cache = (
            RenderCache(render_cache) if render_cache is not None else None
        )  # None: render live
        self.throttle = throttle  # False: GraphQL costs are reported but never refused (benchmarks)
        self.anchor = anchor or anchor_now()
        self.api_key = "sandbox-app-" + secrets.token_hex(8)
        self.api_secret = secrets.token_hex(16)
        self.faults = Faults()
        self.fault_lock = threading.Lock()
        self.fault_random = random.Random(seed)
        self.injected_429 = 0
        self.injected_5xx = 0
        self.dispatcher = Dispatcher(self.faults, seed)
        self.base_url = "http://127.0.0.1"
        self.run_id = secrets.token_hex(4)
        self.requests_seen = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.site_in_flight: Counter[str] = Counter()  # WooCommerce requests in flight, per site
        self.site_max_in_flight: Counter[str] = Counter()
        self.retry_scale = 1.0  # compress Shopify's 4-hour retry schedule (tests use ~0.0001)
        self.compliance_uri: str | None = None  # the app's compliance webhook address (TOML)
        self.app_subscriptions: list[tuple[str, str]] = []  # app-level (TOML) topic → uri, never deleted
        self.insecure_loopback_callbacks = True  # see insecure_loopback_callbacks_allow
        self.tls: dict[str, str] | None = None  # --tls: the CA's file and PEM (see sandbox/tls.py)
        self.shops: dict[str, Shop] = {}
        self.woo: dict[str, WooSite] = {}
        self.proxy_url: str | None = None  # the CONNECT proxy's address (see sandbox/proxy.py)
        number = 0
        domains = checked_shop_domains(shop_domains or [], shops)
        for n in range(shops):
            domain = domains[n] if n < len(domains) else f"sandbox-shop-{n + 1}.myshopify.com"
            ds = Dataset(seed, domain, "shopify", sizes, self.anchor, person_offset=n * sizes.customers)
            shop = Shop(SandboxStore(number, "shopify", domain, ds), domain, plan)
            shop.bucket_available = PLANS[plan]["maximum"]
            shop.tokens["shpat_" + secrets.token_hex(16)] = {
                "scope": "read_customers,read_orders,read_all_orders,read_products",
                "expires_at": None,
            }
            self.shops[domain] = shop
            number += 1
        hosts = dict(enumerate(checked_hosts(woo_hosts or [], woo_sites)))
        for n in range(woo_sites):
            name = f"site-{n + 1}"
            # half of each WooCommerce site's people also shop on the Shopify shop of the same number
            ds = Dataset(
                seed,
                name,
                "woocommerce",
                sizes,
                self.anchor,
                person_offset=n * sizes.customers + sizes.customers // 2,
            )
            site = WooSite(SandboxStore(number, "woocommerce", name, ds), host=hosts.get(n))
            site.issue_key("read_write", "sandbox")
            self.woo[name] = site
            number += 1
        self.magento: dict[str, MagentoStore] = {}
        self.hubspot = Portal(seed)  # one HubSpot account (sandbox/hubspot/)
        for n in range(magento_stores):
            name = f"magento-{n + 1}"
            # a quarter in: its people overlap both the Shopify shop and the WooCommerce site of its number
            offset = n * sizes.customers + sizes.customers // 4
            ds = Dataset(seed, name, "magento", sizes, self.anchor, person_offset=offset)
            self.magento[name] = MagentoStore(
                SandboxStore(number, "magento", name, ds),
                tokens={secrets.token_hex(16)},  # 32 lowercase letters and digits, as Magento issues
                admin_password="sandbox-" + secrets.token_hex(6),
            )
            number += 1
        self.salesforce: SalesforceOrg | None = SalesforceOrg(seed)  # the CRMs a push fills, empty at first
        self.zoho: ZohoOrg | None = ZohoOrg(seed, zoho_dc)

    def insecure_loopback_callbacks_allow(self, url: str) -> bool:
        """Real WooCommerce wants an https callback_url; the sandbox lets a loopback http one
        through (it cannot serve TLS to the connector on a laptop) unless told not to."""
        from urllib.parse import urlparse

        host = urlparse(url).hostname or ""
        return self.insecure_loopback_callbacks and host in ("127.0.0.1", "localhost", "::1")

    def shop_url_template(self) -> str:
        return f"{self.base_url}/shopify/{{shop}}"

    def woo_url(self, name: str) -> str:
        return f"{self.base_url}/woo/{name}"

    def woo_hosts(self) -> dict[str, str]:
        """Host name → site name, for the sites given their own host."""
        return {site.host: name for name, site in self.woo.items() if site.host}

    def routes(self) -> dict[str, str]:
        """Host name → the path prefix it stands for: each shop's domain, each site's own host."""
        shops = {domain: f"/shopify/{domain}" for domain in self.shops}
        return shops | {host: f"/woo/{name}" for host, name in self.woo_hosts().items()} | self.crm_routes()

    def crm_routes(self) -> dict[str, str]:
        """The CRMs' own hosts: the org's My Domain (its paths are at the root already) and
        Zoho's accounts and API hosts of every data center."""
        out = {self.salesforce.my_domain: ""} if self.salesforce is not None else {}
        if self.zoho is not None:
            out |= self.zoho.routes()
        return out

    def woo_host_url(self, name: str) -> str | None:
        """The site at its own host, on the sandbox's scheme and port (the host must resolve here)."""
        host = self.woo[name].host
        return None if host is None else self.host_url(host)

    def host_url(self, host: str) -> str:
        """`host` on the sandbox's scheme and port: reached through the proxy (`proxy_url`), on
        the https default port, or wherever the name resolves to the sandbox."""
        scheme, _, rest = self.base_url.partition("://")
        if self.proxy_url is not None:
            return f"{scheme}://{host}"
        port = rest.rsplit(":", 1)[1] if ":" in rest else ""
        default = {"http": "80", "https": "443"}[scheme]
        return f"{scheme}://{host}" + ("" if port in ("", default) else f":{port}")

    def magento_url(self, name: str) -> str:
        return f"{self.base_url}/magento/{name}"

    def manifest(self) -> dict[str, Any]:
        return {
            "hubspot": {**self.hubspot.manifest(), "api_url": self.base_url + "/hubspot"},
            "shopify": {
                "api_key": self.api_key,
                "api_secret": self.api_secret,
                "shop_url_template": self.shop_url_template(),
                "shops": [
                    {
                        "domain": d,
                        "url": self.shop_url_template().format(shop=d),
                        "host_url": self.host_url(d),
                        "access_token": next(iter(s.tokens)),
                        "plan": s.plan,
                        "counts": s.store.counts(),
                    }
                    for d, s in self.shops.items()
                ],
            },
            "woocommerce": {
                "stores": [
                    {
                        "url": self.woo_url(n),
                        "host": w.host,
                        "host_url": self.woo_host_url(n),
                        "consumer_key": next(iter(w.keys.values())).consumer_key,
                        "consumer_secret": next(iter(w.keys.values())).consumer_secret,
                        "counts": w.store.counts(),
                    }
                    for n, w in self.woo.items()
                ],
            },
            "magento": {
                "stores": [
                    {
                        "url": self.magento_url(n),
                        "access_token": next(iter(m.tokens)) if m.tokens else None,
                        "admin_username": m.admin_username,
                        "admin_password": m.admin_password,
                        "webhook_public_key": m.webhook_public_pem(),
                        "counts": m.store.counts() | {"catalog_rows": catalog_rows(m.store)},
                    }
                    for n, m in self.magento.items()
                ],
            },
            "tls": self.tls,
            "proxy": self.proxy_url,
        } | self.crm_manifest()

    def crm_manifest(self) -> dict[str, Any]:
        """What `destinations add-salesforce` and `add-zoho` take, and the records each CRM holds."""
        out: dict[str, Any] = {}
        if self.salesforce is not None:
            org = self.salesforce
            out["salesforce"] = {
                "client_id": org.client_id,
                "client_secret": org.client_secret,
                "instance_url": self.base_url,
                "my_domain_url": self.host_url(org.my_domain),
                "counts": org.counts(),
            }
        if self.zoho is not None:
            z = self.zoho
            out["zoho"] = {
                "client_id": z.client_id,
                "client_secret": z.client_secret,
                "refresh_token": z.refresh_token,
                "accounts_url": f"{self.base_url}/zoho/{z.dc}/accounts",
                "api_domain": f"{self.base_url}/zoho/{z.dc}/api",
                "data_center": z.dc,
                "counts": z.counts(),
            }
        return out


def catalog_rows(store: SandboxStore) -> int:
    """How many rows Magento's `V1/products` lists: each product, plus a configurable's children."""
    with store.lock:
        live = [i for i in range(store.overlays["products"].size) if store.exists("products", i)]
    variants = (len(store.get("products", i).data["variants"]) for i in live)
    return sum(1 + (n if n > 1 else 0) for n in variants)


def checked_hosts(hosts: list[str], sites: int) -> list[str]:
    """`--woo-host` values: bare host names, distinct, at most one per site."""
    if len(hosts) > sites:
        raise ValueError(f"{len(hosts)} --woo-host values for {sites} WooCommerce site(s)")
    out = []
    for host in hosts:
        name = host.strip().lower()
        if not name or any(c in name for c in "/:@ ?#") or name.startswith("."):
            raise ValueError(f"--woo-host {host!r} is not a bare host name (no scheme, port or path)")
        out.append(name)
    if len(set(out)) != len(out):
        raise ValueError("--woo-host values must be distinct")
    return out


SHOP_HANDLE = re.compile(r"[a-z0-9][a-z0-9-]{0,59}")


def checked_shop_domains(domains: list[str], shops: int) -> list[str]:
    """`--shop-domain` values: `<handle>.myshopify.com` or the bare handle, distinct, one per shop."""
    if len(domains) > shops:
        raise ValueError(f"{len(domains)} --shop-domain values for {shops} shop(s)")
    out = []
    for domain in domains:
        handle = domain.strip().lower().removesuffix(".myshopify.com")
        if not SHOP_HANDLE.fullmatch(handle):
            raise ValueError(
                f"--shop-domain {domain!r} is not a shop domain (<handle>.myshopify.com, the handle"
                " in lowercase letters, digits and hyphens)"
            )
        out.append(handle + ".myshopify.com")
    if len(set(out)) != len(out):
        raise ValueError("--shop-domain values must be distinct")
    return out
