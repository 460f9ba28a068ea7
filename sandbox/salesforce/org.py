"""One Salesforce org's live state: its connected app's credentials and the sessions issued,
its records per object (a record deleted stays in the recycle bin, seen by queryAll, until a
hard delete), the daily API allocation and what was used of it, the requests in progress (a
limit on long-running ones), faults, and Bulk API 2.0 jobs.
Every write goes through `write` here, which checks it against the schema."""

from __future__ import annotations

import secrets
import string
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sandbox.crm_faults import CrmFaults
from sandbox.salesforce.schema import STANDARD_PRICEBOOK_NAME, Field, SObject, standard_objects
from sandbox.salesforce.values import SalesforceError, checked, sf_time

API_VERSION = "62.0"
ALPHABET = string.digits + string.ascii_uppercase + string.ascii_lowercase
SUFFIX = string.ascii_uppercase + "012345"
DAILY_API_REQUESTS = 100_000  # Enterprise Edition's base allocation before per-licence additions
SESSION_SECONDS = 7200  # the default session timeout (2 hours)
CONCURRENT_LONG = 25  # production orgs: requests running 20 s or longer, at once
LONG_RUNNING_MS = 20_000


def _key(value: Any) -> str:
    return "" if value is None else str(value).lower()


def with_suffix(id15: str) -> str:
    """The 18-character, case-insensitive form of a 15-character record id."""
    out = ""
    for chunk in (id15[0:5], id15[5:10], id15[10:15]):
        bits = sum(1 << i for i, c in enumerate(chunk) if c.isupper())
        out += SUFFIX[bits]
    return id15 + out


@dataclass
class Record:
    object: str
    id: str
    fields: dict[str, Any]
    created: datetime
    modified: datetime
    deleted: bool = False

    def value(self, name: str) -> Any:
        system = {
            "Id": self.id,
            "IsDeleted": self.deleted,
            "CreatedDate": sf_time(self.created),
            "LastModifiedDate": sf_time(self.modified),
            "SystemModstamp": sf_time(self.modified),
        }
        return system[name] if name in system else self.fields.get(name)


@dataclass
class Session:
    client_id: str
    expires_at: float


@dataclass
class SalesforceOrg:
    seed: int
    my_domain: str = "sandbox-org.my.salesforce.com"
    client_id: str = field(default_factory=lambda: "3MVG9" + secrets.token_urlsafe(24).replace("-", "A"))
    client_secret: str = field(default_factory=lambda: secrets.token_hex(32).upper())
    org_id: str = field(default_factory=lambda: with_suffix("00D" + "5g" + secrets.token_hex(5)[:10].upper()))
    user_id: str = field(
        default_factory=lambda: with_suffix("005" + "5g" + secrets.token_hex(5)[:10].upper())
    )
    objects: dict[str, SObject] = field(default_factory=standard_objects)
    records: dict[str, dict[str, Record]] = field(default_factory=dict)
    sessions: dict[str, Session] = field(default_factory=dict)
    refresh_tokens: dict[str, str] = field(default_factory=dict)  # refresh token → client id
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)  # authorization code → its request
    answered_instance_url: str | None = None  # set by a test: the token answer names this org address
    revoked: bool = False  # the connected app's access revoked: no grant works any more
    daily_max: int = DAILY_API_REQUESTS
    used: int = 0
    concurrent_long: int = CONCURRENT_LONG
    long_running_ms: int = LONG_RUNNING_MS
    running: dict[int, float] = field(default_factory=dict)  # request → when it began (monotonic)
    max_long_running: int = 0
    session_seconds: float = SESSION_SECONDS
    jobs: dict[str, Any] = field(default_factory=dict)
    cursors: dict[str, tuple[list[str], list[str], str, bool]] = field(default_factory=dict)
    indexes: dict[tuple[str, str], dict[str, set[str]]] = field(default_factory=dict)  # lower value → ids
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    faults: CrmFaults = field(init=False)
    _next: int = 0
    _next_request: int = 0

    def __post_init__(self) -> None:
        self.faults = CrmFaults(self.seed)
        self.records = {name: {} for name in self.objects}
        self.standard_pricebook = self.insert(
            "Pricebook2", {"Name": STANDARD_PRICEBOOK_NAME, "IsActive": True}
        )
        self.records["Pricebook2"][self.standard_pricebook].fields["IsStandard"] = True

    # --- ids and sessions ------------------------------------------------------------------

    def new_id(self, prefix: str) -> str:
        with self.lock:
            self._next += 1
            n, digits = self._next, ""
            while n:
                n, r = divmod(n, 62)
                digits = ALPHABET[r] + digits
        return with_suffix(prefix + "5g" + digits.rjust(10, "0"))

    def issue_session(self) -> str:
        token = f"{self.org_id[:15]}!" + secrets.token_urlsafe(72)
        self.sessions[token] = Session(self.client_id, time.monotonic() + self.session_seconds)
        return token

    def session_valid(self, token: str) -> bool:
        session = self.sessions.get(token)
        return session is not None and not self.revoked and time.monotonic() < session.expires_at

    def expire_sessions(self) -> int:
        with self.lock:
            for session in self.sessions.values():
                session.expires_at = 0.0
            return len(self.sessions)

    def counts(self) -> dict[str, int]:
        with self.lock:
            live = {
                name: sum(1 for r in rows.values() if not r.deleted) for name, rows in self.records.items()
            }
        return {"contacts": live["Contact"], "orders": live["Order"]}

    # --- reading ---------------------------------------------------------------------------

    def sobject(self, name: str) -> SObject:
        found = self.objects.get(name) or next(
            (o for n, o in self.objects.items() if n.lower() == name.lower()), None
        )
        if found is None:
            raise SalesforceError("NOT_FOUND", "The requested resource does not exist", status=404)
        return found

    def get(self, obj: SObject, record_id: str, *, deleted: bool = False) -> Record:
        rows = self.records[obj.name]
        record = rows.get(record_id) or (rows.get(self._long_id(record_id)) if len(record_id) == 15 else None)
        if record is None or (record.deleted and not deleted):
            raise SalesforceError("NOT_FOUND", "The requested resource does not exist", status=404)
        return record

    @staticmethod
    def _long_id(record_id: str) -> str:
        return with_suffix(record_id)

    def by_external_id(self, obj: SObject, name: str, value: Any) -> list[Record]:
        f = obj.field(name)
        if f is None or not (f.external_id or f.type == "id"):
            raise SalesforceError(
                "NOT_FOUND",
                f"Provided external ID field does not exist or is not accessible: {name}",
                status=404,
            )
        if f.type == "id":
            return [r for r in [self.records[obj.name].get(str(value))] if r is not None and not r.deleted]
        return self.having(obj.name, f.name, value)

    def having(self, object_name: str, field_name: str, value: Any) -> list[Record]:
        """Live records whose field equals `value` (text compared case-insensitively, as external
        ids are), through an index kept from the first use on."""
        text = _key(value)
        if not text:
            return []
        rows = self.records[object_name]
        ids = self._index(object_name, field_name).get(text, set())
        return [rows[i] for i in sorted(ids) if i in rows and not rows[i].deleted]

    def _index(self, object_name: str, field_name: str) -> dict[str, set[str]]:
        index = self.indexes.get((object_name, field_name))
        if index is None:
            index = {}
            for record in self.records[object_name].values():
                index.setdefault(_key(record.fields.get(field_name)), set()).add(record.id)
            self.indexes[(object_name, field_name)] = index
        return index

    def _reindex(self, record: Record, before: dict[str, Any], after: dict[str, Any] | None) -> None:
        for (object_name, field_name), index in self.indexes.items():
            if object_name != record.object:
                continue
            index.get(_key(before.get(field_name)), set()).discard(record.id)
            if after is not None:
                index.setdefault(_key(after.get(field_name)), set()).add(record.id)

    # --- writing ---------------------------------------------------------------------------

    def insert(self, name: str, values: dict[str, Any]) -> str:
        """A record created outside any request (the org's own data, the control API)."""
        with self.lock:
            return self.write(self.objects[name], None, values)

    def write(
        self, obj: SObject, record: Record | None, values: dict[str, Any], *, from_csv: bool = False
    ) -> str:
        """Create (record None) or update a record from request values; SalesforceError if refused."""
        with self.lock:
            clean = self._checked_values(obj, record, values, from_csv)
            now, new = datetime.now(UTC), record is None
            if record is None:
                record = Record(obj.name, self.new_id(obj.key_prefix), {}, now, now)
                for name in obj.groups().checkboxes:
                    record.fields.setdefault(name, False)
                self._check_required(obj, clean)
            merged = record.fields | clean
            self._check_rules(obj, record, merged, new)
            self._check_unique(obj, record, merged)
            self._reindex(record, record.fields, merged)
            record.fields, record.modified = merged, max(now, record.modified)
            self.records[obj.name][record.id] = record
            self._derive(obj, record)
            return record.id

    def _checked_values(
        self, obj: SObject, record: Record | None, values: dict[str, Any], from_csv: bool
    ) -> dict[str, Any]:
        clean: dict[str, Any] = {}
        for name, value in values.items():
            if name == "attributes":
                continue
            f = obj.field(name)
            if f is None:
                raise SalesforceError(
                    "INVALID_FIELD", f"No such column '{name}' on sobject of type {obj.name}", [name]
                )
            allowed = f.createable if record is None else f.updateable
            if not allowed:
                raise SalesforceError(
                    "INVALID_FIELD_FOR_INSERT_UPDATE",
                    f"Unable to create/update fields: {f.name}. Please check the security settings of this "
                    "field and verify that it is read/write for your profile or permission set.",
                    [f.name],
                )
            clean[f.name] = checked(f, value, from_csv=from_csv)
            if f.type == "reference" and clean[f.name] is not None:
                self._check_reference(f, clean[f.name])
        return clean

    def _check_reference(self, f: Field, value: str) -> None:
        if len(value) not in (15, 18) or not value.isalnum():
            raise SalesforceError(
                "MALFORMED_ID", f"{f.label or f.name}: id value of incorrect type: {value}", [f.name]
            )
        for target in f.reference_to:
            found = self.records[target].get(value if len(value) == 18 else with_suffix(value))
            if found is not None and not found.deleted:
                return
        raise SalesforceError("INVALID_CROSS_REFERENCE_KEY", f"invalid cross reference id: {value}", [f.name])

    @staticmethod
    def _check_required(obj: SObject, clean: dict[str, Any]) -> None:
        missing = [f.name for f in obj.groups().required if clean.get(f.name) is None]
        if missing:
            raise SalesforceError(
                "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]", missing
            )

    def _check_rules(self, obj: SObject, record: Record, merged: dict[str, Any], new: bool) -> None:
        """What Salesforce checks beyond types: an order line's price book entry must be in its
        order's price book, an activated order takes no new lines, and a custom price needs a
        standard price first."""
        if obj.name == "OrderItem":
            order = self.records["Order"][self._full(merged["OrderId"])]
            if new:
                self._check_draft(order)
            entry = self.records["PricebookEntry"][self._full(merged["PricebookEntryId"])]
            if order.fields.get("Pricebook2Id") != entry.fields["Pricebook2Id"]:
                raise SalesforceError(
                    "FIELD_INTEGRITY_EXCEPTION",
                    "Order Products must have a Price Book Entry that belongs to the Price Book related to "
                    "the parent Order.: Price Book Entry ID",
                    ["PricebookEntryId"],
                )
            merged["Product2Id"] = entry.fields["Product2Id"]
        if obj.name == "PricebookEntry" and merged["Pricebook2Id"] != self.standard_pricebook:
            product = merged["Product2Id"]
            entries = self.having("PricebookEntry", "Product2Id", product)
            standard = [e for e in entries if e.fields["Pricebook2Id"] == self.standard_pricebook]
            if not standard:
                raise SalesforceError(
                    "STANDARD_PRICE_NOT_DEFINED",
                    "No standard price defined for this product",
                    [],
                )

    @staticmethod
    def _check_draft(order: Record) -> None:
        if order.fields.get("Status") == "Activated":
            raise SalesforceError(
                "FIELD_INTEGRITY_EXCEPTION",
                "You can't add or delete order products on an activated order.: Order ID",
                ["OrderId"],
            )

    def _full(self, record_id: str) -> str:
        return record_id if len(record_id) == 18 else with_suffix(record_id)

    def _check_unique(self, obj: SObject, record: Record, merged: dict[str, Any]) -> None:
        for f in obj.groups().unique:
            value = merged.get(f.name)
            if value in (None, ""):
                continue
            for other in self.having(obj.name, f.name, value):
                if other.id != record.id:
                    raise SalesforceError(
                        "DUPLICATE_VALUE",
                        f"duplicate value found: {f.name} duplicates value on record with id: {other.id}",
                        [f.name],
                    )

    def _derive(self, obj: SObject, record: Record) -> None:
        """Fields Salesforce computes: a contact's Name, a line's total and its order's amount."""
        if obj.name == "Contact":
            parts = (record.fields.get("FirstName"), record.fields.get("LastName"))
            record.fields["Name"] = " ".join(p for p in parts if p)
        if obj.name == "OrderItem":
            record.fields["TotalPrice"] = round(record.fields["Quantity"] * record.fields["UnitPrice"], 2)
            self._total(record.fields["OrderId"])

    def _total(self, order_id: str) -> None:
        order = self.records["Order"].get(self._full(order_id))
        if order is not None:
            lines = self.having("OrderItem", "OrderId", order.id)
            order.fields["TotalAmount"] = round(sum(r.fields["TotalPrice"] for r in lines), 2)

    def delete(self, obj: SObject, record: Record, *, hard: bool = False) -> None:
        """To the recycle bin (or gone, `hard`); an order takes its lines with it, an account its
        contacts, opportunities and cases (Salesforce's cascading delete)."""
        with self.lock:
            if obj.name == "Account":
                for child in ("Contact", "Opportunity", "Case"):
                    for held in self.having(child, "AccountId", record.id):
                        self._remove(held, hard)
            if obj.name == "Order":
                for line in self.having("OrderItem", "OrderId", record.id):
                    self._remove(line, hard)
            if obj.name == "OrderItem":
                self._check_draft(self.records["Order"][self._full(record.fields["OrderId"])])
            self._remove(record, hard)
            if obj.name == "OrderItem":
                self._total(record.fields["OrderId"])

    def _remove(self, record: Record, hard: bool) -> None:
        if hard:
            self.records[record.object].pop(record.id, None)
            self._reindex(record, record.fields, None)
        else:
            record.deleted, record.modified = True, datetime.now(UTC)

    def add_field(self, object_name: str, f: Field) -> None:
        with self.lock:
            obj = self.sobject(object_name)
            if obj.field(f.name) is not None:
                raise SalesforceError(
                    "DUPLICATE_DEVELOPER_NAME", f"There is already a field named {f.name} on {obj.name}."
                )
            obj.add(f)

    # --- the daily allocation --------------------------------------------------------------

    def charge(self) -> bool:
        """Count one API request; False when the day's allocation is spent."""
        with self.lock:
            if self.used >= self.daily_max:
                return False
            self.used += 1
            return True

    def begin_request(self) -> int | None:
        """Count a request in progress; None (not counted) while `concurrent_long` requests have
        been running `long_running_ms` or longer (shorter ones have no limit)."""
        with self.lock:
            now = time.monotonic()
            long = sum(1 for began in self.running.values() if (now - began) * 1000 >= self.long_running_ms)
            self.max_long_running = max(self.max_long_running, long)
            if long >= self.concurrent_long:
                return None
            self._next_request += 1
            self.running[self._next_request] = now
            return self._next_request

    def end_request(self, ticket: int) -> None:
        with self.lock:
            self.running.pop(ticket, None)

    def limit_info(self) -> str:
        return f"api-usage={self.used}/{self.daily_max}"
