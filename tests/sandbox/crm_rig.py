"""The sandbox's CRMs over https for the real clients: a world served with its CA (simple-salesforce
only speaks https), a `requests` session that trusts it, and a signed-in simple-salesforce."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.api import SFType
from simple_salesforce.bulk2 import SFBulk2Handler, SFBulk2Type
from simple_salesforce.exceptions import SalesforceError

from sandbox.generator import Sizes
from sandbox.server import SandboxServer
from sandbox.world import World

CRM_SIZES = Sizes(customers=5, orders=5, products=3)


@pytest.fixture(scope="module")
def crm_sandbox() -> Iterator[SandboxServer]:
    server = SandboxServer(World(seed=11, sizes=CRM_SIZES), tls=True).start()
    yield server
    server.stop()


def trusting(server: SandboxServer) -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # REQUESTS_CA_BUNDLE in the environment would win over `verify`
    session.verify = server.world.manifest()["tls"]["ca_file"]
    return session


def control(server: SandboxServer, kind: str, what: str, body: dict[str, Any] | None = None) -> Any:
    session = trusting(server)
    url = f"{server.url}/_sandbox/crm/{kind}" + (f"/{what}" if what else "")
    answer = session.post(url, json=body or {}, timeout=10) if what else session.get(url, timeout=10)
    return answer.json()


def salesforce_token(server: SandboxServer) -> dict[str, Any]:
    """The client-credentials grant, as a server-side connector signs in."""
    entry = server.world.manifest()["salesforce"]
    answer = trusting(server).post(
        entry["instance_url"] + "/services/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_id": entry["client_id"],
            "client_secret": entry["client_secret"],
        },
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    token: dict[str, Any] = answer.json()
    return token


def salesforce(server: SandboxServer) -> Salesforce:
    token = salesforce_token(server)
    return Salesforce(
        instance_url=token["instance_url"],
        session_id=token["access_token"],
        session=trusting(server),
        version="62.0",
    )


def rest(sf: Salesforce, name: str) -> SFType:
    """`sf.Contact` and the like, typed (simple-salesforce's `__getattr__` answers a union)."""
    return cast(SFType, getattr(sf, name))


def bulk(sf: Salesforce, name: str) -> SFBulk2Type:
    """`sf.bulk2.Contact`, typed."""
    return cast(SFBulk2Type, getattr(cast(SFBulk2Handler, sf.bulk2), name))


def body(value: object) -> dict[str, Any]:
    """A record or a save result as simple-salesforce answers it (typed as int or dict)."""
    assert isinstance(value, dict), value
    return value


def errors_of(raised: pytest.ExceptionInfo[SalesforceError]) -> list[dict[str, Any]]:
    """The error array a refused call answered (simple-salesforce keeps the decoded body)."""
    content = raised.value.content
    assert isinstance(content, list), content
    return content
