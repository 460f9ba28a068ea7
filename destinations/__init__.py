"""Destinations: the CRMs the connector pushes contacts and orders to, reached only through this registry.

Each kind is a folder `destinations/<kind>/` (connect, client, mapper, writer) whose package
offers every member of `destinations.protocol.Destination`, registered by one line in `KINDS`.
Packages are imported on first use. Like platforms/, it knows nothing of Flask or the database.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, cast

from destinations.protocol import MEMBERS, Destination

KINDS: dict[str, str] = {
    "hubspot": "destinations.hubspot",
    "salesforce": "destinations.salesforce",
    "zoho": "destinations.zoho",
}


class UnknownDestination(KeyError):
    """No destination kind is registered under this name."""


def get(kind: str) -> Destination:
    """The registered destination `kind` (its package, checked against the Protocol)."""
    if kind not in KINDS:
        raise UnknownDestination(f"unknown destination {kind!r}; known: {', '.join(sorted(KINDS))}")
    module = importlib.import_module(KINDS[kind])
    if not isinstance(module, Destination):
        missing = [m for m in MEMBERS if not hasattr(module, m)]
        raise TypeError(f"{KINDS[kind]} is not a destination: it lacks {', '.join(missing)}")
    return cast(Destination, module)


def every() -> list[Destination]:
    return [get(kind) for kind in KINDS]


if TYPE_CHECKING:  # mypy proves each built-in package satisfies the Protocol
    from destinations import hubspot, salesforce, zoho

    _hubspot: Destination = hubspot
    _salesforce: Destination = salesforce
    _zoho: Destination = zoho
