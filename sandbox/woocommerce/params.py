"""Query parameters as WordPress's REST server checks them before a WooCommerce
controller runs: types, enums, bounds and date formats, each failure a 400
`rest_invalid_param` naming the parameter (data.params and data.details), nothing changed.

Unknown parameters are ignored, as WordPress ignores them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from sandbox.woocommerce.values import SITE_OFFSET

RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}(:?\d{2})?)?$")
MAX_PER_PAGE = 100


class InvalidParam(Exception):
    def __init__(self, name: str, message: str, code: str = "rest_invalid_param") -> None:
        super().__init__(message)
        self.name, self.message, self.code = name, message, code

    def body(self) -> dict[str, Any]:
        return {
            "code": "rest_invalid_param",
            "message": f"Invalid parameter(s): {self.name}",
            "data": {
                "status": 400,
                "params": {self.name: self.message},
                "details": {self.name: {"code": self.code, "message": self.message, "data": None}},
            },
        }


class Params:
    """Typed reads of one request's query string."""

    def __init__(self, args: Mapping[str, str]) -> None:
        self.args = args

    def has(self, name: str) -> bool:
        return name in self.args

    def integer(self, name: str, default: int | None = None, minimum: int | None = None) -> int | None:
        raw = self.args.get(name)
        if raw is None or raw == "":
            return default
        if not re.fullmatch(r"-?\d+", raw.strip()):
            raise InvalidParam(name, f"{name} is not of type integer.", "rest_invalid_type")
        value = int(raw)
        if minimum is not None and value < minimum:
            raise InvalidParam(
                name, f"{name} must be greater than or equal to {minimum}", "rest_out_of_bounds"
            )
        return value

    def per_page(self, default: int = 10) -> int:
        value = self.integer("per_page", default)
        assert value is not None
        if not 1 <= value <= MAX_PER_PAGE:
            message = f"per_page must be between 1 (inclusive) and {MAX_PER_PAGE} (inclusive)"
            raise InvalidParam("per_page", message, "rest_out_of_bounds")
        return value

    def choice(self, name: str, allowed: Iterable[str], default: str) -> str:
        value = self.args.get(name, default)
        allowed = list(allowed)
        if value not in allowed:
            raise InvalidParam(name, f"{name} is not one of {', '.join(allowed)}.", "rest_not_in_enum")
        return value

    def choices(self, name: str, allowed: Iterable[str], default: str) -> set[str]:
        """An array parameter given comma-separated (or once): each item from `allowed`."""
        allowed = list(allowed)
        items = [part.strip() for part in (self.args.get(name) or default).split(",") if part.strip()]
        for item in items:
            if item not in allowed:
                message = f"{name}[{items.index(item)}] is not one of {', '.join(allowed)}."
                raise InvalidParam(name, message, "rest_not_in_enum")
        return set(items)

    def ids(self, name: str) -> list[int] | None:
        """wp_parse_id_list: comma- or space-separated ids; anything not a number is refused."""
        raw = self.args.get(name)
        if raw is None or not raw.strip():
            return None
        parts = [p for p in re.split(r"[\s,]+", raw.strip()) if p]
        if not all(p.isdigit() for p in parts):
            raise InvalidParam(name, f"{name}[0] is not of type integer.", "rest_invalid_type")
        return list(dict.fromkeys(int(p) for p in parts))

    def boolean(self, name: str, default: bool = False) -> bool:
        raw = self.args.get(name)
        if raw is None:
            return default
        if raw.lower() in ("true", "1", "yes"):
            return True
        if raw.lower() in ("false", "0", "no", ""):
            return False
        raise InvalidParam(name, f"{name} is not of type boolean.", "rest_invalid_type")

    def date(self, name: str) -> datetime | None:
        """An RFC 3339 date; without an offset it is site time, or GMT with `dates_are_gmt`."""
        raw = self.args.get(name)
        if raw is None or raw == "":
            return None
        if not RFC3339.match(raw.strip()):
            raise InvalidParam(name, "Invalid date.", "rest_invalid_date")
        at = datetime.fromisoformat(raw.strip().replace("z", "Z").replace("Z", "+00:00").replace(" ", "T"))
        if at.tzinfo is None:
            offset = timedelta(0) if self.boolean("dates_are_gmt") else SITE_OFFSET
            at = at.replace(tzinfo=UTC) - offset
        return at.astimezone(UTC)

    def email(self, name: str) -> str | None:
        raw = self.args.get(name)
        if raw is None or raw == "":
            return None
        if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", raw):
            raise InvalidParam(name, "Invalid email address.", "rest_invalid_email")
        return raw

    def text(self, name: str) -> str | None:
        raw = self.args.get(name)
        return raw.strip() if raw and raw.strip() else None
