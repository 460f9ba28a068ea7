"""Errors, named for what the caller should do next.

Every failure the connector raises is one of these: retry later, fail for good, skip
the record, ask the merchant to re-authorise, reject the input, or fix the
configuration. HTTP statuses map to actions through one table, not an if-ladder.
"""

from __future__ import annotations


class ConnectorError(Exception):
    """Base class. `reason` is plain language a merchant can read."""

    def __init__(self, reason: str, *, detail: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


class ConfigError(ConnectorError):
    """A setting is missing or malformed: fix it and restart. The message names it."""


class BadInput(ConnectorError):
    """The caller's input is invalid: reject it with this message; nothing was changed."""


class NotFound(ConnectorError):
    """No such record for this caller (another tenant's is the same as none): answer 404."""


class RetryLater(ConnectorError):
    """Transient (rate limit, timeout, 5xx, a service down): retry with backoff."""

    def __init__(self, reason: str, *, retry_after: float | None = None, detail: str | None = None) -> None:
        super().__init__(reason, detail=detail)
        self.retry_after = retry_after


class Reauthorize(ConnectorError):
    """Credentials were revoked or expired: pause the store and ask the merchant to reconnect."""


class SkipRecord(ConnectorError):
    """This one record cannot be processed (poison): dead-letter it and carry on with the rest."""


class FailPermanently(ConnectorError):
    """Retrying will not help (a bug, an unsupported request): record it and stop this job."""


# HTTP status from a platform → what to do. Ranges are written out once here.
_STATUS_ACTIONS: dict[int, tuple[type[ConnectorError], str]] = {
    400: (FailPermanently, "the platform rejected the request as malformed"),
    401: (Reauthorize, "the store rejected our credentials"),
    402: (Reauthorize, "the store is frozen or unpaid"),
    403: (Reauthorize, "the app lacks permission for this data"),
    404: (SkipRecord, "the record no longer exists on the platform"),
    408: (RetryLater, "the platform timed out"),
    409: (RetryLater, "the platform reported a conflict"),
    410: (SkipRecord, "the record was removed from the platform"),
    422: (SkipRecord, "the platform could not process this record"),
    423: (Reauthorize, "the store is locked"),
    429: (RetryLater, "the platform's rate limit was reached"),
}


def error_for_status(
    status: int, detail: str | None = None, retry_after: float | None = None
) -> ConnectorError:
    """The action for a non-2xx platform answer, as an error ready to raise."""
    if status >= 500:
        return RetryLater(
            f"the platform answered {status} (server error)", retry_after=retry_after, detail=detail
        )
    kind, reason = _STATUS_ACTIONS.get(status, (FailPermanently, f"the platform answered {status}"))
    if kind is RetryLater:
        return RetryLater(reason, retry_after=retry_after, detail=detail)
    return kind(reason, detail=detail)
