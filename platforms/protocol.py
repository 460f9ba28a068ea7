"""What a platform provides, as one typed Protocol, and the small neutral values it trades in.

A platform is a package `platforms/<name>/` whose `__init__.py` offers every member of
`Platform` (constants and plain functions); mypy checks the built-in ones against it, and
`platforms.get` checks any registered one at run time. Nothing here knows Flask or the
database: the connector asks the platform, then stores and answers on its own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol, runtime_checkable

from connector.config import Settings
from platforms.base import Batch, MapContext, Reader

Mapper = Callable[[dict[str, Any], MapContext], Batch]
Credentials = dict[str, Any]


class Headers(Protocol):
    """A delivery's headers, looked up without regard to case (werkzeug's Headers)."""

    def get(self, key: str) -> str | None: ...
    def __getitem__(self, key: str) -> str: ...


@dataclass(frozen=True)
class WebhookFacts:
    """What a delivery's headers say: its topic, the store's domain (when the platform names
    it there), the inbox's dedup key and the event time (a version; None when not given)."""

    topic: str
    domain: str
    dedup_key: str
    triggered_at: datetime | None


@dataclass(frozen=True)
class Question:
    """Something to ask the platform before a delivery acts: `confirmed()` is True when it
    agrees; `otherwise` finishes "not confirmed: the platform …"."""

    confirmed: Callable[[], bool]
    otherwise: str


@dataclass(frozen=True)
class SubscriptionState:
    """The platform's webhook subscriptions at one address, against the ones needed."""

    healthy: list[str]
    missing: list[str]
    disabled: list[str]


@dataclass(frozen=True)
class AddOption:
    """One option of `crm-connector stores add-<name>`: required, a string; or, `multiple`,
    optional and repeatable (its values given to the platform joined by commas)."""

    name: str  # the long option without dashes, e.g. "shop"
    help: str
    multiple: bool = False


@dataclass(frozen=True)
class Connection:
    """A store checked against its platform by hand (the add-command): what to save."""

    domain: str
    credentials: Credentials
    scopes: str | None


@dataclass(frozen=True)
class StoreProfile:
    """What a store says of itself, each as the platform gives it (untrusted, unchecked):
    its name, its locale (en_US, en-GB, en), its IANA time zone and its currency (ISO 4217);
    None where it says nothing."""

    name: str | None = None
    locale: str | None = None
    time_zone: str | None = None
    currency: str | None = None


@runtime_checkable
class Platform(Protocol):
    """Everything the connector reaches a platform for; one package implements it. The
    constants are read-only properties here so a package's own (narrower) types fit."""

    @property
    def NAME(self) -> str: ...  # stores.platform, the webhook URL part, the CLI's add-<name>
    @property
    def LABEL(self) -> str: ...  # for people: "Shopify"
    @property
    def HOW_TO_CONNECT(self) -> str: ...  # one sentence for an empty store list

    # webhook deliveries: who signs them (the app's secret, the store then named in a
    # header; or a secret per store, the store known by its URL key), what topics mean
    @property
    def SIGNED_BY(self) -> Literal["app", "store"]: ...
    @property
    def SIGNATURE_HEADER(self) -> str: ...
    @property
    def UNKNOWN_STORE(self) -> str: ...  # the 404's words
    @property
    def TOPICS(self) -> tuple[str, ...]: ...  # every topic taken (others: 200, ignored)
    @property
    def MAPPERS(self) -> Mapping[str, Mapper]: ...  # topic → rows
    @property
    def ACTIONS(self) -> Mapping[str, str]: ...  # topic → one of webhooks.process.ACTIONS
    @property
    def COMPLIANCE(self) -> tuple[str, ...]: ...  # privacy topics: taken even after an uninstall
    @property
    def SUBSCRIPTIONS(self) -> tuple[str, ...]: ...  # as the platform's API names them

    def unconfigured(self, settings: Settings) -> str | None: ...  # why deliveries cannot be taken
    def app_secrets(self, settings: Settings) -> list[str]: ...  # SIGNED_BY "app": current, previous
    def is_ping(self, headers: Headers, mimetype: str, form: Callable[[], Mapping[str, str]]) -> bool: ...
    def signature_valid(self, body: bytes, signature: str | None, secrets: Sequence[str]) -> bool: ...
    def delivery_of(self, headers: Headers, body: bytes) -> WebhookFacts: ...  # BadInput if malformed

    # verifying a delivery before it deletes, uninstalls or crosses stores
    def refusal(self, topic: str, payload: Any, domain: str) -> str | None: ...
    def needs_confirmation(self, topic: str) -> bool: ...
    def cross_store_subject(self, topic: str, payload: Any) -> tuple[str, int] | None: ...
    def confirmation(
        self,
        settings: Settings,
        credentials: Credentials,
        domain: str,
        topic: str,
        payload: dict[str, Any],
        timeout: float,
    ) -> Question | None: ...
    def claimed_source(self, headers: Headers) -> str | None: ...  # a site URL it says it moved to
    def site_refusal(
        self, source: str, credentials: Credentials, known: tuple[int, str] | None, timeout: float
    ) -> str | None: ...

    # webhook subscriptions
    def subscriptions(
        self, settings: Settings, credentials: Credentials, domain: str, address: str
    ) -> SubscriptionState: ...
    def repair_subscriptions(
        self, settings: Settings, credentials: Credentials, domain: str, address: str, secret: str | None
    ) -> None: ...

    # what the store says of itself (name, locale, time zone): read when added or checked
    def profile(self, settings: Settings, credentials: Credentials, domain: str) -> StoreProfile: ...

    # sync
    @property
    def ONE_ENTITY_AT_A_TIME(self) -> bool: ...  # one lease per store, not per entity

    def reader_for(self, settings: Settings, credentials: Credentials, store: Any) -> Reader: ...

    # credentials and installs
    @property
    def TOKENS_EXPIRE(self) -> bool: ...  # whether `refreshed` is worth asking (the cron job's filter)
    @property
    def INSTALL_BLUEPRINTS(self) -> tuple[str, ...]: ...  # "module:attribute" of blueprints in connector.web
    @property
    def ADD_HELP(self) -> str: ...  # `stores add-<name>`'s help ("" for no such command)
    @property
    def ADD_OPTIONS(self) -> tuple[AddOption, ...]: ...

    def refreshed(self, settings: Settings, domain: str, credentials: Credentials) -> Credentials | None: ...
    def connect_by_hand(self, options: Mapping[str, str]) -> Connection: ...  # BadInput; reads its settings


# every member's name, for a plain error when a registered package lacks some
MEMBERS = tuple(
    sorted(
        n
        for n, v in vars(Platform).items()
        if not n.startswith("_") and (isinstance(v, property) or callable(v))
    )
)
