"""`crm-connector run` on the embedded default: web + worker + cron come up, work, and stop cleanly."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
import requests
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer

from connector.queue import connect, enqueue

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(predicate, timeout: float = 60.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("timed out waiting")


def healthz(port: int) -> requests.Response | None:
    try:
        return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
    except requests.ConnectionError:
        return None


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
        conn = connect(f"unix://{tmp_path / 'instance' / 'redis' / 'redis.sock'}")
        # and cron enqueued its interval jobs at start, which the worker ran
        cron_ids = wait_for(lambda: [k.decode()[len("rq:job:") :] for k in conn.keys("rq:job:cron-*")])
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
