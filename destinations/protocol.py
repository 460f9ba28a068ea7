"""What a destination provides: a check of its credentials, the authorization-code flow of the
connector's OAuth app there (the authorization page's address, the code redeemed), a session
that upserts, reads back and erases records in batches, and its default field mapping as data.
The records it is given are neutral dicts (`destinations.records`); what it answers is an
`Outcome` per batch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from destinations.oauth import App, Grant
from destinations.pacing import Pacing
from destinations.records import FieldMap, Optout, Outcome, Record

MEMBERS = (
    "KIND",
    "OBJECTS",
    "DEFAULT_MAPPING",
    "PKCE",
    "PUSH_BATCH",
    "PUSH_IN_FLIGHT",
    "check",
    "open_session",
    "authorization",
    "redeem",
)


class Session(Protocol):
    """One push's connection to the CRM (paced, retried); each call raises the errors of
    `connector.errors` by next action (RetryLater, Reauthorize, FailPermanently)."""

    def prepare(self) -> list[str]: ...  # custom fields made; returns what could not be made

    def missing_fields(self) -> list[str]: ...

    def known_fields(self, obj: str) -> set[str]: ...  # the fields the CRM has on this object

    def upsert(self, obj: str, records: Sequence[Record], mapping: FieldMap) -> Outcome: ...

    def associate(self, pairs: Sequence[tuple[str, str]]) -> None: ...  # (order ext id, contact ext id)

    # for_good: a privacy erasure, deleted with no way back where the CRM offers one; else a
    # record merged away or deleted in its store, deleted as the CRM's own delete does; mapping:
    # the destination's, for a CRM that must empty what it cannot delete for good
    def erase(self, obj: str, external_ids: Sequence[str], *, for_good: bool, mapping: FieldMap) -> None: ...

    # the CRM's ids of the records it holds under the connector's key: one a push sent whose
    # answer never came (killed, stopped, the line cut) is found this way to be erased
    def ids_of(self, obj: str, record_ids: Sequence[int]) -> dict[int, str]: ...

    def optouts(self, external_ids: Sequence[str]) -> list[Optout]: ...

    def renewed(self) -> dict[str, Any] | None: ...  # credentials the CRM issued anew, to seal

    def close(self) -> None: ...


@runtime_checkable
class ReadsOptoutsSince(Protocol):
    """A session that can ask the CRM for opt-outs changed since a time (its own watermark,
    kept per destination as `optouts_checked_at`) instead of reading back every contact."""

    def optouts_since(self, since: datetime | None) -> tuple[list[Optout], datetime]: ...


@runtime_checkable
class Destination(Protocol):
    KIND: str
    OBJECTS: tuple[str, ...]
    DEFAULT_MAPPING: dict[str, dict[str, str]]
    PKCE: bool  # whether the authorization request carries a PKCE challenge
    PUSH_BATCH: int  # marks a push reads and hands to the session at once
    PUSH_IN_FLIGHT: dict[str, int]  # per object, batches with the CRM at once

    def check(self, credentials: Mapping[str, Any], base_url: str | None) -> dict[str, Any]: ...

    def authorization(self, app: App, redirect_uri: str, state: str, challenge: str) -> str: ...

    def redeem(self, app: App, grant: Grant) -> dict[str, Any]: ...  # what `check` takes

    def open_session(
        self, credentials: Mapping[str, Any], base_url: str | None, pacing: Pacing | None = None
    ) -> Session: ...
