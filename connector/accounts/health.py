"""A store's health as a merchant reads it first: one badge (active, syncing, needs
attention, needs reconnect) with the reason in plain words, and for each entity what its
sync is doing now (never synced, syncing, interrupted, waiting to retry, failed, up to date).
Derived from the store's status and its sync_state rows, never stored: a store whose every
sync fails is not "active", a run whose worker died is not "running".
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from connector.db.operations import SyncState

BADGES = {  # badge → its words
    "active": "active",
    "syncing": "syncing",
    "needs_attention": "needs attention",
    "needs_reconnect": "needs reconnect",
}
RECONNECT = ("needs_reauth", "uninstalled")  # store statuses only the merchant can mend
TROUBLE = ("interrupted", "retrying", "failed")


def activity(state: SyncState | None, now: datetime) -> str:
    """What the entity's sync is doing: never | syncing | interrupted | retrying | failed | done | idle.

    A run is syncing while a worker holds its live lease, or between the steps of a run that
    nothing stopped; one stopped by a signal, or whose worker was killed (its lease lapsed),
    is interrupted (the next run resumes it); one the platform could not serve waits to retry."""
    if state is None:
        return "never"
    if state.state == "failed":
        return "failed"
    if state.state == "running":
        until = state.lease_until if state.lease_owner is not None else None
        if until is not None and until >= now:
            return "syncing"
        if state.last_error and state.retry_at is not None:
            return "retrying"
        return "interrupted" if state.last_error or state.lease_owner is not None else "syncing"
    if state.state == "done":
        return "done"
    return "idle" if state.last_synced_at else "never"


def badge(store: Any, entities: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The store's badge and why, from its status and its entities' activity (`describe`)."""
    if store.status in RECONNECT:
        return _badge("needs_reconnect", store.status_reason or f"the store is {store.status}")
    if store.pending_url or store.status != "active":
        return _badge("needs_attention", store.status_reason or f"the store is {store.status}")
    troubled = {n: e for n, e in entities.items() if e["activity"] in TROUBLE}
    if troubled:
        return _badge("needs_attention", _reasons(troubled))
    syncing = [n for n, e in entities.items() if e["activity"] == "syncing"]
    if syncing:
        return _badge("syncing", f"syncing {', '.join(syncing)}")
    if entities and all(e["activity"] == "never" for e in entities.values()):
        return _badge("active", "connected; its first sync has not run yet")
    return _badge("active", None)


def _reasons(troubled: dict[str, dict[str, Any]]) -> str:
    """One sentence per distinct problem, naming the entities it stops ("customers, orders:
    the shop answered 404 …"), in the order the entities are listed."""
    by_reason: dict[str, list[str]] = {}
    for name, e in troubled.items():
        why = e["last_error"] or _UNSAID[e["activity"]]
        by_reason.setdefault(why, []).append(name)
    return "; ".join(f"{', '.join(names)}: {why}" for why, names in by_reason.items())


_UNSAID = {  # an entity in trouble that recorded no error (a killed worker says nothing)
    "interrupted": "the sync stopped before it finished (its worker ended); the next run resumes it",
    "retrying": "the sync waits to try again",
    "failed": "the sync failed",
}


def _badge(state: str, reason: str | None) -> dict[str, Any]:
    return {"state": state, "label": BADGES[state], "reason": reason}
