"""An HTTPS forward proxy in front of the `--tls` sandbox, for clients that hard-code their hosts.

Real sync tools build `https://<shop>.myshopify.com/admin/…` or `https://<site>/wp-json/…` on
port 443 and cannot be told otherwise. Run them with `HTTPS_PROXY=<manifest's proxy>`: every
`CONNECT <name>:443` for a name the sandbox answers as is tunnelled to the sandbox's TLS port
(TLS stays end to end, so the client verifies the sandbox's certificate for that name against
the manifest's CA); any other name or method is refused, so nothing leaves the machine.
"""

from __future__ import annotations

import logging
import selectors
import socket
import socketserver
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)
HEAD_LIMIT = 16 * 1024  # a CONNECT request's line and headers


class ConnectProxy:
    """Serve CONNECT on `host:port` (0: any free port), tunnelling allowed names to `target`."""

    def __init__(
        self, target: tuple[str, int], names: Callable[[], set[str]], host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.target = target
        self.names = names
        proxy = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                proxy.handle(self.request)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._server = Server((host, port), Handler)
        self.port = self._server.server_address[1]
        self.url = f"http://{host}:{self.port}"
        self._thread: threading.Thread | None = None

    def start(self) -> ConnectProxy:
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="sandbox-proxy",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def handle(self, client: socket.socket) -> None:
        head, rest = _read_head(client)
        if head is None:
            return _answer(client, 400, "the request line and headers did not end within 16 KiB")
        method, _, target = head.split("\r\n", 1)[0].partition(" ")
        if method != "CONNECT":
            return _answer(client, 405, "this proxy only tunnels https: CONNECT <host>:443")
        name, _, port = target.split(" ", 1)[0].rpartition(":")
        name = name.strip("[]").lower()
        if name not in self.names() or port not in ("443", str(self.target[1])):
            log.warning("proxy refused", extra={"target": target.split(" ", 1)[0]})
            return _answer(client, 403, f"the sandbox does not answer as {name}:{port}")
        try:
            upstream = socket.create_connection(self.target, timeout=10)
        except OSError:
            return _answer(client, 502, "the sandbox is not listening")
        with upstream:
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            if rest:
                upstream.sendall(rest)
            _pipe(client, upstream)


def _read_head(client: socket.socket) -> tuple[str | None, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = client.recv(4096)
        if not chunk or len(data) + len(chunk) > HEAD_LIMIT:
            return None, b""
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head.decode("latin-1"), rest


def _answer(client: socket.socket, status: int, text: str) -> None:
    reason = {400: "Bad Request", 403: "Forbidden", 405: "Method Not Allowed", 502: "Bad Gateway"}[status]
    body = (text + "\n").encode()
    head = f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\nContent-Length: {len(body)}\r\n"
    client.sendall(head.encode() + b"Connection: close\r\n\r\n" + body)


def _pipe(a: socket.socket, b: socket.socket) -> None:
    """Copy bytes both ways until either side closes."""
    a.settimeout(None)
    b.settimeout(None)
    with selectors.DefaultSelector() as selector:
        selector.register(a, selectors.EVENT_READ, b)
        selector.register(b, selectors.EVENT_READ, a)
        while True:
            for key, _ in selector.select(timeout=300):
                source: socket.socket = key.fileobj  # type: ignore[assignment]
                try:
                    chunk = source.recv(65536)
                except OSError:
                    return
                if not chunk:
                    return
                key.data.sendall(chunk)
