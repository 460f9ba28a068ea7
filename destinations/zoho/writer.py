"""Pushing to Zoho CRM in batches: upserts of 100 records a call by the connector's unique id
field (`duplicate_check_fields`), each record answered on its own (a refusal kept with Zoho's
reason, the rest written); an order's lines become Products (upserted by name) and Ordered_Items,
and its contact is set as the Sales_Order's Contact_Name lookup; erasures delete; opt-outs
(`Email_Opt_Out`) are read back with the record's time. A batch's calls of 100 go up to
`PARALLEL` at once (Zoho's sub-concurrency limit for writes of more than 10 records), one lane
fewer after each throttle; throttles and 5xx are retried, paced; spent credits stop the push.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar

from connector import logs
from connector.errors import RetryLater
from destinations.pacing import Lanes, Pacing
from destinations.records import FieldMap, Optout, Outcome, Record
from destinations.zoho import connect
from destinations.zoho.client import BATCH, ZohoClient
from destinations.zoho.client import Outcome as Answer
from destinations.zoho.mapper import ID_FIELD, MODULE, ordered_items, products_of, values

log = logs.get(__name__)
T = TypeVar("T")
OPTOUT = "Email_Opt_Out"
CONSENT = "Connector_Email_Consent"  # what the connector last pushed: an opt-out it already knows
READ = f"Email,{OPTOUT},{CONSENT},Modified_Time"
MAX_WAIT_S = 60.0  # a longer Retry-After is cut to this: at worst the try is throttled again
LONGEST_WAIT_S = 300.0  # a wait asked for longer than this (the day's credits spent) is the caller's
QUERY_ANY = 50  # values a COQL `in` takes at most (its limit asks for twice: one unique key each)
PARALLEL = 10  # calls in flight at once: the sub-concurrency limit, below every paid edition's limit
Rows = list[dict[str, Any]]


class ZohoSession:
    def __init__(self, credentials: Mapping[str, Any], base_url: str | None, pacing: Pacing | None) -> None:
        self.pacing = pacing or Pacing()
        self.lanes = Lanes(PARALLEL)
        self.making = threading.Lock()
        self.client = ZohoClient(
            base_url or str(credentials["accounts_url"]),
            str(credentials["client_id"]),
            str(credentials["client_secret"]),
            str(credentials["refresh_token"]),
        )

    def _paced(self, call: Callable[[], T]) -> T:
        """The call in a lane, tried again while Zoho says later (its Retry-After first, else
        backoff, waited outside the lane); a wait longer than LONGEST_WAIT_S is the caller's."""
        last: RetryLater | None = None
        for attempt in range(self.pacing.max_tries):
            if attempt:
                self.pacing.count(retries=1)
                asked = last.retry_after if last and last.retry_after is not None else None
                backoff = self.pacing.backoff_s * 2 ** (attempt - 1)
                self.pacing.wait(min(asked if asked is not None else backoff, MAX_WAIT_S))
            self.pacing.count(calls=1)
            try:
                with self.lanes.lane():
                    answer = call()
                self.lanes.widen()
                return answer
            except RetryLater as exc:
                if exc.retry_after is not None and exc.retry_after > LONGEST_WAIT_S:
                    raise
                self.lanes.narrow()
                last = exc
        assert last is not None
        raise last

    def _each(self, call: Callable[[Rows], Answer], rows: Rows) -> list[Answer]:
        """`call` on each BATCH of rows, up to the lanes' width at once; the first failure raises
        (after the calls under way have ended), so the batch's marks stay."""
        parts = [rows[start : start + BATCH] for start in range(0, len(rows), BATCH)]
        if len(parts) <= 1:
            return [self._paced(partial(call, part)) for part in parts]
        with ThreadPoolExecutor(min(self.lanes.most, len(parts))) as pool:
            return list(pool.map(lambda part: self._paced(partial(call, part)), parts))

    def prepare(self) -> list[str]:
        return self._paced(lambda: connect.prepare(self.client))

    def missing_fields(self) -> list[str]:
        return self._paced(lambda: connect.missing(self.client))

    def known_fields(self, obj: str) -> set[str]:
        fields = self._paced(lambda: self.client.fields(MODULE[obj]))
        return {str(f.get("api_name")) for f in fields}

    def upsert(self, obj: str, records: Sequence[Record], mapping: FieldMap) -> Outcome:
        outcome = Outcome()
        fields, key = dict(mapping[obj]), ID_FIELD[obj]
        fields[key] = "id"
        part = list(records)
        rows: Rows = [values(r.fields, fields) for r in part]
        if obj == "orders" and part:
            products = self._products(part)
            for row, r in zip(rows, part, strict=True):
                row["Ordered_Items"] = ordered_items(r.fields, products)
        for answer in self._each(partial(self.client.upsert, MODULE[obj], key), rows):
            outcome.pushed |= {int(k): v for k, v in answer.saved.items()}
            outcome.refused |= {int(k): why for k, why in answer.refused.items()}
        return outcome

    def _products(self, orders: list[Record]) -> dict[str, str]:
        """The Products these orders' lines name, upserted by Product_Name: name → Zoho id (one
        batch's thread at a time, so two batches never make one new product twice)."""
        with self.making:
            return self._upsert_products(orders)

    def _upsert_products(self, orders: list[Record]) -> dict[str, str]:
        wanted: dict[str, dict[str, Any]] = {}
        for r in orders:
            for product in products_of(r.fields):
                wanted.setdefault(product["Product_Name"].lower(), product)
        saved: dict[str, str] = {}
        upsert = partial(self.client.upsert, "Products", "Product_Name")
        for answer in self._each(upsert, list(wanted.values())):
            if answer.refused:
                log.warning("zoho refused products", extra={"refused": len(answer.refused)})
            saved |= {name.lower(): zoho_id for name, zoho_id in answer.saved.items()}
        return saved

    def associate(self, pairs: Sequence[tuple[str, str]]) -> None:
        """Each Sales_Order's Contact_Name set to its contact (a lookup, updated by order id)."""
        rows: Rows = [{"id": order, "Contact_Name": {"id": contact}} for order, contact in pairs]
        for answer in self._each(partial(self.client.update, MODULE["orders"]), rows):
            if answer.refused:
                log.warning("zoho refused order contacts", extra={"refused": len(answer.refused)})

    def erase(self, obj: str, external_ids: Sequence[str], *, for_good: bool, mapping: FieldMap) -> None:
        """Deleted, to the org's Recycle Bin even `for_good`: Zoho's API has no permanent delete."""
        for start in range(0, len(external_ids), BATCH):
            part = list(external_ids[start : start + BATCH])
            self._paced(partial(self.client.delete, MODULE[obj], part))

    def ids_of(self, obj: str, record_ids: Sequence[int]) -> dict[int, str]:
        """Zoho's ids of these records, by the connector's key: a COQL query of QUERY_ANY at once
        (what the org holds now; a search's index may not have a record just sent yet)."""
        key, found = ID_FIELD[obj], dict[int, str]()
        for start in range(0, len(record_ids), QUERY_ANY):
            part = ", ".join(f"'{int(i)}'" for i in record_ids[start : start + QUERY_ANY])
            select = f"select id, {key} from {MODULE[obj]} where {key} in ({part}) limit {QUERY_ANY * 2}"
            rows = self._paced(partial(self.client.query, select))
            found |= {int(row[key]): str(row["id"]) for row in rows if str(row.get(key, "")).isdigit()}
        return found

    def optouts(self, external_ids: Sequence[str]) -> list[Optout]:
        """Of these contacts, those opted out of e-mail in Zoho that the connector has not yet
        pushed as unsubscribed, with the record's time (Zoho keeps no time for the flag alone)."""
        ours = set(external_ids)
        rows = self._paced(
            lambda: list(self.client.search(MODULE["contacts"], f"({OPTOUT}:equals:true)", READ))
        )
        return [
            Optout(external_id=str(row["id"]), channel="email", occurred_at=_moment(row), source="zoho")
            for row in rows
            if str(row.get("id")) in ours and row.get(OPTOUT) is True and row.get(CONSENT) != "unsubscribed"
        ]

    def renewed(self) -> dict[str, Any] | None:
        return None  # its refresh token stays as granted; access tokens live for the session only

    def close(self) -> None:
        self.client.close()


def _moment(row: dict[str, Any]) -> datetime:
    try:
        return datetime.fromisoformat(str(row.get("Modified_Time"))).astimezone(UTC)
    except ValueError:
        return datetime.now(UTC)
