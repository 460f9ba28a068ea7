"""`crm-connector run` on the embedded default: web + worker + cron come up, work, and stop cleanly."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis
import requests
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer

from connector.runtime.embedded_redis import socket_path
from connector.runtime.queue import connect, enqueue

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(
    predicate: Callable[[], Any], what: str = "a condition", timeout: float = 60.0, every: float = 0.2
) -> Any:
    """The predicate's first truthy value, asked every `every` s; fails after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")


def healthz(port: int) -> requests.Response | None:
    try:
        return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
    except requests.ConnectionError:
        return None


def job_ids(conn: redis.Redis, pattern: str) -> list[str]:
    return [(k.decode() if isinstance(k, bytes) else str(k))[len("rq:job:") :] for k in conn.keys(pattern)]


def finished(conn: redis.Redis, job_id: str) -> bool:
    return Job.fetch(job_id, connection=conn, serializer=JSONSerializer).get_status() == JobStatus.FINISHED


def test_run_starts_web_worker_and_cron_and_stops_everything(tmp_path: Path) -> None:
    # given a fresh machine: no DATABASE_URL, no REDIS_URL, an empty instance folder
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env["CONNECTOR_INSTANCE_PATH"] = str(tmp_path / "instance")
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "connector.cli", "run", "--port", str(port)], env=env)
    try:
        # when it starts, then the web answers healthy
        response = wait_for(lambda: (r := healthz(port)) is not None and r.status_code == 200 and r)
        assert response.json()["checks"] == {"database": "ok", "redis": "ok"}
        conn = connect(f"unix://{socket_path(tmp_path / 'instance' / 'redis')}")
        # and cron enqueued its interval jobs at start, which the worker ran
        cron_ids = wait_for(lambda: job_ids(conn, "rq:job:cron-*"))
        wait_for(lambda: finished(conn, cron_ids[0]))
        # and a job enqueued now is picked up by the worker
        job = enqueue(conn, "sync", "sync.housekeeping.prune_inbox")
        assert job is not None
        wait_for(lambda: finished(conn, job.id))
        redis_pid = int((tmp_path / "instance" / "redis" / "redis.pid").read_text())
    finally:
        # when Ctrl-C arrives
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=60)
    # then everything stopped: the process tree, the web port and the embedded Redis
    assert code == 0
    assert healthz(port) is None
    wait_for(lambda: not Path(f"/proc/{redis_pid}").exists(), timeout=15)
