"""`crm-connector run`: web, worker and cron as one process tree on one machine.

The parent owns the embedded Redis (if no REDIS_URL), upgrades the embedded database,
then starts the three Procfile roles as children pointed at the same Redis. Ctrl-C or
SIGTERM stops the children in order, then Redis; if one child dies, all stop.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from connector import logs

log = logs.get(__name__)
GRACE_S = 10.0


def run_all(roles: Mapping[str, list[str]], env: Mapping[str, str], log_file: Path | None = None) -> int:
    """Each role as a child process until Ctrl-C or one of them exits; with `log_file`,
    their output is appended there instead of this terminal."""
    output = open(log_file, "ab") if log_file else None  # noqa: SIM115 (closed after the children)
    children = {
        role: subprocess.Popen(
            [sys.executable, "-m", "connector.cli", *argv],
            env={**os.environ, **env},
            stdout=output,
            stderr=output,
        )
        for role, argv in roles.items()
    }
    stopping = False

    def request_stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    exit_code = 0
    while not stopping:
        for role, child in children.items():
            if child.poll() is not None:
                log.error(
                    "process exited; stopping the others", extra={"role": role, "code": child.returncode}
                )
                stopping, exit_code = True, child.returncode or 1
        time.sleep(0.2)
    _stop(children)
    if output is not None:
        output.close()
    return exit_code


def _stop(children: Mapping[str, subprocess.Popen[bytes]]) -> None:
    for child in children.values():
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + GRACE_S
    for child in children.values():
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
