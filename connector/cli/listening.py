"""Whether this machine can listen where a command is asked to serve, said before it starts
anything: a port another program holds, a host that is not one of this machine's addresses,
a port below 1024 without the privilege; not a traceback from the server once the rest has
started (`run` would have started its worker and cron, then stopped them)."""

from __future__ import annotations

import errno
import socket

BUSY = "--port: {port} is in use by another program; choose a free one, e.g. --port 5050"


def listen_refusal(host: str, port: int) -> str | None:
    """Why nothing can listen on host:port (the CLI's error line), or None when it can."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    except (socket.gaierror, UnicodeError):
        return f"--host: {host} is not an address of this machine"
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # as the servers do: a port left in TIME_WAIT by a server just stopped is free
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            return _said(exc, host, port)
    return None


def _said(exc: OSError, host: str, port: int) -> str:
    if exc.errno == errno.EADDRINUSE:
        return BUSY.format(port=port)
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"--host: {host} is not an address of this machine"
    if exc.errno == errno.EACCES:
        return f"--port: {port} needs privileges this user does not have; choose one above 1023"
    return f"--host/--port: cannot listen on {host}:{port} ({exc.strerror or exc})"
