"""What the dashboard's Connect tests share: the connector's app configured for each sandbox CRM
(a second app over the rig's database and Redis, so the CRMs' addresses can name the running
sandbox), a signed-in merchant, and the browser's part of the flow: the dashboard's POST, the
CRM's consent page (Approve or Deny, as a merchant clicks), and the callback back at the
dashboard, each over real HTTP but the dashboard's own requests (Flask's test client)."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from connector import create_app
from connector.db import get_engine
from connector.db.models import Store
from connector.db.operations import Destination
from connector.web.dashboard import create_user
from sandbox.server import SandboxServer
from tests.rig import Rig

PASSWORD = "correct horse battery"
EMAIL = "owner@shop.example"


def crm_env(rig: Rig, salesforce: SandboxServer | None = None) -> dict[str, str]:
    """The connector's app in each of the sandbox's CRMs (Salesforce's org over https, if given)."""
    manifest = rig.sandbox.world.manifest()
    hubspot, zoho = manifest["hubspot"]["oauth_app"], manifest["zoho"]
    env = {
        "HUBSPOT_CLIENT_ID": hubspot["client_id"],
        "HUBSPOT_CLIENT_SECRET": hubspot["client_secret"],
        "HUBSPOT_AUTHORIZE_URL": rig.sandbox.url + "/hubspot/oauth/authorize",
        "HUBSPOT_API_URL": rig.sandbox.url + "/hubspot",
        "ZOHO_CLIENT_ID": zoho["client_id"],
        "ZOHO_CLIENT_SECRET": zoho["client_secret"],
        "ZOHO_ACCOUNTS_URL": zoho["accounts_url"],
    }
    if salesforce is not None:
        org = salesforce.world.manifest()["salesforce"]
        env |= {
            "SALESFORCE_CLIENT_ID": org["client_id"],
            "SALESFORCE_CLIENT_SECRET": org["client_secret"],
            "SALESFORCE_LOGIN_URL": org["instance_url"],
        }
    return env


def dashboard(rig: Rig, **env: str) -> Flask:
    """The connector's app as the rig's, with `env` on top (the CRM apps configured)."""
    return create_app(rig.env | env)


def signed_in(app: Flask, rig: Rig, email: str = EMAIL, *, new: bool = True) -> FlaskClient:
    """A browser signed in to the dashboard as the rig's account's `email` (made first, if `new`)."""
    if new:
        with get_engine(app).begin() as conn:
            account = conn.execute(select(Store.account_id).where(Store.id == rig.shop.id)).scalar_one()
            create_user(conn, account, email, PASSWORD)
    client = app.test_client()
    answer = client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": csrf(client)})
    assert answer.status_code in (302, 303), answer.get_data(as_text=True)[:300]
    return client


def csrf(client: FlaskClient, path: str = "/login") -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True))
    assert found is not None
    return found.group(1)


@dataclass
class Trip:
    """One trip through the flow: the CRM's consent page, the callback, what the merchant saw."""

    authorize: str
    callback: str | None = None
    status: int | None = None
    page: str = ""


def start(client: FlaskClient, kind: str, destination_id: int | None = None) -> str:
    """The dashboard's Connect (or Reconnect) button: where it sends the merchant."""
    path = f"/destinations/{destination_id}/reconnect" if destination_id else f"/destinations/connect/{kind}"
    answer = client.post(path, data={"csrf_token": csrf(client, "/destinations")})
    assert answer.status_code == 303, answer.get_data(as_text=True)[:300]
    return str(answer.headers["Location"])


def decide(authorize: str, decision: str, http: requests.Session | None = None, **changes: str) -> Any:
    """The CRM's consent page read and `decision` clicked (the form's fields changed by `changes`)."""
    http = http or requests.Session()
    page = http.get(authorize, timeout=10)
    assert page.status_code == 200, page.text[:300]
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page.text))
    fields = {k: html.unescape(v) for k, v in fields.items()} | changes | {"decision": decision}
    action = re.search(r'<form method="post" action="([^"]+)"', page.text)
    assert action is not None
    parts = urlsplit(authorize)
    return http.post(
        f"{parts.scheme}://{parts.netloc}{action.group(1)}", data=fields, allow_redirects=False, timeout=10
    )


def back(client: FlaskClient, location: str) -> tuple[int, str]:
    """The browser sent back to the dashboard's callback: its status, and the page it ends on."""
    parts = urlsplit(location)
    answer = client.get(parts.path, query_string=dict(parse_qsl(parts.query)))
    if answer.status_code == 303:
        return 303, client.get(answer.headers["Location"]).get_data(as_text=True)
    return answer.status_code, answer.get_data(as_text=True)


def connect(client: FlaskClient, kind: str, http: requests.Session | None = None, **changes: str) -> Trip:
    """The whole flow, approved: start, consent, callback."""
    trip = Trip(start(client, kind))
    approved = decide(trip.authorize, "approve", http, **changes)
    assert approved.status_code == 302, approved.text[:300]
    trip.callback = str(approved.headers["Location"])
    trip.status, trip.page = back(client, trip.callback)
    return trip


def destinations_of(app: Flask) -> list[Any]:
    with get_engine(app).connect() as conn:
        return list(conn.execute(select(Destination.__table__).order_by(Destination.id)).all())
