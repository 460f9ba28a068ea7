"""Pushing to HubSpot in batches: batch upsert by the connector's unique id property (100 a
call, HubSpot's batch limit), a batch HubSpot refuses halved until the refused records stand
alone (each kept with HubSpot's reason, the rest written), orders associated with their
contacts, erasures archived, and opt-outs (`hs_email_optout`) read back with their time:
found by the CRM search (opted out, carrying our id, changed since the last read-back less a
margin for the search's lag), then only those hits read with the opt-out's history.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from connector.errors import SkipRecord
from destinations.hubspot import connect
from destinations.hubspot.client import API, HubSpotClient
from destinations.hubspot.mapper import ID_PROPERTY, properties
from destinations.pacing import Pacing
from destinations.records import Optout, Outcome, Record

BATCH = 100
OPTOUT = "hs_email_optout"
PAGE = 200  # the search's largest page
RESULT_CAP = 10_000  # no search pages past its 10,000th result: re-asked past the last id seen
HISTORY_BATCH = 50  # batch read with propertiesWithHistory: kept below the batch limit of 100
LAG = timedelta(minutes=5)  # the search index lags writes by seconds; clocks may differ too
ASSOCIATE = "/crm/v4/associations/orders/contacts"


class HubSpotSession:
    def __init__(self, credentials: Mapping[str, Any], base_url: str | None, pacing: Pacing | None) -> None:
        url = base_url or str(credentials.get("base_url") or API)
        self.client = HubSpotClient(str(credentials["token"]), url, pacing or Pacing())

    def prepare(self) -> list[str]:
        return connect.prepare(self.client)

    def missing_fields(self) -> list[str]:
        return connect.missing(self.client)

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

    def optouts_since(self, since: datetime | None) -> tuple[list[Optout], datetime]:
        """The connector's contacts opted out of all e-mail in HubSpot and changed since `since`
        (all of them when None), with when they opted out; and the `since` of the next read."""
        mark = datetime.now(UTC) - LAG
        hits = self._opted_out(since)
        found: list[Optout] = []
        for start in range(0, len(hits), HISTORY_BATCH):
            inputs = [{"id": i} for i in hits[start : start + HISTORY_BATCH]]
            body = {"inputs": inputs, "properties": [OPTOUT], "propertiesWithHistory": [OPTOUT]}
            answer = self.client.call("POST", "/crm/v3/objects/contacts/batch/read", body)
            found += [o for r in answer.get("results", []) if (o := _optout(r))]
        return found, mark

    def _opted_out(self, since: datetime | None) -> list[str]:
        """HubSpot ids of the search's hits, in id order, paged and re-asked past the cap."""
        ids: list[str] = []
        after: str | None = None
        last = seen = 0
        while True:
            answer = self.client.search("contacts", _search_body(since, last, after)) or {}
            page = [str(r["id"]) for r in answer.get("results") or [] if str(r.get("id", "")).isdigit()]
            ids += page
            after = ((answer.get("paging") or {}).get("next") or {}).get("after")
            if not page or after is None:
                return ids
            seen += len(page)
            if seen + PAGE > RESULT_CAP:  # the next page would pass the cap: ask again past here
                after, last, seen = None, int(page[-1]), 0

    def close(self) -> None:
        self.client.close()


def _search_body(since: datetime | None, last: int, after: str | None) -> dict[str, Any]:
    filters: list[dict[str, Any]] = [
        {"propertyName": OPTOUT, "operator": "EQ", "value": "true"},
        {"propertyName": ID_PROPERTY["contacts"], "operator": "HAS_PROPERTY"},
    ]
    if since is not None:
        millis = int(since.astimezone(UTC).timestamp() * 1000)
        filters.append({"propertyName": "lastmodifieddate", "operator": "GTE", "value": str(millis)})
    if last:
        filters.append({"propertyName": "hs_object_id", "operator": "GT", "value": str(last)})
    return {
        "filterGroups": [{"filters": filters}],
        "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
        "properties": [OPTOUT, ID_PROPERTY["contacts"]],
        "limit": PAGE,
        **({"after": str(after)} if after is not None else {}),
    }


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
