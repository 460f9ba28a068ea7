"""`crm-connector destinations push` stopped by a process manager's SIGTERM says so: what it
had settled, that the rest stays marked, and the signal that stopped it (exit 143, no
traceback); the next push finishes with the CRM holding exactly the account."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

from sqlalchemy import func, select

from connector.db import get_engine
from connector.db.operations import DestinationMark, DestinationRecord
from tests.destinations.helpers import add_hubspot, faults, push_until_done, sync_everything
from tests.destinations.test_push import assert_hubspot_matches
from tests.rig import Rig


def count(rig: Rig, table: type) -> int:
    with get_engine(rig.app).connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_a_push_stopped_by_sigterm_says_what_it_settled_and_the_next_push_ends_it(rig: Rig) -> None:
    # given an account backfilled, a HubSpot destination on it, and HubSpot answering slowly
    sync_everything(rig)
    dest = add_hubspot(rig)
    faults(rig, latency_ms=300)
    # when `destinations push` runs and is sent SIGTERM once its contacts are settled
    push = subprocess.Popen(
        [sys.executable, "-c", "from connector.cli import main; main()", "destinations", "push", str(dest)],
        env={**os.environ, **rig.env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not count(rig, DestinationRecord) and push.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert push.poll() is None, "the push ended before it could be stopped"
    push.send_signal(signal.SIGTERM)
    _out, err = push.communicate(timeout=60)
    # then it exits 143 and says what it settled, that the rest waits, and what stopped it
    assert push.returncode == 128 + signal.SIGTERM, err
    assert f"destination {dest}: stopped; settled contacts" in err, err
    assert "the rest stays marked for the next push" in err and "stopped by SIGTERM" in err, err
    assert "Traceback" not in err, err
    assert count(rig, DestinationMark) > 0
    # and what it says it settled is what it noted, a batch settled in the stop's grace too
    said = {o: int(n.replace(",", "")) for o, n in re.findall(r"(contacts|orders) ([\d,]+) of", err)}
    with get_engine(rig.app).connect() as conn:
        rows = select(DestinationRecord.object, func.count()).group_by(DestinationRecord.object)
        noted = {str(o): int(n) for o, n in conn.execute(rows).all()}
    assert said == noted, err
    # and the next push finishes: HubSpot holds exactly the account, field by field
    faults(rig, latency_ms=0)
    assert push_until_done(rig.app, dest)[-1].outcome == "done"
    assert_hubspot_matches(rig)
