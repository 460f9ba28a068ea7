"""Zoho's own Python SDK (zohocrmsdk8-0) pointed at the sandbox's Zoho CRM, as the SDK tests in
tests/sandbox and tests/destinations start it: a `DataCenter.Environment` of the manifest's
api_domain and accounts URL, the manifest's self-client grant, its tokens kept in a folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.api.authenticator.store import FileStore
from zohocrmsdk.src.com.zoho.crm.api.dc.data_center import DataCenter
from zohocrmsdk.src.com.zoho.crm.api.initializer import Initializer
from zohocrmsdk.src.com.zoho.crm.api.sdk_config import SDKConfig


def start_sdk(manifest: dict[str, Any], folder: Path) -> None:
    """The SDK signed in to the Zoho org of a sandbox `manifest`, its token store in `folder`."""
    z = manifest["zoho"]
    environment = DataCenter.Environment(
        z["api_domain"], z["accounts_url"] + "/oauth/v2/token", z["api_domain"]
    )
    token = OAuthToken(
        client_id=z["client_id"], client_secret=z["client_secret"], refresh_token=z["refresh_token"]
    )
    Initializer.initialize(
        environment=environment,
        token=token,
        store=FileStore(str(folder / "tokens.csv")),
        sdk_config=SDKConfig(auto_refresh_fields=False, pick_list_validation=False),
        resource_path=str(folder),
    )
