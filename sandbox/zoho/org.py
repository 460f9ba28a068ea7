"""One Zoho CRM org's live state: the data center it lives in, its client's credentials and the
tokens issued, its records per module (ids are 19-digit numbers as Zoho issues), the day's API
credits and faults. Every write goes through `save`, which checks it against the module's fields
and finds the record a duplicate-check field already names."""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sandbox.crm_faults import CrmFaults
from sandbox.zoho.schema import SYSTEM, Module, RecordError, ZField, checked, standard_modules, zoho_time


def _key(value: Any) -> str:
    return "" if value is None else str(value).lower()


# data center → (accounts host, API host), as Zoho's multi-DC documentation lists them
DATA_CENTERS = {
    "us": ("accounts.zoho.com", "www.zohoapis.com"),
    "eu": ("accounts.zoho.eu", "www.zohoapis.eu"),
    "in": ("accounts.zoho.in", "www.zohoapis.in"),
    "au": ("accounts.zoho.com.au", "www.zohoapis.com.au"),
    "jp": ("accounts.zoho.jp", "www.zohoapis.jp"),
    "ca": ("accounts.zohocloud.ca", "www.zohoapis.ca"),
    "cn": ("accounts.zoho.com.cn", "www.zohoapis.com.cn"),
    "sa": ("accounts.zoho.sa", "www.zohoapis.sa"),
}
DAILY_CREDITS = 60_000  # Enterprise: 50,000 + 1,000 per user licence, with 10 users
CONCURRENCY = 20  # Enterprise: API calls one org may have in progress at once
SUB_CONCURRENCY = 10  # every edition: heavy calls (a write of more than 10 records) at once
RECORDS_PER_CREDIT = 10  # an insert, update or upsert costs 1 credit per 10 records
CREDITS_SHOWN_FROM = 0.5  # X-API-CREDITS-REMAINING is sent once half the day's credits are used
TOKEN_SECONDS = 3600
MAX_RECORDS = 100  # per insert, update, upsert or delete call


@dataclass
class ZRecord:
    module: str
    id: str
    values: dict[str, Any]
    created: datetime
    modified: datetime

    def json(self, owner: dict[str, str], names: list[str] | None = None) -> dict[str, Any]:
        system = {
            "id": self.id,
            "Created_Time": zoho_time(self.created),
            "Modified_Time": zoho_time(self.modified),
            "Owner": owner | {"email": "admin@sandbox.example"},
            "Created_By": owner,
            "Modified_By": owner,
        }
        full = system | self.values
        return full if names is None else {"id": self.id} | {n: full.get(n) for n in names}


@dataclass
class ZohoOrg:
    seed: int
    dc: str = "us"
    client_id: str = field(default_factory=lambda: "1000." + secrets.token_hex(15).upper())
    client_secret: str = field(default_factory=lambda: secrets.token_hex(21))
    refresh_token: str = field(
        default_factory=lambda: f"1000.{secrets.token_hex(16)}.{secrets.token_hex(16)}"
    )
    user_id: str = field(default_factory=lambda: str(5_725_767_000_000_000_000 + secrets.randbelow(10**9)))
    modules: dict[str, Module] = field(default_factory=standard_modules)
    records: dict[str, dict[str, ZRecord]] = field(default_factory=dict)
    deleted: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    tokens: dict[str, float] = field(default_factory=dict)  # access token → expires at (monotonic)
    refresh_tokens: set[str] = field(default_factory=set)
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)  # grant code → client, redirect, expiry
    revoked: bool = False
    daily_credits: int = DAILY_CREDITS
    used: int = 0
    concurrency: int = CONCURRENCY
    in_flight: int = 0
    max_in_flight: int = 0
    sub_concurrency: int = SUB_CONCURRENCY
    # a record changed this recently is not yet in the search index (how soon Zoho indexes one
    # is UNVERIFIED; 0, the default, indexes at once); COQL reads what is held
    search_lag_s: int = 0
    sub_in_flight: int = 0
    max_sub_in_flight: int = 0
    indexes: dict[tuple[str, str], dict[str, set[str]]] = field(default_factory=dict)  # lower value → ids
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    faults: CrmFaults = field(init=False)
    _next: int = 0

    def __post_init__(self) -> None:
        if self.dc not in DATA_CENTERS:
            raise ValueError(
                f"--zoho-dc {self.dc!r} is not a Zoho data center: one of {', '.join(DATA_CENTERS)}"
            )
        self.faults = CrmFaults(self.seed + 1)
        self.records = {name: {} for name in self.modules}
        self.deleted = {name: [] for name in self.modules}
        self.refresh_tokens.add(self.refresh_token)

    def routes(self) -> dict[str, str]:
        out = {}
        for dc, (accounts, api) in DATA_CENTERS.items():
            out[accounts] = f"/zoho/{dc}/accounts"
            out[api] = f"/zoho/{dc}/api"
        return out

    @property
    def owner(self) -> dict[str, str]:
        return {"name": "Sandbox Admin", "id": self.user_id}

    def new_id(self) -> str:
        with self.lock:
            self._next += 1
            return str(5_725_767_000_000_000_000 + 10_000_000 + self._next * 7)

    def issue_token(self) -> str:
        token = f"1000.{secrets.token_hex(16)}.{secrets.token_hex(16)}"
        self.tokens[token] = time.monotonic() + TOKEN_SECONDS
        return token

    def token_state(self, token: str) -> str:
        """'valid', 'expired' or 'unknown'."""
        expires = self.tokens.get(token)
        if expires is None or self.revoked:
            return "unknown"
        return "valid" if time.monotonic() < expires else "expired"

    def expire_tokens(self) -> int:
        with self.lock:
            for token in self.tokens:
                self.tokens[token] = 0.0
            return len(self.tokens)

    def enter(self) -> bool:
        """Count a call in progress; False (and not counted) past the concurrency limit."""
        with self.lock:
            if self.in_flight >= self.concurrency:
                return False
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            return True

    def leave(self) -> None:
        with self.lock:
            self.in_flight -= 1

    def enter_heavy(self) -> bool:
        """Count a heavy call in progress; False (and not counted) past the sub-concurrency limit."""
        with self.lock:
            if self.sub_in_flight >= self.sub_concurrency:
                return False
            self.sub_in_flight += 1
            self.max_sub_in_flight = max(self.max_sub_in_flight, self.sub_in_flight)
            return True

    def leave_heavy(self) -> None:
        with self.lock:
            self.sub_in_flight -= 1

    def credits_header(self) -> dict[str, str]:
        """`X-API-CREDITS-REMAINING` once half the day's credits are used, as Zoho sends it."""
        with self.lock:
            if self.used < self.daily_credits * CREDITS_SHOWN_FROM:
                return {}
            return {"X-API-CREDITS-REMAINING": str(max(0, self.daily_credits - self.used))}

    def charge(self, credits: int = 1) -> bool:
        with self.lock:
            if self.used + credits > self.daily_credits:
                return False
            self.used += credits
            return True

    def counts(self) -> dict[str, int]:
        with self.lock:
            return {"contacts": len(self.records["Contacts"]), "orders": len(self.records["Sales_Orders"])}

    def module(self, name: str) -> Module | None:
        return self.modules.get(name) or next(
            (m for n, m in self.modules.items() if n.lower() == name.lower()), None
        )

    # --- writing ---------------------------------------------------------------------------

    def find(
        self, module: Module, names: list[str], values: dict[str, Any]
    ) -> tuple[ZRecord | None, str | None]:
        """The record the first of `names` (duplicate-check fields) with a value matches."""
        for name in names:
            value = values.get(name)
            if value in (None, ""):
                continue
            rows = self.records[module.api_name]
            ids = sorted(i for i in self._index(module.api_name, name).get(_key(value), set()) if i in rows)
            if ids:
                return rows[ids[0]], name
        return None, None

    def _index(self, module: str, name: str) -> dict[str, set[str]]:
        index = self.indexes.get((module, name))
        if index is None:
            index = {}
            for record in self.records[module].values():
                index.setdefault(_key(record.values.get(name)), set()).add(record.id)
            self.indexes[(module, name)] = index
        return index

    def _reindex(self, record: ZRecord, before: dict[str, Any], after: dict[str, Any] | None) -> None:
        for (module, name), index in self.indexes.items():
            if module == record.module:
                index.get(_key(before.get(name)), set()).discard(record.id)
                if after is not None:
                    index.setdefault(_key(after.get(name)), set()).add(record.id)

    def save(self, module: Module, record: ZRecord | None, values: Any, index: int) -> ZRecord:
        """Create (record None) or update from one request record; RecordError if refused."""
        if not isinstance(values, dict):
            raise RecordError("INVALID_DATA", "invalid data", {"json_path": f"$.data[{index}]"})
        clean: dict[str, Any] = {}
        for name, value in values.items():
            if name in ("id", "$append_values") or name.startswith("$"):
                continue
            f = module.fields.get(name)
            path = f"$.data[{index}].{name}"
            if f is None:
                continue  # Zoho ignores a key that names no field
            if f.read_only:
                raise RecordError(
                    "INVALID_DATA", "the field is read only", {"api_name": name, "json_path": path}
                )
            clean[name] = self._value(f, value, path)
        defaults = {f.api_name: False for f in module.fields.values() if f.data_type == "boolean"}
        merged = (record.values if record else defaults) | clean
        if record is None:
            for f in module.fields.values():
                if f.mandatory and merged.get(f.api_name) in (None, "", []):
                    raise RecordError(
                        "MANDATORY_NOT_FOUND",
                        "required field not found",
                        {"api_name": f.api_name, "json_path": f"$.data[{index}].{f.api_name}"},
                    )
        self._unique(module, record, merged, index)
        now = datetime.now(UTC)
        if record is None:
            record = ZRecord(module.api_name, self.new_id(), {}, now, now)
        self._reindex(record, record.values, merged)
        record.values, record.modified = merged, max(now, record.modified)
        self._derive(module, record)
        self.records[module.api_name][record.id] = record
        return record

    def _value(self, f: ZField, value: Any, path: str) -> Any:
        if f.data_type == "lookup":
            target = value.get("id") if isinstance(value, dict) else None
            if target is None or str(target) not in self.records.get(f.lookup or "", {}):
                raise RecordError(
                    "INVALID_DATA",
                    "the related id given seems to be invalid",
                    {"api_name": f.api_name, "json_path": path},
                )
            return {"id": str(target), "name": self._name_of(f.lookup or "", str(target))}
        if f.data_type == "subform":
            return self._lines(value, path)
        if f.data_type == "picklist":
            return value if isinstance(value, str) or value is None else str(value)
        return checked(f, value, path)

    def _name_of(self, module: str, record_id: str) -> str:
        values = self.records[module][record_id].values
        return str(values.get("Full_Name") or values.get("Product_Name") or values.get("Subject") or "")

    def _lines(self, value: Any, path: str) -> list[dict[str, Any]]:
        if not isinstance(value, list) or not value:
            raise RecordError(
                "INVALID_DATA", "invalid data", {"api_name": "Ordered_Items", "json_path": path}
            )
        out = []
        for n, line in enumerate(value):
            at = f"{path}[{n}]"
            product = line.get("Product_Name") if isinstance(line, dict) else None
            product_id = str(product.get("id")) if isinstance(product, dict) else ""
            if product_id not in self.records["Products"]:
                raise RecordError(
                    "INVALID_DATA",
                    "the related id given seems to be invalid",
                    {"api_name": "Product_Name", "json_path": f"{at}.Product_Name"},
                )
            quantity = line.get("Quantity")
            if isinstance(quantity, bool) or not isinstance(quantity, int | float) or quantity <= 0:
                raise RecordError(
                    "INVALID_DATA",
                    "invalid data",
                    {"api_name": "Quantity", "json_path": f"{at}.Quantity", "expected_data_type": "double"},
                )
            price = line.get("List_Price", self.records["Products"][product_id].values.get("Unit_Price") or 0)
            if isinstance(price, bool) or not isinstance(price, int | float):
                raise RecordError(
                    "INVALID_DATA",
                    "invalid data",
                    {
                        "api_name": "List_Price",
                        "json_path": f"{at}.List_Price",
                        "expected_data_type": "double",
                    },
                )
            discount = line.get("Discount", 0) or 0
            total = round(quantity * price - discount, 2)
            out.append(
                {
                    "id": self.new_id(),
                    "Product_Name": {"id": product_id, "name": self._name_of("Products", product_id)},
                    "Quantity": quantity,
                    "List_Price": price,
                    "Discount": discount,
                    "Total": total,
                }
            )
        return out

    def _unique(self, module: Module, record: ZRecord | None, merged: dict[str, Any], index: int) -> None:
        for f in module.fields.values():
            value = merged.get(f.api_name)
            if not (f.unique or f.api_name in module.duplicate_check) or value in (None, ""):
                continue
            found, _ = self.find(module, [f.api_name], merged)
            if found is not None and (record is None or found.id != record.id):
                raise RecordError(
                    "DUPLICATE_DATA",
                    "duplicate data",
                    {
                        "api_name": f.api_name,
                        "json_path": f"$.data[{index}].{f.api_name}",
                        "duplicate_record": {"id": found.id, "module": {"api_name": module.api_name}},
                    },
                )

    @staticmethod
    def _derive(module: Module, record: ZRecord) -> None:
        if module.api_name == "Contacts":
            parts = (record.values.get("First_Name"), record.values.get("Last_Name"))
            record.values["Full_Name"] = " ".join(p for p in parts if p)
        if module.api_name == "Sales_Orders":
            total = round(sum(line["Total"] for line in record.values.get("Ordered_Items", [])), 2)
            record.values["Sub_Total"] = record.values["Grand_Total"] = total

    def delete(self, module: Module, record_id: str) -> bool:
        with self.lock:
            record = self.records[module.api_name].pop(record_id, None)
            if record is None:
                return False
            self._reindex(record, record.values, None)
            for rows in self.records.values():  # a lookup to a deleted record is emptied
                for other in rows.values():
                    for name, value in other.values.items():
                        if isinstance(value, dict) and value.get("id") == record_id:
                            other.values[name] = None
            self.deleted[module.api_name].append(
                {
                    "id": record.id,
                    "deleted_time": zoho_time(datetime.now(UTC)),
                    "type": "recycle",
                    "deleted_by": self.owner,
                }
            )
            return True

    def add_field(self, module: Module, f: ZField) -> None:
        with self.lock:
            if f.api_name in module.fields or f.api_name in SYSTEM:
                raise RecordError("DUPLICATE_DATA", "duplicate data", {"api_name": "field_label"})
            module.fields[f.api_name] = f
