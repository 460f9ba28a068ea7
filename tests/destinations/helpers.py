"""What the destination tests share: a rig whose account has a HubSpot destination in the
sandbox, the pushes as the worker runs them, and HubSpot's records read from the sandbox."""

from __future__ import annotations

from typing import Any

import requests
from flask import Flask

import destinations as kinds
from connector.accounts import destinations
from connector.db import session
from platforms.entities import CORE_ENTITIES
from sync.engine import run_step
from sync.push import Summary, push
from tests.rig import Rig


def add_hubspot(rig: Rig, token: str | None = None) -> int:
    portal = rig.sandbox.world.hubspot
    credentials = kinds.get("hubspot").check({"token": token or portal.token}, rig.sandbox.url + "/hubspot")
    with session(rig.app) as s, s.begin():
        return destinations.add(
            s, rig.app.extensions["crm.vault"], account="test", kind="hubspot", credentials=credentials
        ).id


def reconnect(rig: Rig, dest_id: int) -> None:
    portal = rig.sandbox.world.hubspot
    credentials = kinds.get("hubspot").check({"token": portal.token}, rig.sandbox.url + "/hubspot")
    with session(rig.app) as s, s.begin():
        destinations.reconnect(
            s, rig.app.extensions["crm.vault"], destinations.find(s, str(dest_id)), credentials
        )


def sync_everything(rig: Rig) -> None:
    with rig.app.app_context():
        for store in (rig.shop, rig.site):
            for entity in CORE_ENTITIES:
                assert run_step(rig.app, store.id, entity, "test-owner").outcome == "done"


def push_until_done(app: Flask, dest_id: int, tries: int = 10) -> list[Summary]:
    summaries = []
    with app.app_context():
        for _ in range(tries):
            summaries.append(push(app, dest_id))
            if summaries[-1].outcome == "done":
                return summaries
    return summaries


def faults(rig: Rig, **body: Any) -> None:
    assert (
        requests.post(rig.sandbox.url + "/hubspot/_control/faults", json=body, timeout=10).status_code == 200
    )


def held(rig: Rig, obj: str) -> dict[str, dict[str, str]]:
    """HubSpot's records of an object, by the connector's id property."""
    key = {"contacts": "connector_contact_id", "orders": "connector_order_id"}[obj]
    portal = rig.sandbox.world.hubspot
    return {r.properties[key]: {**r.properties, "hs_object_id": r.id} for r in portal.records[obj].values()}
