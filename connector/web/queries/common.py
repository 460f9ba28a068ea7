"""What every read model shares: values made JSON-ready, keyset pages by id with their
cursor, the account's stores, and the checks of query arguments (flags, whole numbers,
dates), each refusing bad input with a sentence naming the argument.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from connector.db.models import Store
from connector.db.types import utcnow
from connector.errors import BadInput, NotFound

MAX_LIMIT = 200
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)


def plain(value: Any) -> Any:
    """JSON-ready: times in ISO 8601, money as strings with two decimals."""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


@dataclass(frozen=True)
class Page:
    limit: int = 50
    after: int | None = None

    @classmethod
    def of(cls, args: Any) -> Page:
        try:
            limit = int(args.get("limit") or 50)
        except ValueError:
            raise BadInput("limit: a whole number from 1 to 200") from None
        if not 1 <= limit <= MAX_LIMIT:
            raise BadInput("limit: a whole number from 1 to 200")
        return cls(limit, decode_cursor(args.get("cursor")))


def encode_cursor(last_id: int) -> str:
    """Pages are keyset pages by id: the cursor is the last id seen, to go on after."""
    return str(last_id)


def decode_cursor(cursor: str | None) -> int | None:
    if not cursor:
        return None
    if not (cursor.isascii() and cursor.isdigit()) or len(cursor) > 18:
        raise BadInput("cursor: pass back the next_cursor of the previous page")
    return int(cursor)


def keyset_page(
    conn: Connection, model: Any, where: list[Any], page: Page
) -> tuple[Sequence[Any], str | None]:
    """One page of `model`'s rows matching `where`, by id, and the cursor of the next (None: the last)."""
    if page.after is not None:
        where = [*where, model.id > page.after]
    rows = conn.execute(select(model).where(*where).order_by(model.id).limit(page.limit + 1)).all()
    more, rows = len(rows) > page.limit, rows[: page.limit]
    return rows, encode_cursor(rows[-1].id) if more and rows else None


def store_ids(conn: Connection, account_id: int) -> list[int]:
    return list(conn.execute(select(Store.id).where(Store.account_id == account_id)).scalars())


def own_store(conn: Connection, account_id: int, args: Any) -> int:
    """The `store_id` argument, which must be one of the account's stores."""
    store_id = whole_number(args, "store_id")
    if store_id not in store_ids(conn, account_id):
        raise NotFound("store")
    return store_id


def flag(args: Any, name: str) -> bool | None:
    raw = args.get(name)
    if raw in (None, ""):
        return None
    if raw not in ("true", "false"):
        raise BadInput(f"{name}: true or false")
    return raw == "true"


def whole_number(args: Any, name: str) -> int:
    try:
        value = int(args.get(name))
    except (TypeError, ValueError):
        raise BadInput(f"{name}: a whole number") from None
    if not 1 <= value <= 2**63 - 1:
        raise BadInput(f"{name}: a whole number from 1 to 2^63-1")
    return value


def _moment(args: Any, name: str) -> datetime | None:
    """An ISO 8601 date or time from the query (UTC unless it says otherwise), or None."""
    raw = args.get(name)
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise BadInput(f"{name}: an ISO 8601 date, e.g. 2026-01-31") from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if not EARLIEST <= moment <= LATEST:
        raise BadInput(f"{name}: a date from {EARLIEST:%Y-%m-%d} to {LATEST:%Y-%m-%d}")
    return moment


def only(args: Any, allowed: tuple[str, ...], what: str) -> None:
    """Refuse an argument the read model does not take (a typo such as `from` for `since`
    would otherwise be ignored in silence, showing another period than the one asked for)."""
    unknown = sorted(set(args) - set(allowed))
    if unknown:
        raise BadInput(f"{unknown[0]}: {what} takes {', '.join(allowed)}, not {unknown[0]}")


def date_range(args: Any, default_days: int = 30) -> tuple[datetime, datetime]:
    until = _moment(args, "until") or utcnow()
    since = _moment(args, "since") or until - timedelta(days=default_days)
    if since >= until:
        raise BadInput("since: must be before until")
    return since, until
