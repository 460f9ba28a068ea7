"""The least wall time Salesforce's and Zoho CRM's published limits, as the sandbox enforces them,
allow a first push of n contacts, given the sandbox's per-call latency L (each answer held L
after the call was acted on; docs/platform-facts-extra.md, "CRM limits", has the limits):

- Zoho CRM: ⌈n/100⌉ upserts of 100 (1 credit per 10 records: 10 each) from the day's credits; at
  most min(concurrency, sub-concurrency) of them in flight (a write of more than 10 records is
  sub-concurrency limited): floor = ⌈upserts / that⌉ * L, or, when the credits do not cover the
  upserts, a full 24-hour window for each further day's worth.
- Salesforce: Bulk API 2.0 from 2,000 records; per 10,000 records an Account job then a Contact
  job (the Contact needs its Account's id), each at least 5 calls in turn (create, upload, close,
  one poll, successful results; the failed results are asked for only when the job counted
  failures, none in a first push of valid contacts). Requests shorter than 20 s have no concurrency limit
  and the day's allocation (100,000) covers them, so every batch may go at once: floor = 10 * L
  (the job's own processing time is not a published limit; the sandbox's is nil).
The calls the push makes besides these (field listings, the opt-out read) are left out: the
floor is a lower bound.
"""

from __future__ import annotations

from sandbox.server import SandboxServer

DAY_S = 86_400.0
ZOHO_BATCH, ZOHO_CREDITS_PER_UPSERT = 100, 10
BULK_BATCH, CALLS_PER_JOB, JOBS_IN_TURN = 10_000, 5, 2


def floor_s(kind: str, n: int, server: SandboxServer, latency_s: float) -> tuple[float, str]:
    if kind == "zoho":
        return _zoho(n, server, latency_s)
    return _salesforce(n, server, latency_s)


def _zoho(n: int, server: SandboxServer, latency_s: float) -> tuple[float, str]:
    org = server.world.zoho
    assert org is not None
    upserts = -(-n // ZOHO_BATCH)
    credits = upserts * ZOHO_CREDITS_PER_UPSERT
    lanes = max(1, min(org.concurrency, org.sub_concurrency))
    days = (credits - 1) // org.daily_credits if org.daily_credits else float("inf")
    rounds = -(-upserts // lanes)
    floor = days * DAY_S + rounds * latency_s
    return floor, (
        f"{upserts} upserts of 100 = {credits} of {org.daily_credits} daily credits; "
        f"{lanes} at once ({org.concurrency} concurrency, {org.sub_concurrency} sub-concurrency): "
        f"{rounds} rounds x {latency_s * 1000:.0f} ms"
    )


def _salesforce(n: int, server: SandboxServer, latency_s: float) -> tuple[float, str]:
    org = server.world.salesforce
    assert org is not None
    batches = -(-n // BULK_BATCH)
    calls = batches * JOBS_IN_TURN * CALLS_PER_JOB
    days = (calls - 1) // org.daily_max if org.daily_max else float("inf")
    in_turn = JOBS_IN_TURN * CALLS_PER_JOB
    floor = days * DAY_S + in_turn * latency_s
    return floor, (
        f"{batches} batches x (Account job, Contact job) x {CALLS_PER_JOB} calls = {calls} of "
        f"{org.daily_max} daily; no concurrency limit under 20 s: {in_turn} calls in turn x "
        f"{latency_s * 1000:.0f} ms (one batch at a time: {calls * latency_s:.1f} s)"
    )
