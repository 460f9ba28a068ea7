"""The Overview's period: a preset (7, 30 or 90 days, 12 months) ending today, or custom
`from`/`to` dates (both included, UTC days), with the previous period of equal length just
before it, and the bucket (day, week or month) its charts group by. Bad dates are refused
with a sentence naming the argument, never silently replaced by a default.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from connector.errors import BadInput
from connector.web.queries.common import only

PRESETS = {"7d": 7, "30d": 30, "90d": 90, "12m": 365}
DEFAULT_PRESET = "30d"
MAX_DAYS = 3660  # ten years: the monthly chart stays readable
EARLIEST, LATEST = date(1970, 1, 2), date(8999, 12, 31)


@dataclass(frozen=True)
class Period:
    preset: str  # one of PRESETS, or "custom"
    first: date  # included
    last: date  # included

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def since(self) -> datetime:
        return datetime(self.first.year, self.first.month, self.first.day, tzinfo=UTC)

    @property
    def until(self) -> datetime:
        """The end, excluded: the start of the day after `last`."""
        return self.since + timedelta(days=self.days)

    def previous(self) -> Period:
        """The period of equal length that ends the day before this one starts."""
        last = self.first - timedelta(days=1)
        return Period("previous", last - timedelta(days=self.days - 1), last)

    @property
    def bucket(self) -> str:
        return "day" if self.days <= 31 else "week" if self.days <= 182 else "month"

    def as_json(self) -> dict[str, Any]:
        before = self.previous()
        return {
            "preset": self.preset,
            "from": self.first.isoformat(),
            "to": self.last.isoformat(),
            "days": self.days,
            "previous_from": before.first.isoformat(),
            "previous_to": before.last.isoformat(),
            "bucket": self.bucket,
        }


def period_of(args: Any, today: date) -> Period:
    """The period the query asks for (`period`, `from`, `to`), or the last 30 days."""
    only(args, ("period", "from", "to"), "the overview")
    preset = args.get("period") or ("custom" if args.get("from") or args.get("to") else DEFAULT_PRESET)
    if preset in PRESETS:
        if args.get("from") or args.get("to"):
            raise BadInput(f"period: {preset} ends today; leave from and to empty, or choose custom")
        return Period(preset, today - timedelta(days=PRESETS[preset] - 1), today)
    if preset != "custom":
        raise BadInput("period: one of 7d, 30d, 90d, 12m or custom")
    first, last = _day(args, "from"), _day(args, "to") or today
    if first is None:
        raise BadInput("from: a custom period needs its first day, e.g. 2026-01-31")
    if first > last:
        raise BadInput("from: must be on or before to")
    if (last - first).days + 1 > MAX_DAYS:
        raise BadInput(f"from: a period of at most {MAX_DAYS:,} days")
    return Period("custom", first, last)


def _day(args: Any, name: str) -> date | None:
    raw = args.get(name)
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw) if len(raw) == 10 else None
    except ValueError:
        day = None
    if day is None:
        raise BadInput(f"{name}: a date written 2026-01-31 (year-month-day)")
    if not EARLIEST <= day <= LATEST:
        raise BadInput(f"{name}: a date from {EARLIEST} to {LATEST}")
    return day


def bucket_key(bucket: str, at: datetime) -> str:
    """The label of the day, week (its Monday) or month `at` falls in."""
    if bucket == "day":
        return at.strftime("%Y-%m-%d")
    if bucket == "week":
        return (at - timedelta(days=at.weekday())).strftime("%Y-%m-%d")
    return at.strftime("%Y-%m")


def bucket_labels(period: Period) -> list[str]:
    """Every bucket of the period in order, the empty ones too (a chart with gaps lies)."""
    labels: list[str] = []
    at = period.since
    while at < period.until:
        key = bucket_key(period.bucket, at)
        if not labels or labels[-1] != key:
            labels.append(key)
        at += timedelta(days=1)
    return labels
