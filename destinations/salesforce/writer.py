"""Pushing to Salesforce in batches through the client (sObject Collections, 200 a call, below
2,000 records; one Bulk API 2.0 job from there): each person's Account then Contact upserted by
the connector's external ids, orders upserted with that Account and the Contact as bill-to, each
refused record kept with Salesforce's words while the rest are written; an order's lines as its
OrderItems (`Lines`: a Product2 and its standard PricebookEntry per product, the order on the
Standard Price Book, the lines it no longer has deleted); erasures deleted for good
(hardDelete), other records gone to the recycle bin, a person's Account with them once it holds
nothing; opt-outs (`HasOptedOutOfEmail`)
read back. Throttles and 5xx are tried again by the client, paced by the push's `Pacing`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from connector import logs
from connector.errors import FailPermanently
from destinations.pacing import Pacing
from destinations.records import FieldMap, Optout, Outcome, Record
from destinations.salesforce import connect
from destinations.salesforce.client import Outcome as Saved
from destinations.salesforce.client import SalesforceClient
from destinations.salesforce.mapper import (
    ACCOUNT_ID_FIELD,
    ID_FIELD,
    PRODUCT_ID_FIELD,
    SOBJECT,
    account_name,
    current_lines,
    product,
    values,
)
from destinations.salesforce.texts import soql_text

# what a merchant's team hangs on an Account, which Salesforce deletes with it (cascading delete)
MERCHANT_CHILDREN = ("Opportunity", "Case")
ACCOUNT_PREFIX = "001"  # an Account's id begins so
ERASED_NAME = "Erased customer"  # an erased person's Account kept for the merchant's records on it

log = logs.get(__name__)
T = TypeVar("T")
LINE_KEY = ID_FIELD["line_items"]
COMPARED = ("Quantity", "UnitPrice", "Description")  # what a line changed in place can differ by
NO_CONTACT = "Salesforce's Order needs an Account: this order has no contact in the connector"
CONTACT_NOT_THERE = "Salesforce's Order needs an Account: this order's contact is not in Salesforce yet"


class SalesforceSession:
    def __init__(self, credentials: Mapping[str, Any], base_url: str | None, pacing: Pacing | None) -> None:
        self.pacing = pacing or Pacing()
        given = dict(credentials) | ({"instance_url": base_url} if base_url else {})
        self.client = connect.client_of(given, pacing=self.pacing)
        self.client.http.hooks["response"].append(self._count)
        self.lines = Lines(self.client, self._rows)

    def _count(self, answer: Any, *args: Any, **kwargs: Any) -> Any:
        self.pacing.count(calls=1)  # from each batch's thread
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

    def upsert(self, obj: str, records: Sequence[Record], mapping: FieldMap) -> Outcome:
        outcome = Outcome()
        fields = dict(mapping[obj])
        links = self._accounts(records, outcome) if obj == "contacts" else self._people(records, outcome)
        rows = [
            values(obj, r.fields, fields) | links[r.record_id] | {ID_FIELD[obj]: str(r.record_id)}
            for r in records
            if r.record_id in links
        ]
        if obj == "orders" and rows:
            book = self._tracked(self.lines.standard_pricebook)
            rows = [row | {"Pricebook2Id": book} for row in rows]
        if rows:
            saved: Saved = self._tracked(lambda: self.client.upsert(SOBJECT[obj], ID_FIELD[obj], rows))
            outcome.pushed |= {int(k): v for k, v in saved.saved.items()}
            outcome.refused |= {int(k): why for k, why in saved.refused.items()}
            if obj == "orders" and "line_items" in mapping:
                pushed = [r for r in records if r.record_id in outcome.pushed]
                made = {outcome.pushed[int(k)] for k in saved.created}
                lines = dict(mapping["line_items"])
                self._tracked(lambda: self.lines.push(pushed, outcome.pushed, made, lines))
        if obj == "contacts":
            # a refused person's Account goes too (to the recycle bin: no erasure)
            self._drop_empty(_refused_accounts(outcome, links), for_good=False)
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

    def erase(self, obj: str, external_ids: Sequence[str], *, for_good: bool, mapping: FieldMap) -> None:
        """Delete these records (`for_good`: a hardDelete, no recycle bin); a person's Account
        too, once nothing is left on it. An erased person's Account loses their name first, so
        a failure after their records went (when it can no longer be found through them) leaves
        nothing of theirs on it. An Account among the ids (a person found by it alone) goes as
        an Account, never past the merchant's records on it."""
        ids = [i for i in external_ids if not i.startswith(ACCOUNT_PREFIX)]
        accounts = self._column(SOBJECT[obj], "AccountId", "Id", ids) if ids else set()
        accounts |= {i for i in external_ids if i.startswith(ACCOUNT_PREFIX)}
        if for_good:
            self._unnamed(sorted(accounts))
        self._tracked(lambda: self.client.delete_ids(ids, for_good=for_good))
        self._drop_empty(sorted(accounts), for_good=for_good)

    def _unnamed(self, account_ids: list[str]) -> None:
        """The connector's Accounts among these renamed ERASED_NAME (an erased person's name off)."""
        ours = self._column("Account", "Id", "Id", account_ids, f" AND {ACCOUNT_ID_FIELD} != null")
        if ours:
            self._updated([{"Id": i, "Name": ERASED_NAME} for i in sorted(ours)])

    def ids_of(self, obj: str, record_ids: Sequence[int]) -> dict[int, str]:
        """Salesforce's ids of these records, by the connector's key; a contact with no Contact
        there but its own Account (a push cut between the two) answers the Account."""
        keys = [str(i) for i in record_ids]
        found = self._tracked(lambda: self.client.ids_of(SOBJECT[obj], ID_FIELD[obj], keys))
        if obj == "contacts":
            alone = [k for k in keys if k not in found]
            found |= self._tracked(lambda: self.client.ids_of("Account", ACCOUNT_ID_FIELD, alone))
        return {int(k): v for k, v in found.items()}

    def _drop_empty(self, account_ids: list[str], *, for_good: bool) -> None:
        """The connector's Accounts among these left with no Contact or Order deleted; one the
        merchant's own records hang on is let go instead (deleting it would delete them)."""
        if not account_ids:
            return
        busy = self._column("Contact", "AccountId", "AccountId", account_ids)
        busy |= self._column("Order", "AccountId", "AccountId", account_ids)
        ours = self._column("Account", "Id", "Id", account_ids, f" AND {ACCOUNT_ID_FIELD} != null")
        empty = ours - busy
        theirs = self._merchants(sorted(empty))
        self._tracked(lambda: self.client.delete_ids(sorted(empty - theirs), for_good=for_good))
        if theirs:
            self._let_go(sorted(theirs), erased=for_good)

    def _merchants(self, account_ids: list[str]) -> set[str]:
        """Of these Accounts, those the merchant's team hangs records on (Salesforce deletes those
        with the Account); all of them when such an object cannot be read in this org."""
        found: set[str] = set()
        for sobject in MERCHANT_CHILDREN:
            try:
                found |= self._column(sobject, "AccountId", "AccountId", account_ids)
            except FailPermanently:
                return set(account_ids)
        return found

    def _let_go(self, account_ids: list[str], *, erased: bool) -> None:
        """Accounts kept for the merchant's records on them: no longer the connector's (its id
        cleared), an erased person's name taken off."""
        renamed = {"Name": ERASED_NAME} if erased else {}
        self._updated([{"Id": i, ACCOUNT_ID_FIELD: None} | renamed for i in account_ids])

    def _updated(self, rows: list[dict[str, Any]]) -> None:
        """Accounts changed by Id; one Salesforce refuses is FailPermanently, in its words."""
        saved = self._tracked(lambda: self.client.update("Account", rows))
        if saved.refused:
            why = next(iter(saved.refused.values()))
            raise FailPermanently(f"Salesforce refused changing {len(saved.refused)} Account(s): {why}")

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


class Lines:
    """Orders' lines as OrderItems. Salesforce wants each on a PricebookEntry of its order's
    price book: the connector uses the Standard Price Book (queried once a session) and gives
    each product (`PRODUCT_ID_FIELD`, its SKU else its title) a Product2 and a standard entry,
    both remembered for the session. An order's lines are read back unless the order was just
    made; a line whose product changed is made again; lines no longer there are deleted."""

    def __init__(self, client: SalesforceClient, rows: Callable[[str], list[dict[str, Any]]]) -> None:
        self.client, self.rows = client, rows
        self.book: str | None = None
        self.entries: dict[str, str] = {}  # product key → its standard PricebookEntry's id
        self.making = threading.Lock()  # one batch at a time makes products: none made twice

    def standard_pricebook(self) -> str:
        if self.book is None:
            found = self.rows("SELECT Id FROM Pricebook2 WHERE IsStandard = true LIMIT 1")
            if not found:
                raise FailPermanently("The org has no Standard Price Book, which Salesforce orders need")
            self.book = str(found[0]["Id"])
        return self.book

    def push(
        self, orders: list[Record], pushed: dict[int, str], made: set[str], fields: dict[str, str]
    ) -> None:
        lines = [(pushed[r.record_id], line) for r in orders for line in current_lines(r.fields)]
        self._entries([line for _o, line in lines])
        had = self._held([o for o in {pushed[r.record_id] for r in orders} if o not in made])
        wanted = {
            str(line["id"]): values("line_items", line, fields)
            | {"OrderId": order, "PricebookEntryId": self.entries.get(line["product"])}
            for order, line in lines
            if line["product"] in self.entries
        }
        moved = [
            k
            for k, row in had.items()
            if k in wanted and row["PricebookEntryId"] != wanted[k]["PricebookEntryId"]
        ]
        stale = [str(row["Id"]) for k, row in had.items() if k not in wanted or k in moved]
        self.client.delete_ids(stale)
        new = [row for k, row in wanted.items() if k not in had or k in moved]
        changed = [
            {LINE_KEY: row[LINE_KEY]} | {f: row.get(f) for f in COMPARED}
            for k, row in wanted.items()
            if k in had and k not in moved and any(_differs(row.get(f), had[k].get(f)) for f in COMPARED)
        ]
        for rows in (new, changed):
            if rows:
                saved = self.client.upsert("OrderItem", LINE_KEY, rows)
                if saved.refused:
                    log.warning("salesforce refused order lines", extra={"refused": len(saved.refused)})

    def _entries(self, lines: list[dict[str, Any]]) -> None:
        """Each product these lines name, with its standard price book entry (made if missing)."""
        with self.making:  # a batch's thread at a time: another's products are seen, not made again
            self._make_entries(lines)

    def _make_entries(self, lines: list[dict[str, Any]]) -> None:
        wanted = {line["product"]: line for line in lines if line["product"] not in self.entries}
        if not wanted:
            return
        saved = self.client.upsert("Product2", PRODUCT_ID_FIELD, [product(line) for line in wanted.values()])
        ids = {v: k for k, v in saved.saved.items()}  # Product2 id → product key
        book = self.standard_pricebook()
        found = _chunked(
            self.rows,
            "SELECT Id, Product2Id FROM PricebookEntry WHERE Pricebook2Id = {book} AND Product2Id IN ({ids})",
            sorted(ids),
            book=soql_text(book),
        )
        self.entries |= {ids[str(e["Product2Id"])]: str(e["Id"]) for e in found}
        missing = [
            {
                "Pricebook2Id": book,
                "Product2Id": pid,
                "UnitPrice": float(wanted[key].get("price") or 0),
                "IsActive": True,
            }
            for pid, key in ids.items()
            if key not in self.entries
        ]
        made = self.client.create("PricebookEntry", "Product2Id", missing)
        self.entries |= {ids[pid]: entry for pid, entry in made.saved.items()}
        if saved.refused or made.refused:
            log.warning(
                "salesforce refused products", extra={"refused": len(saved.refused) + len(made.refused)}
            )

    def _held(self, orders: list[str]) -> dict[str, dict[str, Any]]:
        """The OrderItems these orders have in Salesforce, by the connector's line id (a line
        without one, made by someone else, is left alone)."""
        query = (
            f"SELECT Id, OrderId, PricebookEntryId, {', '.join(COMPARED)}, {LINE_KEY} "
            "FROM OrderItem WHERE OrderId IN ({ids})"
        )
        return {str(r[LINE_KEY]): r for r in _chunked(self.rows, query, sorted(orders)) if r.get(LINE_KEY)}


def _chunked(
    rows: Callable[[str], list[dict[str, Any]]], query: str, ids: list[str], **given: str
) -> list[dict[str, Any]]:
    """The rows of `query` for these ids, 200 to a query (`{ids}` in it is their quoted list)."""
    found: list[dict[str, Any]] = []
    for start in range(0, len(ids), 200):
        quoted = ",".join(soql_text(i) for i in ids[start : start + 200])
        found += rows(query.format(ids=quoted, **given))
    return found


def _differs(ours: Any, theirs: Any) -> bool:
    if isinstance(ours, float) or isinstance(theirs, float):
        return theirs is None or ours is None or abs(float(ours) - float(theirs)) > 1e-9
    return (ours or None) != (theirs or None)
