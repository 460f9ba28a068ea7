"""The demo's destination: the sandbox's HubSpot portal connected to the demo's merchant
account as `destinations add-hubspot` connects one (the token checked with the portal, then
`connector.accounts.destinations.add`, which marks everything the account holds), pushed once,
and the summary's line from the destination's own counts (`destinations list`) beside what the
portal says it holds."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask

import destinations as kinds
from connector import db
from connector.accounts import destinations
from connector.context import vault_of
from connector.db.models import Account
from connector.errors import BadInput

PUSH_TRIES = 5  # a push paced out by the portal's 10-second window ends "retry"; the next goes on


def connect_hubspot(app: Flask, account_id: int, portal: dict[str, Any]) -> int:
    """The portal's private-app token checked with it, then the destination added to the account."""
    credentials = kinds.get("hubspot").check({"token": portal["token"]}, portal["api_url"])
    with db.session(app) as s, s.begin():
        name = s.get_one(Account, account_id).name
        return destinations.add(s, vault_of(app), account=name, kind="hubspot", credentials=credentials).id


def push_once(app: Flask, dest_id: int) -> str:
    """One push of everything marked, as `destinations push` runs it; its outcome."""
    from sync.push import push

    with app.app_context():
        for _ in range(PUSH_TRIES):
            summary = push(app, dest_id)
            if summary.outcome not in ("retry", "busy"):
                break
    return summary.outcome if summary.outcome == "done" else f"{summary.outcome}: {summary.reason}"


def destination_line(app: Flask, dest_id: int, outcome: str, portal_counts: dict[str, int]) -> str:
    """What was pushed, pending and failed per object (the Destinations page's figures) and
    what the portal holds."""
    with db.session(app) as s:
        [row] = destinations.describe(s, [destinations.find(s, str(dest_id))])
    objects = row["objects"]
    pushed = ", ".join(f"{c['pushed']:,} {obj}" for obj, c in objects.items())
    pending = sum(c["pending"] for c in objects.values())
    failed = sum(c["failed"] for c in objects.values())
    held = ", ".join(f"{portal_counts.get(obj, 0):,} {obj}" for obj in objects)
    done = "" if outcome == "done" else f" (push {outcome})"
    return (
        f"pushed to HubSpot (sandbox): {pushed}; {pending:,} pending, {failed:,} failed{done}; "
        f"the portal holds {held}; destination {dest_id} on the dashboard's Destinations page"
    )


def connect_and_push(
    app: Flask, account_id: int, portal: dict[str, Any], counts: Callable[[], dict[str, int]]
) -> tuple[str, bool]:
    """The demo's step: connect, push once, and the line that says what arrived; whether all
    of it did (a refused connection is said and the demo goes on to its summary)."""
    try:
        dest_id = connect_hubspot(app, account_id, portal)
    except BadInput as exc:
        return f"HubSpot (sandbox) not connected: {exc}", False
    outcome = push_once(app, dest_id)
    return destination_line(app, dest_id, outcome, counts()), outcome == "done"
