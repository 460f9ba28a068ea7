"""Pushing to Salesforce in batches through the client (sObject Collections, 200 a call, below
2,000 records; one Bulk API 2.0 job from there): each person's Account then Contact upserted by
the connector's external ids, orders upserted with that Account and the Contact as bill-to, each
refused record kept with Salesforce's words while the rest are written; erasures deleted for good
(hardDelete), a person's Account with them once it holds nothing; opt-outs (`HasOptedOutOfEmail`)
read back. Throttles and 5xx are tried again by the client, paced by the push's `Pacing`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from destinations.pacing import Pacing
from destinations.records import Optout, Outcome, Record
from destinations.salesforce import connect
from destinations.salesforce.client import soql_text
from destinations.salesforce.mapper import ACCOUNT_ID_FIELD, ID_FIELD, SOBJECT, account_name, values

T = TypeVar("T")
NO_CONTACT = "Salesforce's Order needs an Account: this order has no contact in the connector"
CONTACT_NOT_THERE = "Salesforce's Order needs an Account: this order's contact is not in Salesforce yet"


class SalesforceSession:
    def __init__(self, credentials: Mapping[str, Any], base_url: str | None, pacing: Pacing | None) -> None:
        self.pacing = pacing or Pacing()
        given = dict(credentials) | ({"instance_url": base_url} if base_url else {})
        self.client = connect.client_of(given, pacing=self.pacing)
        self.client.http.hooks["response"].append(self._count)

    def _count(self, answer: Any, *args: Any, **kwargs: Any) -> Any:
        self.pacing.calls += 1
        return answer

    def _tracked(self, action: Callable[[], T]) -> T:
        """`action` (the client retries each call), and the daily allocation it left."""
        found = action()
        usage = self.client.usage
        if usage is not None:
            self.pacing.daily_remaining = usage[1] - usage[0]
        return found

    def _rows(self, query: str) -> list[dict[str, Any]]:
        return self._tracked(lambda: self.client.rows(query))

    def prepare(self) -> list[str]:
        return self._tracked(lambda: connect.prepare(self.client))

    def missing_fields(self) -> list[str]:
        return self._tracked(lambda: connect.missing(self.client))

    def known_fields(self, obj: str) -> set[str]:
        return self._tracked(lambda: self.client.field_names(SOBJECT[obj]))

    def upsert(
        self, obj: str, records: Sequence[Record], mapping: Mapping[str, Mapping[str, str]]
    ) -> Outcome:
        outcome = Outcome()
        fields = dict(mapping[obj])
        links = self._accounts(records, outcome) if obj == "contacts" else self._people(records, outcome)
        rows = [
            values(obj, r.fields, fields) | links[r.record_id] | {ID_FIELD[obj]: str(r.record_id)}
            for r in records
            if r.record_id in links
        ]
        if rows:
            saved = self._tracked(lambda: self.client.upsert(SOBJECT[obj], ID_FIELD[obj], rows))
            outcome.pushed |= {int(k): v for k, v in saved.saved.items()}
            outcome.refused |= {int(k): why for k, why in saved.refused.items()}
        if obj == "contacts":
            self._drop_empty(_refused_accounts(outcome, links))  # a refused person's Account goes too
        return outcome

    def _accounts(self, records: Sequence[Record], outcome: Outcome) -> dict[int, dict[str, Any]]:
        """Each person's own Account (upserted by the contact's id), as the Contact's AccountId."""
        rows = [{ACCOUNT_ID_FIELD: str(r.record_id), "Name": account_name(r.fields)} for r in records]
        saved = self._tracked(lambda: self.client.upsert("Account", ACCOUNT_ID_FIELD, rows))
        outcome.refused |= {int(k): f"its Account: {why}" for k, why in saved.refused.items()}
        return {int(k): {"AccountId": v} for k, v in saved.saved.items()}

    def _people(self, records: Sequence[Record], outcome: Outcome) -> dict[int, dict[str, Any]]:
        """Each order's Account and bill-to Contact, from its contact as Salesforce holds it."""
        key = ID_FIELD["contacts"]
        keys = sorted({str(r.contact_id) for r in records if r.contact_id is not None})
        held: dict[str, dict[str, Any]] = {}
        for start in range(0, len(keys), 200):
            quoted = ",".join(soql_text(k) for k in keys[start : start + 200])
            query = f"SELECT Id, AccountId, {key} FROM Contact WHERE {key} IN ({quoted})"
            held |= {str(row[key]): row for row in self._rows(query)}
        links: dict[int, dict[str, Any]] = {}
        for r in records:
            person = held.get(str(r.contact_id)) if r.contact_id is not None else None
            if person is None or not person.get("AccountId"):
                outcome.refused[r.record_id] = NO_CONTACT if r.contact_id is None else CONTACT_NOT_THERE
                continue
            links[r.record_id] = {"AccountId": person["AccountId"], "BillToContactId": person["Id"]}
        return links

    def associate(self, pairs: Sequence[tuple[str, str]]) -> None:
        """Nothing more to do: each Order names its Account and bill-to Contact when upserted."""

    def erase(self, obj: str, external_ids: Sequence[str]) -> None:
        """Delete these records for good; a person's Account too, once nothing is left on it."""
        ids = list(external_ids)
        accounts = self._column(SOBJECT[obj], "AccountId", "Id", ids)
        self._tracked(lambda: self.client.delete_ids(ids, for_good=True))
        self._drop_empty(sorted(accounts))

    def _drop_empty(self, account_ids: list[str]) -> None:
        if not account_ids:
            return
        busy = self._column("Contact", "AccountId", "AccountId", account_ids)
        busy |= self._column("Order", "AccountId", "AccountId", account_ids)
        ours = self._column("Account", "Id", "Id", account_ids, f" AND {ACCOUNT_ID_FIELD} != null")
        empty = sorted(ours - busy)
        self._tracked(lambda: self.client.delete_ids(empty, for_good=True))

    def _column(self, sobject: str, column: str, key: str, ids: list[str], extra: str = "") -> set[str]:
        """`column`'s values on the `sobject` rows whose `key` is one of `ids`."""
        found: set[str] = set()
        for start in range(0, len(ids), 200):
            quoted = ",".join(soql_text(i) for i in ids[start : start + 200])
            query = f"SELECT {column} FROM {sobject} WHERE {key} IN ({quoted}){extra}"
            found |= {str(r[column]) for r in self._rows(query) if r[column]}
        return found

    def optouts(self, external_ids: Sequence[str]) -> list[Optout]:
        """Of these contacts, those opted out of e-mail in Salesforce that the connector has not
        yet pushed as unsubscribed, at the time Salesforce last changed them."""
        wanted = set(external_ids)
        query = (
            "SELECT Id, LastModifiedDate FROM Contact WHERE HasOptedOutOfEmail = true "
            f"AND Connector_Email_Consent__c != 'unsubscribed' AND {ID_FIELD['contacts']} != null"
        )
        return [
            Optout(str(r["Id"]), "email", _moment(str(r["LastModifiedDate"])), "salesforce")
            for r in self._rows(query)
            if str(r["Id"]) in wanted
        ]

    def renewed(self) -> dict[str, Any] | None:
        return None  # its refresh token stays as granted; access tokens live for the session only

    def close(self) -> None:
        self.client.http.close()


def _refused_accounts(outcome: Outcome, links: dict[int, dict[str, Any]]) -> list[str]:
    """The Accounts made for people whose Contact Salesforce then refused."""
    return sorted(str(links[i]["AccountId"]) for i in outcome.refused if i in links)


def _moment(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z").astimezone(UTC)
