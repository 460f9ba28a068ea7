"""The sandbox as a process: one threaded HTTP server for every platform and the control API.

`SandboxServer(world).start()` serves in a background thread (tests, the demo);
`crm-connector sandbox` serves in the foreground and prints the manifest first.
"""

from __future__ import annotations

import logging
import threading

from flask import Flask, request
from werkzeug.serving import BaseWSGIServer, make_server

from sandbox import control, crm_control
from sandbox.addressing import route_by_host
from sandbox.hubspot import app as hubspot_app
from sandbox.magento import activation as magento_activation
from sandbox.magento import app as magento_app
from sandbox.proxy import ConnectProxy
from sandbox.salesforce import app as salesforce_app
from sandbox.shopify import app as shopify_app
from sandbox.shopify import bulk_ops as shopify_bulk
from sandbox.shopify import rest as shopify_rest
from sandbox.tls import ALWAYS, make_certificates
from sandbox.woocommerce import app as woo_app
from sandbox.woocommerce import extras as woo_extras
from sandbox.world import World
from sandbox.zoho import app as zoho_app


def create_sandbox_app(world: World) -> Flask:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    app = Flask("crm_connector_sandbox")
    app.extensions["sandbox"] = world

    @app.before_request
    def count() -> None:  # tests assert that refused installs made no outbound call
        site = (request.view_args or {}).get("site_name")
        with world.fault_lock:
            world.requests_seen += 1
            world.in_flight += 1
            world.max_in_flight = max(world.max_in_flight, world.in_flight)
            if site is not None:
                world.site_in_flight[site] += 1
                world.site_max_in_flight[site] = max(
                    world.site_max_in_flight[site], world.site_in_flight[site]
                )

    @app.teardown_request
    def done(_error: BaseException | None) -> None:  # and that clients keep to their concurrency
        site = (request.view_args or {}).get("site_name")
        with world.fault_lock:
            world.in_flight -= 1
            if site is not None:
                world.site_in_flight[site] -= 1

    app.register_blueprint(shopify_app.bp)
    app.register_blueprint(shopify_bulk.bp)
    app.register_blueprint(shopify_rest.bp)
    app.register_blueprint(woo_app.bp)
    app.register_blueprint(woo_extras.bp)
    app.register_blueprint(magento_app.bp)
    app.register_blueprint(hubspot_app.bp)
    app.register_blueprint(magento_activation.bp)
    app.register_blueprint(control.bp)
    app.register_blueprint(salesforce_app.bp)
    app.register_blueprint(zoho_app.bp)
    app.register_blueprint(crm_control.bp)
    app.wsgi_app = route_by_host(app.wsgi_app, world.routes)  # type: ignore[method-assign,assignment]
    return app


class SandboxServer:
    """`tls=True`: serve https only, with a certificate from a CA made for this run
    (sandbox/tls.py) naming the loopback addresses, `host`, every shop and every site's own host.
    `proxy=True` (with `tls`): also a CONNECT proxy (sandbox/proxy.py) on `proxy_port`, for
    clients that hard-code `https://<shop>.myshopify.com`; its URL is the manifest's `proxy`."""

    def __init__(
        self,
        world: World,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        tls: bool = False,
        proxy: bool = False,
        proxy_port: int = 0,
    ) -> None:
        if proxy and not tls:
            raise ValueError("the proxy tunnels https only: it needs --tls")
        self.world = world
        context = None
        if tls:
            files = make_certificates([host, *world.routes()])
            context = files.server_context()
            world.tls = {"ca_file": files.ca_file, "ca_pem": files.ca_pem}
        app = create_sandbox_app(world)
        self._server: BaseWSGIServer = make_server(host, port, app, threaded=True, ssl_context=context)
        self.port = self._server.server_port
        world.base_url = f"{'https' if tls else 'http'}://{host}:{self.port}"
        self._thread: threading.Thread | None = None
        self.proxy: ConnectProxy | None = None
        if proxy:
            names = lambda: {host, *ALWAYS, *world.routes()}  # noqa: E731
            self.proxy = ConnectProxy((host, self.port), names, host, proxy_port)
            world.proxy_url = self.proxy.url

    @property
    def url(self) -> str:
        return self.world.base_url

    def start(self) -> SandboxServer:
        if self.proxy is not None:
            self.proxy.start()
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="sandbox-http",
            daemon=True,
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        if self.proxy is not None:
            self.proxy.start()
        self._server.serve_forever()

    def stop(self) -> None:
        if self.proxy is not None:
            self.proxy.stop()
        self._server.shutdown()
        self.world.dispatcher.stop()
