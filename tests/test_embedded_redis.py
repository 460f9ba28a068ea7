"""The embedded Redis (connector/runtime/embedded_redis.py) wherever the instance folder is: a
folder too deep for a unix socket's path still gets a server every process of the instance
finds, and a socket that belongs to another user is never attached to."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from connector.runtime import queue
from connector.runtime.embedded_redis import SOCKET_PATH_MAX, EmbeddedRedis, socket_path


def deep_folder(tmp_path: Path) -> Path:
    folder = tmp_path / ("d" * 60) / ("e" * 60) / "instance" / "redis"
    assert len(os.fsencode(folder / "redis.sock")) > SOCKET_PATH_MAX  # given a path too long
    return folder


def test_a_folder_too_deep_for_a_socket_still_gets_a_server_every_process_finds(tmp_path: Path) -> None:
    # given an instance folder whose redis.sock would be cut short by the kernel
    folder = deep_folder(tmp_path)
    # when the first process starts the embedded Redis
    owner = EmbeddedRedis(folder.parent).start()
    try:
        # then it answers at a short path, the same one another process of the instance derives
        assert len(os.fsencode(owner.socket)) <= SOCKET_PATH_MAX
        assert owner.socket == socket_path(folder) and owner.owned
        conn = queue.connect(owner.url)
        conn.set("k", "v")
        other = EmbeddedRedis(folder.parent).start()
        assert not other.owned and queue.connect(other.url).get("k") == b"v"
        # and a different instance folder gets a different socket
        assert socket_path(deep_folder(tmp_path / "other")) != owner.socket
    finally:
        owner.stop()


def test_a_short_folder_keeps_its_socket_inside_it(tmp_path: Path) -> None:
    assert socket_path(tmp_path / "redis") == tmp_path / "redis" / "redis.sock"


@pytest.mark.skipif(os.getuid() != 0, reason="handing a socket to another user needs root")
def test_a_socket_of_another_user_is_not_attached_to(tmp_path: Path) -> None:
    # given a server already answering at the instance's socket, the socket handed to another user
    first = EmbeddedRedis(tmp_path / "instance").start()
    try:
        os.chown(first.socket, 65534, 65534)
        # when this user's process starts the embedded Redis, then it does not attach to that one:
        # it starts a server of its own, whose socket is this user's
        mine = EmbeddedRedis(tmp_path / "instance").start()
        try:
            assert mine.owned and mine.process is not None and first.process is not None
            assert mine.process.pid != first.process.pid
            assert mine.socket.stat().st_uid == os.getuid() and queue.connect(mine.url).ping()
        finally:
            mine.stop()
    finally:
        first.stop()
