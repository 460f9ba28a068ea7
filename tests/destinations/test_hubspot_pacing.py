"""The HubSpot client's pacing follows the rolling window its headers describe: when the window
is spent it waits only until the oldest of its calls leaves it (not a whole window each time),
and that is never too early (no 429); searches keep to the search's own limit."""

from __future__ import annotations

from destinations.hubspot.client import SEARCH_GAP_S, HubSpotClient
from destinations.pacing import Pacing
from sandbox.server import SandboxServer


def test_a_spent_window_is_waited_out_only_until_its_oldest_call_leaves(sandbox: SandboxServer) -> None:
    # given a portal allowing 5 calls a rolling second, each answered 100 ms after it is counted,
    # and the client pacing from its headers
    portal = sandbox.world.hubspot
    portal.max_per_window, portal.window_ms, portal.latency_ms = 5, 1_000, 100
    pacing = Pacing(backoff_s=0.1)
    client = HubSpotClient(portal.token, sandbox.url + "/hubspot", pacing)
    # when it makes 15 calls (three windows' worth)
    for _ in range(15):
        client.call("GET", "/account-info/v3/details")
    client.close()
    # then none was refused, and it waited less than the three whole windows a fixed wait would
    # (each spent window waited out from its oldest call: its calls' own time is not waited again)
    assert portal.throttled == 0 and pacing.retries == 0
    assert pacing.calls == 15
    assert 0 < pacing.waited_s < 2.5


def test_searches_keep_to_the_search_limit(sandbox: SandboxServer) -> None:
    # given a search limit of 4 a second (the client's own pace) and a portal that enforces it
    portal = sandbox.world.hubspot
    portal.search_per_second = 4
    pacing = Pacing(backoff_s=0.1)
    client = HubSpotClient(portal.token, sandbox.url + "/hubspot", pacing)
    # when it searches 9 times in a row
    for _ in range(9):
        assert client.search("contacts", {"limit": 1})["total"] == 0
    client.close()
    # then none was refused: each waited for its turn
    assert portal.throttled == 0 and pacing.retries == 0
    assert pacing.waited_s > 0 and SEARCH_GAP_S * 4 <= 1.0
