"""Injected faults on the sandbox's platform APIs: latency, 429 storms and 5xx errors.

Set through the control API; every platform request passes through `injected` first.
A 429 carries Retry-After, as both platforms' rate limiters and proxies send it.
"""

from __future__ import annotations

import json
import time

from flask import Response

from sandbox.world import World


def injected(world: World) -> Response | None:
    faults = world.faults
    if faults.latency_ms:
        time.sleep(faults.latency_ms / 1000)
    with world.fault_lock:
        roll = world.fault_random.random()
    if roll < faults.rate_429:
        world.injected_429 += 1
        return Response(
            json.dumps(
                {
                    "errors": "Exceeded 2 calls per second for api client. Reduce request rates "
                    "to resume uninterrupted service."
                }
            ),
            429,
            headers={"Retry-After": "1.0"},
            mimetype="application/json",
        )
    if roll < faults.rate_429 + faults.rate_5xx:
        world.injected_5xx += 1
        return Response(json.dumps({"errors": "Internal Server Error"}), 503, mimetype="application/json")
    return None
