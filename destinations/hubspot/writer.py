"""Pushing to HubSpot in batches: batch upsert by the connector's unique id property (100 a
call, HubSpot's batch limit), a batch HubSpot refuses halved until the refused records stand
alone (each kept with HubSpot's reason, the rest written), orders associated with their
contacts, erasures archived, and opt-outs (`hs_email_optout`) read back with their time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from connector.errors import SkipRecord
from destinations.hubspot import connect
from destinations.hubspot.mapper import ID_PROPERTY, properties
from destinations.pacing import Pacing
from destinations.records import Optout, Outcome, Record

BATCH = 100
OPTOUT = "hs_email_optout"
ASSOCIATE = "/crm/v4/associations/orders/contacts"


class HubSpotSession:
    def __init__(self, credentials: Mapping[str, Any], base_url: str | None, pacing: Pacing | None) -> None:
        self.credentials = dict(credentials)
        self.client = connect.client_of(credentials, base_url, pacing or Pacing())

    def renewed(self) -> dict[str, Any] | None:
        """The credentials with the access token HubSpot issued during the session, to keep sealed."""
        grant = self.client.refresh
        if grant is None or not grant.renewed:
            return None
        return self.credentials | {
            "token": self.client.token,
            "refresh_token": grant.refresh_token,
            "expires_at": grant.expires_at,
        }

    def prepare(self) -> list[str]:
        return connect.prepare(self.client)

    def missing_fields(self) -> list[str]:
        return connect.missing(self.client)

    def known_fields(self, obj: str) -> set[str]:
        return connect.property_names(self.client, obj)

    def upsert(
        self, obj: str, records: Sequence[Record], mapping: Mapping[str, Mapping[str, str]]
    ) -> Outcome:
        outcome = Outcome()
        fields = dict(mapping[obj])
        for start in range(0, len(records), BATCH):
            self._upsert_halving(obj, list(records[start : start + BATCH]), fields, outcome)
        return outcome

    def _upsert_halving(self, obj: str, part: list[Record], fields: dict[str, str], out: Outcome) -> None:
        id_property = ID_PROPERTY[obj]
        named = {crm: ours for crm, ours in fields.items() if crm != id_property}  # the id goes as `id`
        inputs = [
            {"idProperty": id_property, "id": str(r.record_id), "properties": properties(r.fields, named)}
            for r in part
        ]
        try:
            answer = self.client.call("POST", f"/crm/v3/objects/{obj}/batch/upsert", {"inputs": inputs})
        except SkipRecord as refused:
            if len(part) == 1:
                out.refused[part[0].record_id] = refused.reason
                return
            middle = len(part) // 2
            self._upsert_halving(obj, part[:middle], fields, out)
            self._upsert_halving(obj, part[middle:], fields, out)
            return
        for result in answer.get("results", []):
            ours = (result.get("properties") or {}).get(id_property)
            if ours is not None:
                out.pushed[int(ours)] = str(result["id"])

    def associate(self, pairs: Sequence[tuple[str, str]]) -> None:
        for start in range(0, len(pairs), BATCH):
            inputs = [{"from": {"id": o}, "to": {"id": c}} for o, c in pairs[start : start + BATCH]]
            self.client.call(
                "POST", "/crm/v4/associations/orders/contacts/batch/associate/default", {"inputs": inputs}
            )

    def erase(self, obj: str, external_ids: Sequence[str]) -> None:
        for start in range(0, len(external_ids), BATCH):
            inputs = [{"id": i} for i in external_ids[start : start + BATCH]]
            self.client.call("POST", f"/crm/v3/objects/{obj}/batch/archive", {"inputs": inputs})

    def optouts(self, external_ids: Sequence[str]) -> list[Optout]:
        """Of these contacts, those opted out of all e-mail in HubSpot, with when they did."""
        found: list[Optout] = []
        for start in range(0, len(external_ids), BATCH):
            inputs = [{"id": i} for i in external_ids[start : start + BATCH]]
            body = {"inputs": inputs, "properties": ["email", OPTOUT], "propertiesWithHistory": [OPTOUT]}
            answer = self.client.call("POST", "/crm/v3/objects/contacts/batch/read", body)
            found += [o for r in answer.get("results", []) if (o := _optout(r))]
        return found

    def close(self) -> None:
        self.client.close()


def _optout(result: dict[str, Any]) -> Optout | None:
    props = result.get("properties") or {}
    if str(props.get(OPTOUT, "")).lower() != "true":
        return None
    history = (result.get("propertiesWithHistory") or {}).get(OPTOUT) or []
    stamp = next((h.get("timestamp") for h in history if str(h.get("value")).lower() == "true"), None)
    when = _moment(stamp) or _moment(result.get("updatedAt")) or datetime.now(UTC)
    return Optout(external_id=str(result["id"]), channel="email", occurred_at=when, source="hubspot")


def _moment(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return None
