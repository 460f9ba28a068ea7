"""`crm-connector run`: web, worker and cron as one process tree on one machine.

The parent owns the embedded Redis (if no REDIS_URL), upgrades the embedded database,
then starts the three Procfile roles as children pointed at the same Redis, each in a
session of its own: a terminal's Ctrl-C or hang-up reaches only the parent, which stops
them in order. SIGINT, SIGTERM or SIGHUP (or one child dying) sends each child SIGTERM;
one still running after GRACE_S is killed with everything in its process group. On
Linux a child left by a parent that was itself killed gets SIGTERM.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO

from connector import logs
from connector.runtime.signals import STOP_SIGNALS, death_signal_setter

log = logs.get(__name__)
GRACE_S = 20.0  # more than a work horse's grace and the web server's (connector/runtime/web_server.py)


def run_all(roles: Mapping[str, list[str]], env: Mapping[str, str], log_file: Path | None = None) -> int:
    """Each role as a child process until a stop signal or one of them exits; with
    `log_file`, their output is appended there instead of this terminal."""
    stopping = False

    def request_stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        log.info("stop signal received; stopping the roles", extra={"signal": signum})

    for signum in STOP_SIGNALS:
        signal.signal(signum, request_stop)
    output = open(log_file, "ab") if log_file else None  # noqa: SIM115 (closed after the children)
    children = {role: _start(argv, env, output) for role, argv in roles.items()}
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


def _start(argv: list[str], env: Mapping[str, str], output: IO[bytes] | None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "connector.cli", *argv],
        env={**os.environ, **env},
        stdout=output,
        stderr=output,
        start_new_session=True,  # its own session and process group: signals come from us, once
        preexec_fn=death_signal_setter(signal.SIGTERM),
    )


def _stop(children: Mapping[str, subprocess.Popen[bytes]]) -> None:
    for child in children.values():
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + GRACE_S
    for role, child in children.items():
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            log.warning("process did not stop in time; killed", extra={"role": role, "pid": child.pid})
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGKILL)  # the role and the processes in its group
            child.wait()
