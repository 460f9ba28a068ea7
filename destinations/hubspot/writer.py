"""Pushing to HubSpot in batches: batch upsert by the connector's unique id property (100 a
call, HubSpot's batch limit), a batch HubSpot refuses halved until the refused records stand
alone (each kept with HubSpot's reason, the rest written), orders associated with their
contacts, an order's lines as line items (upserted by `connector_line_id`, associated with the
order; those it no longer has archived), an erased contact GDPR-deleted and other records gone
archived (an order's line items with it), records found by that id property, and
opt-outs (`hs_email_optout`) read back with their time: found by the CRM search (opted out,
carrying our id, changed since the last read-back less a margin for the search's lag), then only
those hits read with the opt-out's history.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from connector import logs
from connector.errors import FailPermanently, SkipRecord
from destinations.hubspot import connect
from destinations.hubspot.mapper import DEFAULT_MAPPING, ID_PROPERTY, current_lines, properties
from destinations.pacing import Pacing
from destinations.records import FieldMap, Optout, Outcome, Record

log = logs.get(__name__)
BATCH = 100
OPTOUT = "hs_email_optout"
PAGE = 200  # the search's largest page
RESULT_CAP = 10_000  # no search pages past its 10,000th result: re-asked past the last id seen
HISTORY_BATCH = 50  # batch read with propertiesWithHistory: kept below the batch limit of 100
LAG = timedelta(minutes=5)  # the search index lags writes by seconds; clocks may differ too


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

    def upsert(self, obj: str, records: Sequence[Record], mapping: FieldMap) -> Outcome:
        outcome, new = Outcome(), set[str]()
        fields = dict(mapping[obj])
        for start in range(0, len(records), BATCH):
            self._upsert_halving(obj, list(records[start : start + BATCH]), fields, outcome, new)
        if obj == "orders" and "line_items" in mapping:
            lines = dict(mapping["line_items"])
            self._push_lines(
                [r for r in records if r.record_id in outcome.pushed], outcome.pushed, new, lines
            )
        return outcome

    def _push_lines(
        self, orders: list[Record], pushed: dict[int, str], new: set[str], fields: dict[str, str]
    ) -> None:
        """Each order's current lines upserted as line items and associated with it; the line
        items an order had in HubSpot but no longer has archived (an order new there had none)."""
        lines = [(pushed[r.record_id], line) for r in orders for line in current_lines(r.fields)]
        saved = Outcome()
        items = [Record(int(line["id"]), line) for _order, line in lines]
        for start in range(0, len(items), BATCH):
            self._upsert_halving("line_items", items[start : start + BATCH], fields, saved, set())
        if saved.refused:
            log.warning("hubspot refused line items", extra={"refused": len(saved.refused)})
        known = [pushed[r.record_id] for r in orders if pushed[r.record_id] not in new]
        before = self._associated("orders", "line_items", known)
        wanted = [(o, saved.pushed[int(li["id"])]) for o, li in lines if int(li["id"]) in saved.pushed]
        try:
            self._associate(
                "orders", "line_items", [(o, li) for o, li in wanted if li not in before.get(o, set())]
            )
        except SkipRecord as refused:  # e.g. a line item HubSpot holds under another order
            log.warning("hubspot refused line item associations", extra={"reason": refused.reason})
        kept = {li for _o, li in wanted}
        dropped = sorted({li for have in before.values() for li in have} - kept, key=int)
        self.erase("line_items", dropped, for_good=False, mapping={})  # archived, not emptied

    def _associated(self, from_obj: str, to_obj: str, ids: Sequence[str]) -> dict[str, set[str]]:
        """The `to_obj` records associated with each of these records, by HubSpot id."""
        found: dict[str, set[str]] = {}
        ids = sorted(set(ids), key=int)
        for start in range(0, len(ids), BATCH):
            body = {"inputs": [{"id": i} for i in ids[start : start + BATCH]]}
            answer = self.client.call("POST", f"/crm/v4/associations/{from_obj}/{to_obj}/batch/read", body)
            for result in (answer or {}).get("results", []):
                tos = {str(t["toObjectId"]) for t in result.get("to") or []}
                found.setdefault(str(result["from"]["id"]), set()).update(tos)
        return found

    def _associate(self, from_obj: str, to_obj: str, pairs: Sequence[tuple[str, str]]) -> None:
        path = f"/crm/v4/associations/{from_obj}/{to_obj}/batch/associate/default"
        for start in range(0, len(pairs), BATCH):
            inputs = [{"from": {"id": a}, "to": {"id": b}} for a, b in pairs[start : start + BATCH]]
            self.client.call("POST", path, {"inputs": inputs})

    def _upsert_halving(
        self, obj: str, part: list[Record], fields: dict[str, str], out: Outcome, new: set[str]
    ) -> None:
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
            self._upsert_halving(obj, part[:middle], fields, out, new)
            self._upsert_halving(obj, part[middle:], fields, out, new)
            return
        for result in answer.get("results", []):
            ours = (result.get("properties") or {}).get(id_property)
            if ours is not None:
                out.pushed[int(ours)] = str(result["id"])
                if result.get("new"):
                    new.add(str(result["id"]))

    def associate(self, pairs: Sequence[tuple[str, str]]) -> None:
        self._associate("orders", "contacts", pairs)

    def erase(self, obj: str, external_ids: Sequence[str], *, for_good: bool, mapping: FieldMap) -> None:
        """Archive these records (restorable for 90 days); an order's line items first (each
        line item is its order's). A contact erased `for_good` has a GDPR delete instead: gone,
        with its history, at once (HubSpot offers that for contacts only); other records erased
        have their properties emptied before they are archived."""
        if obj == "contacts" and for_good:
            for contact in external_ids:
                self._gdpr_delete(contact)
            return
        if obj == "orders" and external_ids:
            lines = self._associated("orders", "line_items", external_ids)
            lines_gone = sorted({li for have in lines.values() for li in have}, key=int)
            self.erase("line_items", lines_gone, for_good=for_good, mapping=mapping)
        if for_good:  # no permanent delete but a contact's: what the archive keeps is blanked first
            self._blank(obj, external_ids, mapping)
        for start in range(0, len(external_ids), BATCH):
            inputs = [{"id": i} for i in external_ids[start : start + BATCH]]
            self.client.call("POST", f"/crm/v3/objects/{obj}/batch/archive", {"inputs": inputs})

    def _blank(self, obj: str, external_ids: Sequence[str], mapping: FieldMap) -> None:
        """Every property the connector writes on these records, by the default mapping or the
        destination's, emptied (the id property kept)."""
        written = {*DEFAULT_MAPPING.get(obj, {}), *mapping.get(obj, {})}
        empty = {name: "" for name in sorted(written) if name != ID_PROPERTY[obj]}
        for start in range(0, len(external_ids), BATCH):
            asked = {"inputs": [{"id": i} for i in external_ids[start : start + BATCH]], "properties": []}
            answer = self._read(obj, asked)
            held = [str(r["id"]) for r in answer.get("results", [])]  # an update names none gone
            if not held:
                continue
            inputs = [{"id": i, "properties": empty} for i in held]
            try:
                self.client.call("POST", f"/crm/v3/objects/{obj}/batch/update", {"inputs": inputs})
            except SkipRecord as refused:  # archived all the same: an erasure is not held up by it
                log.warning("hubspot refused emptying erased records", extra={"reason": refused.reason})

    def _gdpr_delete(self, contact: str) -> None:
        """Already gone is done; refused (400) is done only if HubSpot holds it nowhere, live or
        archived, else FailPermanently in HubSpot's words: an erasure is not reported done while
        the contact stays."""
        try:
            self.client.call("POST", "/crm/v3/objects/contacts/gdpr-delete", {"objectId": contact})
        except FailPermanently as exc:
            if exc.detail != "404":
                raise
        except SkipRecord as refused:
            if self._held("contacts", contact):
                raise FailPermanently(
                    f"HubSpot refused the GDPR delete of contact {contact}: {refused.reason}"
                ) from None

    def _held(self, obj: str, record_id: str) -> bool:
        """Whether HubSpot holds this record, live or archived."""
        for archived in ("false", "true"):
            try:
                self.client.call("GET", f"/crm/v3/objects/{obj}/{record_id}", params={"archived": archived})
                return True
            except FailPermanently as exc:
                if exc.detail != "404":
                    raise
        return False

    def _read(self, obj: str, body: dict[str, Any]) -> dict[str, Any]:
        """A batch read; none of them held (a 404, as HubSpot may answer then) is no results."""
        try:
            return self.client.call("POST", f"/crm/v3/objects/{obj}/batch/read", body) or {}
        except FailPermanently as exc:
            if exc.detail != "404":
                raise
            return {}

    def ids_of(self, obj: str, record_ids: Sequence[int]) -> dict[int, str]:
        """HubSpot's ids of these records, read by the connector's unique id property."""
        key, found = ID_PROPERTY[obj], {}
        for start in range(0, len(record_ids), BATCH):
            inputs = [{"id": str(i)} for i in record_ids[start : start + BATCH]]
            body = {"idProperty": key, "inputs": inputs, "properties": [key]}
            answer = self._read(obj, body)
            for result in answer.get("results", []):
                ours = str((result.get("properties") or {}).get(key) or "")
                if ours.isdigit():
                    found[int(ours)] = str(result["id"])
        return found

    def optouts(self, external_ids: Sequence[str]) -> list[Optout]:
        """Of these contacts, those opted out of all e-mail in HubSpot, with when they did."""
        return self._read_optouts(external_ids)

    def optouts_since(self, since: datetime | None) -> tuple[list[Optout], datetime]:
        """The connector's contacts opted out of all e-mail in HubSpot and changed since `since`
        (all of them when None), with when they opted out; and the `since` of the next read."""
        mark = datetime.now(UTC) - LAG
        return self._read_optouts(self._opted_out(since)), mark

    def _read_optouts(self, external_ids: Sequence[str]) -> list[Optout]:
        """These contacts read with the opt-out's history; those opted out, with when they did."""
        found: list[Optout] = []
        for start in range(0, len(external_ids), HISTORY_BATCH):
            inputs = [{"id": i} for i in external_ids[start : start + HISTORY_BATCH]]
            body = {"inputs": inputs, "properties": [OPTOUT], "propertiesWithHistory": [OPTOUT]}
            answer = self.client.call("POST", "/crm/v3/objects/contacts/batch/read", body)
            found += [o for r in answer.get("results", []) if (o := _optout(r))]
        return found

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
