"""How the sandbox's Magento writes values: times as `YYYY-MM-DD HH:MM:SS` in UTC with no
offset (Magento stores and answers UTC), money as JSON numbers, increment ids padded to nine
digits, and the install's websites and store views that records carry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


@dataclass(frozen=True)
class StoreView:
    id: int
    code: str
    name: str
    website_id: int
    website_code: str
    website_name: str


STORE_VIEWS = (
    StoreView(1, "default", "Default Store View", 1, "base", "Main Website"),
    StoreView(2, "eu_en", "EU English", 2, "eu", "EU Website"),
)
CODES = {view.code: view for view in STORE_VIEWS}


def stamp(at: datetime | None) -> str | None:
    return None if at is None else at.astimezone(UTC).strftime(TIME_FORMAT)


def parse_time(text: str) -> datetime | None:
    """A filter value as MySQL would read it against a datetime column: a date, or a date and a
    time; anything else is None (MySQL compares it as the zero date, so `gteq` matches every row)."""
    text = text.strip().replace("T", " ")
    for fmt in (TIME_FORMAT, "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


def money(value: Decimal) -> float:
    return float(value.quantize(Decimal("0.01")))


def negative(value: Decimal) -> float:
    """A discount as Magento writes it: below zero, and 0 rather than -0."""
    return -money(value) if value else 0.0


def increment_id(number: int) -> str:
    return f"{number:09d}"


def store_view_of(seed_value: float) -> StoreView:
    """One record in four belongs to the EU website's store view."""
    return STORE_VIEWS[1] if seed_value < 0.25 else STORE_VIEWS[0]
