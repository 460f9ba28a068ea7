"""`crm-connector sandbox`: the local platforms and CRMs served on their own, for clients and
benches pointed at them. What the sandbox generates (`SandboxShape`) and where it listens
(`SandboxListen`) are the command's options; the JSON manifest is the first line printed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import click

from sandbox.generator import Sizes
from sandbox.server import SandboxServer
from sandbox.world import World


@dataclass(frozen=True)
class SandboxShape:
    """What `crm-connector sandbox` generates: sizes, seed, how many shops and sites, the
    Shopify plan, the sites' own hosts and how many Magento stores."""

    sizes: Sizes
    seed: int
    shops: int
    woo_sites: int
    plan: str
    woo_hosts: tuple[str, ...] = ()
    shop_domains: tuple[str, ...] = ()
    magento_stores: int = 0
    zoho_dc: str = "us"
    render_cache: Path | None = None  # where rendered records are kept (sandbox/render_cache.py); None: live


@dataclass(frozen=True)
class SandboxListen:
    """Where `crm-connector sandbox` listens: its address, https or not, and the CONNECT proxy."""

    host: str
    port: int
    tls: bool = False
    proxy_port: int | None = None  # None: no proxy; 0: any free port


def serve_sandbox(listen: SandboxListen, shape: SandboxShape, *, throttle: bool) -> None:
    """`crm-connector sandbox`: print the world's JSON manifest as the first line, then serve it
    until interrupted."""
    if listen.proxy_port is not None and not listen.tls:
        raise click.UsageError("--proxy-port tunnels https only: add --tls")
    try:
        world = World(
            seed=shape.seed,
            sizes=shape.sizes,
            shops=shape.shops,
            woo_sites=shape.woo_sites,
            plan=shape.plan,
            throttle=throttle,
            woo_hosts=list(shape.woo_hosts),
            shop_domains=list(shape.shop_domains),
            magento_stores=shape.magento_stores,
            zoho_dc=shape.zoho_dc,
            render_cache=shape.render_cache,
        )
    except ValueError as exc:  # the message names the option
        raise click.UsageError(str(exc)) from None
    proxy = listen.proxy_port is not None
    server = SandboxServer(
        world, listen.host, listen.port, tls=listen.tls, proxy=proxy, proxy_port=listen.proxy_port or 0
    )
    print(json.dumps(world.manifest()), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        server.stop()
