"""What one Zoho CRM API call costs and whether it is heavy: most calls cost 1 credit, an insert,
update or upsert 1 per 10 records it carries (at most 10 for the 100 a call takes); a write of
more than 10 records also counts against the sub-concurrency limit (10 in every edition), beside
the edition's concurrency limit that every call counts against."""

from __future__ import annotations

from flask import request

from sandbox.zoho.org import RECORDS_PER_CREDIT

HEAVY_FROM = 11  # records in a write that make it count against the sub-concurrency limit
NOT_RECORDS = ("settings", "users", "org")


def records_written(parts: list[str], method: str) -> int:
    """How many records this call inserts, updates or upserts (0 for any other call)."""
    if not parts or parts[0] in NOT_RECORDS:
        return 0
    rest = parts[1:]
    writes = (not rest and method in ("POST", "PUT")) or (rest == ["upsert"] and method == "POST")
    if not writes:
        return 0
    body = request.get_json(silent=True, force=True)
    items = body.get("data") if isinstance(body, dict) else None
    return len(items) if isinstance(items, list) else 0


def credits(written: int) -> int:
    """The credits a call writing `written` records costs."""
    return 1 if written <= 0 else min(10, -(-written // RECORDS_PER_CREDIT))


def heavy(written: int) -> bool:
    return written >= HEAVY_FROM
