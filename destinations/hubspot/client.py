"""HubSpot's REST API as the push uses it: one requests session with the private-app token (or
an OAuth app's access token, renewed from its refresh token when it is due or refused: `Refresh`),
paced from HubSpot's rate-limit headers (X-HubSpot-RateLimit-Remaining, -Max and
-Interval-Milliseconds: when the rolling window is spent, wait until the oldest of our calls in
it has left it), searches no faster than the search's own limit, 429 and 5xx retried with
backoff (Retry-After first), 401 as Reauthorize. Errors come back in HubSpot's JSON shape;
`reason_of` puts them in words.

Not hubspot-api-client: its generated methods hide the response headers the pacing needs
unless each call is made `*_with_http_info`, and its urllib3 retry ignores HubSpot's interval
header; the tests run it against the sandbox to show the sandbox answers it as HubSpot would.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

from connector.errors import FailPermanently, Reauthorize, RetryLater, SkipRecord
from destinations.oauth import token_grant
from destinations.pacing import Pacing

API = "https://api.hubapi.com"
# HubSpot's dated OAuth API: the v1 endpoints (/oauth/v1/token, /oauth/v1/access-tokens/…) end
# on 2027-02-16 (docs/platform-facts-extra.md)
TOKEN_PATH = "/oauth/2026-03/token"
INTROSPECT_PATH = "/oauth/2026-03/token/introspect"
TIMEOUT_S = 30
LIFETIME_S = 1800.0  # HubSpot's documented access-token lifetime, when an answer omits expires_in
EARLY_S = 60  # an access token is renewed this long before HubSpot's expires_in says it lapses


@dataclass
class Refresh:
    """An OAuth app's grant on one portal: what renews its access token (HubSpot's last ~30 min)."""

    client_id: str
    client_secret: str
    refresh_token: str
    expires_at: float = 0.0  # unix seconds; 0 when not known: renewed before the first call
    renewed: bool = False  # a new access token was issued during this client's life

    def due(self) -> bool:
        return time.time() >= self.expires_at - EARLY_S


SEARCH_GAP_S = 0.25  # the search's own limit: 4 a second (HubSpot's changelog; 5 said elsewhere)


@dataclass
class HubSpotClient:
    token: str
    base_url: str = API
    pacing: Pacing = field(default_factory=Pacing)
    http: requests.Session = field(default_factory=requests.Session)
    refresh: Refresh | None = None
    clock: Callable[[], float] = time.monotonic
    answered: deque[float] = field(default_factory=lambda: deque(maxlen=1_000))  # when, each call
    searched: float = float("-inf")

    def search(self, obj: str, body: dict[str, Any]) -> Any:
        """One page of a CRM search, no sooner than the search's own limit allows."""
        self.pacing.wait(self.searched + SEARCH_GAP_S - self.clock())
        try:
            return self.call("POST", f"/crm/v3/objects/{obj}/search", body)
        finally:
            self.searched = self.clock()

    def call(self, method: str, path: str, body: Any = None, params: dict[str, Any] | None = None) -> Any:
        """The answer's JSON (None for 204); retried while HubSpot says later."""
        last: RetryLater | None = None
        for attempt in range(self.pacing.max_tries):
            if attempt:
                self.pacing.retries += 1
                self.pacing.wait(_delay(last, self.pacing.backoff_s, attempt))
            try:
                return self._authorized(method, path, body, params)
            except RetryLater as exc:
                last = exc
            except requests.RequestException as exc:
                last = RetryLater("HubSpot could not be reached", detail=type(exc).__name__)
        assert last is not None
        raise last

    def _authorized(self, method: str, path: str, body: Any, params: dict[str, Any] | None) -> Any:
        """`_once` with a current token: an OAuth one renewed when due, and once more if refused."""
        if self.refresh is not None and self.refresh.due():
            self.renew()
        try:
            return self._once(method, path, body, params)
        except Reauthorize as refused:
            if self.refresh is None or refused.detail != "401":
                raise
        self.renew()
        return self._once(method, path, body, params)

    def renew(self) -> None:
        """A new access token from the refresh token; Reauthorize if HubSpot refuses the grant."""
        grant = self.refresh
        assert grant is not None
        form = {
            "grant_type": "refresh_token",
            "client_id": grant.client_id,
            "client_secret": grant.client_secret,
            "refresh_token": grant.refresh_token,
        }
        self.pacing.calls += 1
        try:
            answer = token_grant(self.http, self.base_url.rstrip("/") + TOKEN_PATH, form)
        except Reauthorize as exc:
            raise Reauthorize(
                f"HubSpot refused the app's refresh token ({exc.reason}); reconnect the destination",
                detail=exc.detail,
            ) from None
        self.token = str(answer["access_token"])
        grant.refresh_token = str(answer.get("refresh_token") or grant.refresh_token)
        grant.expires_at = time.time() + (_float(str(answer.get("expires_in"))) or LIFETIME_S)
        grant.renewed = True

    def _once(self, method: str, path: str, body: Any, params: dict[str, Any] | None) -> Any:
        self.pacing.calls += 1
        answer = self.http.request(
            method,
            self.base_url.rstrip("/") + path,
            json=body,
            params=params,
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=TIMEOUT_S,
        )
        self._pace(answer)
        if answer.status_code < 300:
            return answer.json() if answer.content else None
        raise _error(answer)

    def _pace(self, answer: requests.Response) -> None:
        headers, now = answer.headers, self.clock()
        if answer.status_code != 429:
            self.answered.append(now)
        daily = _int(headers.get("X-HubSpot-RateLimit-Daily-Remaining"))
        if daily is not None:
            self.pacing.daily_remaining = daily
        remaining = _int(headers.get("X-HubSpot-RateLimit-Remaining"))
        interval = _int(headers.get("X-HubSpot-RateLimit-Interval-Milliseconds"))
        if remaining is not None and remaining <= 0 and interval and answer.status_code != 429:
            most = _int(headers.get("X-HubSpot-RateLimit-Max"))
            self.pacing.wait(self._until_room(most, interval / 1000, now))

    def _until_room(self, most: int | None, window_s: float, now: float) -> float:
        """How long until the rolling window has room. HubSpot counted each of our calls no later
        than it answered it, so a call leaves the window `window_s` after its answer: the window
        of `most` calls frees once the `most`-th last of ours leaves it, or, if some were not
        ours (another app on the portal), at least one place when our oldest leaves it."""
        if not self.answered:
            return window_s
        oldest = self.answered[-most] if most and len(self.answered) >= most else self.answered[0]
        return min(max(oldest + window_s - now, 0.0), window_s)

    def close(self) -> None:
        self.http.close()


def reason_of(body: Any) -> str:
    """HubSpot's error, in words: its message, and each invalid property's own message."""
    if not isinstance(body, dict):
        return "HubSpot refused the record"
    message = str(body.get("message") or "HubSpot refused the record")
    details = [
        str(e.get("message")) for e in body.get("errors") or [] if isinstance(e, dict) and e.get("message")
    ]
    return "; ".join([message, *details]) if details and details[0] not in message else message


def _error(answer: requests.Response) -> Exception:
    try:
        body = answer.json()
    except ValueError:
        body = None
    reason = reason_of(body)
    status = answer.status_code
    if status == 429 or status >= 500:
        interval = _int(answer.headers.get("X-HubSpot-RateLimit-Interval-Milliseconds"))
        after = _float(answer.headers.get("Retry-After"))
        if after is None and interval and status == 429:
            after = interval / 1000
        return RetryLater(f"HubSpot answered {status}: {reason}", retry_after=after)
    if status in (401, 403):
        return Reauthorize(
            f"HubSpot refused the token ({status}): {reason}; reconnect the destination", detail=str(status)
        )
    if status in (400, 409, 422):
        return SkipRecord(reason, detail=str(status))
    return FailPermanently(f"HubSpot answered {status}: {reason}", detail=str(status))


def _delay(last: RetryLater | None, backoff_s: float, attempt: int) -> float:
    if last is not None and last.retry_after is not None:
        return last.retry_after
    return min(backoff_s * 2 ** (attempt - 1), 60.0)


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
