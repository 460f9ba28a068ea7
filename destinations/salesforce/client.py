"""A Salesforce client for one org, on simple-salesforce: signed in by the client-credentials
grant (again once when the session expires), it upserts a batch by an external-id field —
sObject Collections, 200 records a call, for a small batch; Bulk API 2.0 for a large one (one
job, or jobs of half as many rows while its CSV is over 100 MB) — deletes by external id (to
the recycle bin, or for good with a Bulk 2.0 hardDelete), reads the opt-outs changed since a
time, and keeps a reserve of the daily allocation that `Sforce-Limit-Info` reports. Failures
become connector errors named for the next action: the allocation spent ("TotalRequests")
stops the push at once, the concurrent long-running limit ("ConcurrentRequests") is waited out
with backoff, a call with no answer in TIMEOUT_S is RetryLater."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceError,
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceRefusedRequest,
)

from connector import logs
from connector.errors import FailPermanently, Reauthorize, RetryLater
from destinations.oauth import token_grant
from destinations.pacing import Pacing
from destinations.salesforce import bulk
from destinations.salesforce.texts import bulk_reason, reason, soql_text

API_VERSION = "62.0"
COLLECTION_SIZE = 200  # records per sObject Collections call
BULK_FROM = 2000  # Salesforce's guidance: past about 2,000 records, Bulk API 2.0
LONGEST_WAIT_S = 300.0  # a wait asked for longer than this (the daily reserve) is the caller's
BULK_POLL_S = 0.25  # a Bulk job's first status poll after this; bulk._wait doubles the next ones
# a delete answered with these finds the record gone already (deleted meanwhile): done; to the
# recycle bin, one there already (ENTITY_IS_DELETED) is done too, not for good
GONE = ("NOT_FOUND", "INVALID_CROSS_REFERENCE_KEY")
IN_THE_BIN = "ENTITY_IS_DELETED"
# the objects an erasure deletes, by their ids' key prefix, in the order they go
PREFIXES = {"802": "OrderItem", "801": "Order", "003": "Contact", "001": "Account"}
TIMEOUT_S = 120.0  # one call's answer at most (a Bulk upload of 100 MB included)
RESERVE = 0.05  # the share of the daily allocation left to the merchant's other integrations
T = TypeVar("T")
log = logs.get(__name__)


@dataclass
class Outcome:
    """What a batch did: external id → record id for those saved, → reason for those refused."""

    saved: dict[str, str] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)
    created: set[str] = field(default_factory=set)  # of those saved, the external ids made new


@dataclass(frozen=True)
class OptOut:
    email: str
    external_id: str | None
    at: datetime


class SalesforceClient:
    def __init__(
        self,
        instance_url: str,
        client_id: str,
        client_secret: str,
        *,
        session: requests.Session | None = None,
        version: str = API_VERSION,
        pacing: Pacing | None = None,
        refresh_token: str | None = None,
    ) -> None:
        self.instance_url, self.version = instance_url.rstrip("/"), version
        self._credentials = {"client_id": client_id, "client_secret": client_secret}
        if refresh_token:  # a merchant's consent from the dashboard rather than client credentials
            self._credentials["refresh_token"] = refresh_token
        self._session = session or _TimedSession()
        self._sf: Salesforce | None = None
        self._signing_in = threading.Lock()  # batches in threads of their own sign in once
        self.pacing = pacing  # None: one try, RetryLater to the caller

    # --- the session ----------------------------------------------------------------------

    def sign_in(self) -> Salesforce:
        """The refresh-token grant where one was given, else the client-credentials grant;
        Reauthorize if the app's credentials (or the grant) are refused."""
        kind = "refresh_token" if "refresh_token" in self._credentials else "client_credentials"
        grant = {"grant_type": kind} | self._credentials
        try:
            body = token_grant(self._session, self.instance_url + "/services/oauth2/token", grant)
        except Reauthorize as refused:
            raise Reauthorize(f"Salesforce refused the app's credentials ({refused.detail})") from None
        self._sf = Salesforce(
            instance_url=str(body.get("instance_url") or self.instance_url),
            session_id=body["access_token"],
            session=self._session,
            version=self.version,
        )
        return self._sf

    def _call(self, action: Callable[[Salesforce], T]) -> T:
        """`_call_once`, tried again with backoff while Salesforce says later (with `pacing`;
        Salesforce sends no Retry-After) — unless the wait asked for is the daily reserve's."""
        tries = self.pacing.max_tries if self.pacing else 1
        for attempt in range(tries):
            try:
                return self._call_once(action)
            except RetryLater as exc:
                if self.pacing is None or (exc.retry_after or 0) > LONGEST_WAIT_S:
                    raise
                if attempt + 1 == tries:
                    raise RetryLater(
                        f"{exc.reason} ({tries} tries)", retry_after=exc.retry_after, detail=exc.detail
                    ) from None
                self.pacing.count(retries=1)
                self.pacing.wait(min(self.pacing.backoff_s * 2**attempt, 60.0))
        raise AssertionError("unreachable")

    def _call_once(self, action: Callable[[Salesforce], T]) -> T:
        """Run `action`, signing in again once if the session expired, with errors as actions."""
        for attempt in (1, 2):
            sf = self._session_for_call()
            self._check_reserve(sf)
            try:
                return action(sf)
            except SalesforceExpiredSession:
                self._expired(sf)
                if attempt == 2:
                    raise Reauthorize("Salesforce refused the session twice: reconnect the org") from None
            except SalesforceRefusedRequest as exc:
                raise _refused(exc) from None
            except SalesforceGeneralError as exc:
                if exc.status >= 500:
                    raise RetryLater(
                        f"Salesforce answered {exc.status}", detail=_first_message(exc)
                    ) from None
                raise FailPermanently(
                    f"Salesforce refused the request ({exc.status})", detail=_first_message(exc)
                ) from None
            except SalesforceError as exc:
                raise FailPermanently(
                    f"Salesforce refused the request ({exc.status})", detail=_first_message(exc)
                ) from None
            except requests.RequestException as exc:  # the line cut, or no answer in TIMEOUT_S
                raise RetryLater("Salesforce could not be reached", detail=type(exc).__name__) from None
        raise AssertionError("unreachable")

    def _session_for_call(self) -> Salesforce:
        """The signed-in session, signing in first (once, whichever thread asks first)."""
        with self._signing_in:
            return self._sf or self.sign_in()

    def _expired(self, sf: Salesforce) -> None:
        """Forget an expired session, unless another thread already signed in again."""
        with self._signing_in:
            if self._sf is sf:
                self._sf = None

    def _check_reserve(self, sf: Salesforce) -> None:
        usage = sf.api_usage.get("api-usage")
        if usage is not None and usage.total and usage.used >= usage.total * (1 - RESERVE):
            raise RetryLater(
                f"Salesforce's daily API allocation is {usage.used} of {usage.total} used; the rest is kept",
                retry_after=3600.0,
            )

    @property
    def http(self) -> requests.Session:
        return self._session

    @property
    def usage(self) -> tuple[int, int] | None:
        """(used, allocation) as the last answer's Sforce-Limit-Info said."""
        found = self._sf.api_usage.get("api-usage") if self._sf else None
        return (found.used, found.total) if found is not None else None

    # --- writing ---------------------------------------------------------------------------

    def upsert(self, sobject: str, external_field: str, records: list[dict[str, Any]]) -> Outcome:
        """Every record carries `external_field`; the rest are the fields to set."""
        if len(records) >= BULK_FROM:
            return Outcome(*bulk.upsert(self._call, sobject, external_field, records, BULK_POLL_S))
        outcome = Outcome()
        for start in range(0, len(records), COLLECTION_SIZE):
            chunk = records[start : start + COLLECTION_SIZE]
            body = {"allOrNone": False, "records": [{"attributes": {"type": sobject}} | r for r in chunk]}
            path = f"composite/sobjects/{sobject}/{external_field}"
            results = self._call(_restful(path, "PATCH", json=body))
            for record, result in zip(chunk, cast(list[dict[str, Any]], results), strict=True):
                key = str(record[external_field])
                if result["success"]:
                    outcome.saved[key] = result["id"]
                    if result.get("created"):
                        outcome.created.add(key)
                else:
                    outcome.refused[key] = reason(result["errors"])
        return outcome

    def create(self, sobject: str, key: str, records: list[dict[str, Any]]) -> Outcome:
        """New records by sObject Collections (200 a call); the outcome by each record's `key`
        value (a field it carries, e.g. a price book entry's Product2Id)."""
        return self._collections("POST", sobject, key, records)

    def update(self, sobject: str, records: list[dict[str, Any]]) -> Outcome:
        """Records changed by their Id (sObject Collections, 200 a call; None clears a field)."""
        return self._collections("PATCH", sobject, "Id", records)

    def _collections(self, method: str, sobject: str, key: str, records: list[dict[str, Any]]) -> Outcome:
        outcome = Outcome()
        for start in range(0, len(records), COLLECTION_SIZE):
            chunk = records[start : start + COLLECTION_SIZE]
            body = {"allOrNone": False, "records": [{"attributes": {"type": sobject}} | r for r in chunk]}
            results = self._call(_restful("composite/sobjects", method, json=body))
            for record, result in zip(chunk, cast(list[dict[str, Any]], results), strict=True):
                if result["success"]:
                    outcome.saved[str(record[key])] = result["id"]
                    if method == "POST":
                        outcome.created.add(str(record[key]))
                else:
                    outcome.refused[str(record[key])] = reason(result["errors"])
        return outcome

    def delete(
        self, sobject: str, external_field: str, values: list[str], *, for_good: bool = False
    ) -> Outcome:
        """Delete the records these external ids name (an erasure: `for_good`, no recycle bin)."""
        ids = self.ids_of(sobject, external_field, values)
        kept = self._kept(list(ids.values()), for_good=for_good)
        outcome = Outcome()
        for key, record_id in ids.items():
            if record_id in kept:
                outcome.refused[key] = bulk_reason(kept[record_id])
            else:
                outcome.saved[key] = record_id
        return outcome

    def ids_of(self, sobject: str, external_field: str, values: list[str]) -> dict[str, str]:
        """External id → Salesforce id, of the records these external ids name."""
        out: dict[str, str] = {}
        for start in range(0, len(values), 200):
            quoted = ",".join(soql_text(v) for v in values[start : start + 200])
            query = f"SELECT Id, {external_field} FROM {sobject} WHERE {external_field} IN ({quoted})"
            for row in self._records(query):
                out[str(row[external_field])] = row["Id"]
        return out

    def delete_ids(self, record_ids: list[str], *, for_good: bool = False) -> None:
        """Delete these records by their Salesforce ids (an erasure: `for_good`, a Bulk 2.0
        hardDelete, which needs the "Bulk API Hard Delete" permission); already gone is done.
        One Salesforce keeps for good is FailPermanently, in its words: an erasure is not reported
        done while the record stays; one kept from the recycle bin (a line of an order the
        merchant activated) is logged, and the push goes on."""
        kept = self._kept(record_ids, for_good=for_good)
        if kept and for_good:
            why = bulk_reason(next(iter(kept.values())))
            raise FailPermanently(f"Salesforce kept {len(kept)} record(s) it was asked to erase: {why}")
        if kept:
            why = bulk_reason(next(iter(kept.values())))
            log.warning(
                "salesforce kept records it was asked to delete", extra={"kept": len(kept), "reason": why}
            )

    def _kept(self, record_ids: list[str], *, for_good: bool) -> dict[str, str]:
        """Delete these records: id → Salesforce's error ("CODE:message") for each still there."""
        kept: dict[str, str] = {}
        if for_good:
            known = tuple(PREFIXES)
            kept |= {
                i: "UNKNOWN_OBJECT:not an object the connector erases"
                for i in record_ids
                if not i.startswith(known)
            }
            for sobject, ids in self._objects_of(record_ids).items():
                kept |= bulk.hard_delete(self._call, sobject, ids, BULK_POLL_S)
            return _not_gone(kept, GONE)
        for start in range(0, len(record_ids), COLLECTION_SIZE):
            chunk = record_ids[start : start + COLLECTION_SIZE]
            params = {"ids": ",".join(chunk), "allOrNone": "false"}
            results = self._call(_restful("composite/sobjects", "DELETE", params=params))
            for record_id, result in zip(chunk, cast(list[dict[str, Any]], results), strict=True):
                if not result["success"]:
                    kept[record_id] = _error_text(result.get("errors") or [])
        return _not_gone(kept, (*GONE, IN_THE_BIN))

    def _objects_of(self, record_ids: list[str]) -> dict[str, list[str]]:
        """Object → the ids still there, by each object's key prefix, in the order they go."""
        out: dict[str, list[str]] = {}
        for prefix, sobject in PREFIXES.items():
            mine = [i for i in record_ids if i.startswith(prefix)]
            for start in range(0, len(mine), 200):
                quoted = ",".join(soql_text(i) for i in mine[start : start + 200])
                query = f"SELECT Id FROM {sobject} WHERE Id IN ({quoted})"
                out.setdefault(sobject, []).extend(r["Id"] for r in self._records(query))
        return {sobject: ids for sobject, ids in out.items() if ids}

    def field_names(self, sobject: str) -> set[str]:
        """The fields `sobject` has in this org (describe)."""
        described = self._call(lambda sf: cast(Any, getattr(sf, sobject)).describe())
        return {str(f["name"]) for f in described.get("fields", [])}

    def create_field(self, sobject: str, name: str, metadata: dict[str, Any]) -> None:
        """A custom field by the Tooling API (`CustomField`: FullName Object.Name__c, Metadata)."""
        body = {"FullName": f"{sobject}.{name}", "Metadata": metadata}
        self._call(lambda sf: sf.toolingexecute("sobjects/CustomField", method="POST", data=body))

    def rows(self, query: str) -> list[dict[str, Any]]:
        """Every row a SOQL query answers, its pages followed."""
        return list(self._records(query))

    # --- reading ---------------------------------------------------------------------------

    def opted_out_since(self, since: datetime, external_field: str | None = None) -> list[OptOut]:
        """Contacts whose e-mail opt-out is set and that changed after `since`."""
        stamp = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        extra = f", {external_field}" if external_field else ""
        query = (
            f"SELECT Id, Email, HasOptedOutOfEmail, LastModifiedDate{extra} FROM Contact "
            f"WHERE LastModifiedDate > {stamp} AND HasOptedOutOfEmail = true ORDER BY LastModifiedDate"
        )
        out = []
        for row in self._records(query):
            at = datetime.strptime(row["LastModifiedDate"], "%Y-%m-%dT%H:%M:%S.%f%z")
            out.append(OptOut(row["Email"] or "", row.get(external_field) if external_field else None, at))
        return out

    def _records(self, query: str) -> Iterator[dict[str, Any]]:
        page = self._call(lambda sf: sf.query(query))
        while True:
            yield from page["records"]
            if page.get("done", True):
                return
            url = page["nextRecordsUrl"]
            page = self._call(_more(url))


class _TimedSession(requests.Session):
    """A session whose every call gives up after TIMEOUT_S without an answer (simple-salesforce
    passes none), so a hung connection is RetryLater rather than a push waiting for ever."""

    def request(self, *args: Any, **kw: Any) -> requests.Response:
        kw.setdefault("timeout", TIMEOUT_S)
        return super().request(*args, **kw)


def _restful(path: str, method: str, **kw: Any) -> Callable[[Salesforce], Any]:
    return lambda sf: sf.restful(path, method=method, **kw)


def _more(url: str) -> Callable[[Salesforce], Any]:
    return lambda sf: sf.query_more(url, identifier_is_url=True)


def _refused(exc: SalesforceRefusedRequest) -> RetryLater | Reauthorize:
    content: list[Any] = exc.content if isinstance(exc.content, list) else []
    code = content[0].get("errorCode") if content and isinstance(content[0], dict) else None
    if code == "REQUEST_LIMIT_EXCEEDED" and "TotalRequests" in _first_message(exc):
        return RetryLater(
            "Salesforce's daily API allocation is spent; the push waits for it",
            retry_after=3600.0,
            detail=_first_message(exc),
        )
    if code == "REQUEST_LIMIT_EXCEEDED":  # ConcurrentRequests: long-running calls at the limit
        return RetryLater(
            "Salesforce's API limit is reached; waiting", retry_after=60.0, detail=_first_message(exc)
        )
    return Reauthorize("Salesforce refused the connected app this data", detail=_first_message(exc))


def _not_gone(kept: dict[str, str], gone: tuple[str, ...]) -> dict[str, str]:
    return {i: why for i, why in kept.items() if why.partition(":")[0] not in gone}


def _error_text(errors: list[dict[str, Any]]) -> str:
    """A Collections result's first error as Bulk API 2.0 writes one: "CODE:message"."""
    first = errors[0] if errors else {}
    return f"{first.get('statusCode', 'UNKNOWN')}:{first.get('message', 'refused')}"


def _first_message(exc: SalesforceError) -> str:
    content = exc.content
    if isinstance(content, list) and content and isinstance(content[0], dict):
        return f"{content[0].get('errorCode')}: {content[0].get('message')}"
    return str(content)[:200]
