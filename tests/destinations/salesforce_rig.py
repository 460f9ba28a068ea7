"""What the Salesforce destination tests share: the sandbox's org over https (simple-salesforce
speaks nothing else) beside the rig's stores, trusted through REQUESTS_CA_BUNDLE as a deployment
trusts its CA; a destination on the rig's account; and the org's live records by external id."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from sandbox.salesforce.org import SalesforceOrg
from sandbox.server import SandboxServer
from sandbox.world import World
from tests.destinations.helpers import add_destination
from tests.rig import Rig
from tests.sandbox.crm_rig import CRM_SIZES, control


@pytest.fixture
def org_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[SandboxServer]:
    server = SandboxServer(World(seed=17, sizes=CRM_SIZES), tls=True).start()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", server.world.manifest()["tls"]["ca_file"])
    yield server
    server.stop()


def the_org(server: SandboxServer) -> SalesforceOrg:
    org = server.world.salesforce
    assert org is not None
    return org


def app_credentials(server: SandboxServer, secret: str | None = None) -> dict[str, str]:
    entry = server.world.manifest()["salesforce"]
    return {
        "instance_url": entry["instance_url"],
        "client_id": entry["client_id"],
        "client_secret": secret or entry["client_secret"],
    }


def add_salesforce(rig: Rig, server: SandboxServer) -> int:
    return add_destination(rig, "salesforce", app_credentials(server))


def faults(server: SandboxServer, **body: Any) -> None:
    assert "faults" in control(server, "salesforce", "faults", body)


def held(server: SandboxServer, sobject: str, key: str) -> dict[str, dict[str, Any]]:
    """The org's live records of `sobject` that carry `key`, by its value."""
    org = the_org(server)
    with org.lock:
        rows = [r for r in org.records[sobject].values() if not r.deleted]
        return {str(r.fields[key]): {**r.fields, "Id": r.id} for r in rows if r.fields.get(key)}


def every_record(server: SandboxServer) -> list[dict[str, Any]]:
    """Every record the org keeps, deleted ones (its recycle bin) included."""
    org = the_org(server)
    with org.lock:
        return [dict(r.fields) for rows in org.records.values() for r in rows.values()]
