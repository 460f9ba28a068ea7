"""shopify.app.toml declares what the code expects: the topics registered, the compliance topics."""

from __future__ import annotations

import tomllib
from pathlib import Path

from platforms.shopify.subscriptions import SUBSCRIPTIONS as SHOPIFY_TOPICS
from platforms.shopify.webhooks import COMPLIANCE, MAPPERS

TOML = Path(__file__).resolve().parents[2] / "shopify.app.toml"


def test_the_app_toml_subscribes_to_what_the_connector_handles() -> None:
    config = tomllib.loads(TOML.read_text())
    subscriptions = config["webhooks"]["subscriptions"]
    compliance = {t for s in subscriptions for t in s.get("compliance_topics", [])}
    topics = {t for s in subscriptions for t in s.get("topics", [])}
    assert compliance == set(COMPLIANCE)
    assert {t.replace("/", "_").upper() for t in topics} == set(SHOPIFY_TOPICS)
    assert topics - {"app/uninstalled", "bulk_operations/finish"} <= set(MAPPERS)
    assert config["embedded"] is True and config["application_url"].endswith("/shopify/app")
