"""What a running app carries: its settings and its vault of encryption keys, read once by
`create_app` and reached from anywhere that has the app."""

from __future__ import annotations

from flask import Flask

from connector.config import Settings
from connector.crypto import Vault


def settings_of(app: Flask) -> Settings:
    settings: Settings = app.extensions["crm.settings"]
    return settings


def vault_of(app: Flask) -> Vault:
    vault: Vault = app.extensions["crm.vault"]
    return vault
