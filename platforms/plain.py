"""The plain answers for a platform without some feature, for its package to re-export.

A platform whose deliveries never move sites, never cross stores, have no creation ping,
whose tokens never expire or that has no add-command takes these instead of writing its own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from connector.config import Settings
from connector.errors import BadInput
from platforms.protocol import Connection, Credentials, Headers, Question, StoreProfile


def unconfigured(settings: Settings) -> str | None:
    return None


def app_secrets(settings: Settings) -> list[str]:
    return []


def is_ping(headers: Headers, mimetype: str, form: Callable[[], Mapping[str, str]]) -> bool:
    return False


def needs_confirmation(topic: str) -> bool:
    return False


def cross_store_subject(topic: str, payload: Any) -> tuple[str, int] | None:
    return None


def confirmation(
    settings: Settings,
    credentials: Credentials,
    domain: str,
    topic: str,
    payload: dict[str, Any],
    timeout: float,
) -> Question | None:
    return None


def claimed_source(headers: Headers) -> str | None:
    return None


def site_refusal(
    source: str, credentials: Credentials, known: tuple[int, str] | None, timeout: float
) -> str | None:
    return "this platform's stores do not move between site URLs"


def refreshed(settings: Settings, domain: str, credentials: Credentials) -> Credentials | None:
    return None


def connect_by_hand(options: Mapping[str, str]) -> Connection:
    raise BadInput("this platform's stores are connected by its install flow, not by hand")


def profile(settings: Settings, credentials: Credentials, domain: str) -> StoreProfile:
    return StoreProfile()  # the store says nothing of itself: domain, en_US, the deployment's zone
