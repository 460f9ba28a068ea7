"""crm-connector: keeps a CRM store in step with Shopify and WooCommerce stores.

`create_app` is the application factory: it reads settings once, then wires the
database, the queues and the blueprints through their `init_app` parts.
"""

from __future__ import annotations

from collections.abc import Mapping

from flask import Flask

from connector import db, logs
from connector.config import load_settings
from connector.crypto import Vault
from connector.runtime import queue


def create_app(config: Mapping[str, str] | None = None) -> Flask:
    """Build the app. `config` overlays the environment (same names), for tests and tools."""
    import os

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

    # Imported here, not at the top: `import connector.errors` (or any connector.x) runs this
    # file first, and the blueprints import the layers below them, so a lower module imported
    # on its own (platforms.base, sync.jobs) would meet itself half-initialised.
    from connector.web import security as web_security
    from connector.web.api import bp as api_bp
    from connector.web.common import refuse_nul_characters
    from connector.web.dashboard import bp as dashboard_bp
    from connector.web.health import bp as health_bp
    from connector.web.install import install_blueprints
    from connector.web.metrics import bp as metrics_bp
    from connector.web.storefront import bp as subscribe_bp
    from webhooks.receivers import bp as webhooks_bp

    app.register_blueprint(health_bp)
    app.register_blueprint(metrics_bp)
    app.register_blueprint(api_bp)
    for install_bp in install_blueprints():
        app.register_blueprint(install_bp)
    app.register_blueprint(webhooks_bp)
    app.register_blueprint(subscribe_bp)
    app.register_blueprint(dashboard_bp)
    app.before_request(refuse_nul_characters)
    web_security.init_app(app)
    return app
