"""crm-connector: keeps a CRM store in step with Shopify and WooCommerce stores.

`create_app` is the application factory: it reads settings once, then wires the
database, the queues and the blueprints through their `init_app` parts. It imports what it
wires only when called: every `connector.x` import runs this file first, so a platform
adapter reading `connector.errors` loads neither Flask nor the database.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask


def create_app(config: Mapping[str, str] | None = None) -> Flask:
    """Build the app. `config` overlays the environment (same names), for tests and tools."""
    import os

    from flask import Flask

    from connector import db, logs
    from connector.config import load_settings
    from connector.crypto import Vault
    from connector.runtime import queue

    settings = load_settings({**os.environ, **(config or {})})
    app = Flask(__name__, instance_path=str(settings.instance_path))
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=settings.max_webhook_bytes,
    )
    app.extensions["crm.settings"] = settings
    app.extensions["crm.vault"] = Vault(settings.encryption_keys)
    logs.configure(settings)
    db.init_app(app, settings)
    queue.init_app(app, settings)
    _register_blueprints(app)
    return app


def _register_blueprints(app: Flask) -> None:
    from connector.web import error_pages, formatting, hot_path
    from connector.web import security as web_security
    from connector.web.api import bp as api_bp
    from connector.web.common import refuse_nul_characters
    from connector.web.dashboard import bp as dashboard_bp
    from connector.web.destinations_connect import bp as destinations_connect_bp
    from connector.web.destinations_page import bp as destinations_bp
    from connector.web.health import bp as health_bp
    from connector.web.install import install_blueprints
    from connector.web.metrics import bp as metrics_bp
    from connector.web.overview import bp as overview_bp
    from connector.web.receivers import bp as webhooks_bp
    from connector.web.storefront import bp as subscribe_bp

    app.register_blueprint(health_bp)
    app.register_blueprint(metrics_bp)
    app.register_blueprint(api_bp)
    for install_bp in install_blueprints():
        app.register_blueprint(install_bp)
    app.register_blueprint(webhooks_bp)
    app.register_blueprint(subscribe_bp)
    app.register_blueprint(dashboard_bp)
    app.register_blueprint(overview_bp)
    app.register_blueprint(destinations_bp)
    app.register_blueprint(destinations_connect_bp)
    hot_path.init_app(app)
    app.before_request(refuse_nul_characters)
    web_security.init_app(app)
    formatting.init_app(app)
    error_pages.init_app(app)
