"""What the CRM store can hold: the last step of every mapper, so that a value the database
would refuse never reaches a write, and a record that cannot be kept is refused with a
sentence naming it, the field and the problem ("orders 123: total_price is not a finite
amount ('Infinity')"). The rules follow each field's kind, as `platforms.rows` declares it:
ids 1 to 2^63 - 1, counts in 32 bits, finite amounts that fit, true/false, aware times;
text loses NUL characters and lone surrogates (PostgreSQL cannot keep them) and is cut to
its column's length, except the fields that identify a person (e-mail, phone), where
either refuses the record; JSON (raw payloads, addresses) is cleaned the same way.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple, ParamSpec, get_args, get_type_hints

import orjson

from platforms.base import MAX_AMOUNT, MAX_COUNT, MAX_ID, Batch, MappingError, money, shown
from platforms.entities import BY_NAME
from platforms.rows import Kind

P = ParamSpec("P")
IDENTIFYING = frozenset({"email", "email_normalized", "phone", "phone_e164"})  # refused, never altered
_SURROGATES = re.compile("[\ud800-\udfff]")
_JSON_INTS = (-(2**63), 2**64 - 1)  # what orjson (the JSON columns' writer) can write


def refusing(entity: str) -> Callable[[Callable[P, Batch]], Callable[P, Batch]]:
    """A mapper whose batch is made storable, and whose refusals name the record (the
    payload, its first argument): "orders 123: …"."""

    def decorate(mapper: Callable[P, Batch]) -> Callable[P, Batch]:
        @functools.wraps(mapper)
        def mapped(*args: P.args, **kwargs: P.kwargs) -> Batch:
            try:
                return storable(mapper(*args, **kwargs))
            except MappingError as exc:
                raise MappingError(f"{entity} {_id_of(args[0] if args else None)}: {exc}") from None

        return mapped

    return decorate


def storable(batch: Batch) -> Batch:
    """The batch's rows as the CRM store can keep them (cleaned in place); MappingError if not.
    A value already right for its column costs one look-up and a comparison or two, inline:
    each table's columns are grouped by kind once (`_plan`), so no call is made per field."""
    for table, rows in batch.rows.items():
        plan = _plan(table)
        for row in rows:
            _check_row(plan, row)
    batch.consents[:] = [(pid, clean_text(state)[:32], at) for pid, state, at in batch.consents]
    return batch


class _Plan(NamedTuple):
    """A table's columns by kind: (column, limit) for the kinds with a cheap test for a value
    already right; the rest are always checked (`_CHECKS`)."""

    text: tuple[tuple[str, int], ...]
    ids: tuple[str, ...]
    amounts: tuple[str, ...]
    times: tuple[str, ...]
    counts: tuple[str, ...]
    flags: tuple[str, ...]
    checked: tuple[tuple[str, str, int], ...]  # (column, kind, limit): JSON


@functools.cache
def _plan(table: str) -> _Plan:
    by_kind: dict[str, list[tuple[str, int]]] = {}
    for column, (kind, limit) in _columns(table).items():
        by_kind.setdefault(kind, []).append((column, limit))

    def names(kind: str) -> tuple[str, ...]:
        return tuple(column for column, _limit in by_kind.pop(kind, []))

    text = tuple(by_kind.pop("text", []))
    ids, amounts, times, counts, flags = (names(k) for k in ("id", "amount", "time", "count", "flag"))
    checked = tuple((column, kind, limit) for kind, cols in by_kind.items() for column, limit in cols)
    return _Plan(text, ids, amounts, times, counts, flags, checked)


def _check_row(plan: _Plan, row: dict[str, Any]) -> None:
    """A value that is not already right for its column goes through its kind's check, which
    cleans it or refuses the record (absent and None values are left as they are)."""
    get = row.get
    for column, limit in plan.text:
        v = get(column)
        if v is not None and not (type(v) is str and v.isascii() and "\x00" not in v and len(v) <= limit):
            row[column] = _text(column, v, limit)
    for column in plan.ids:
        v = get(column)
        if v is not None and not (type(v) is int and 0 < v <= MAX_ID):
            row[column] = _platform_id(column, v, 0)
    for column in plan.amounts:
        v = get(column)
        if v is not None and not (type(v) is Decimal and v.is_finite() and -MAX_AMOUNT <= v <= MAX_AMOUNT):
            row[column] = _amount(column, v, 0)
    for column in plan.times:
        v = get(column)
        if v is not None and not (type(v) is datetime and v.tzinfo is not None):
            row[column] = _time(column, v, 0)
    for column in plan.counts:
        v = get(column)
        if v is not None and not (type(v) is int and -MAX_COUNT - 1 <= v <= MAX_COUNT):
            row[column] = _count(column, v, 0)
    for column in plan.flags:
        v = get(column)
        if v is not None and type(v) is not bool:
            row[column] = _flag(column, v, 0)
    for column, kind, limit in plan.checked:
        v = get(column)
        if v is not None:
            row[column] = _CHECKS[kind](column, v, limit)


def clean_text(value: str) -> str:
    """Text without the characters PostgreSQL cannot keep: NUL, and lone surrogates."""
    if value.isascii():
        return value.replace("\x00", "") if "\x00" in value else value
    return _SURROGATES.sub("", value.replace("\x00", ""))


def clean_json(value: Any) -> Any:
    """A JSON value as the store can keep it: text cleaned (keys too), numbers beyond what
    JSON columns hold kept as their numerals. The value itself when it is clean already."""
    try:
        if b"\\u0000" not in orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS, default=str):
            return value
    except TypeError:  # a lone surrogate, or an integer beyond 64 bits
        pass
    return _cleaned(value)


def _cleaned(value: Any) -> Any:
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(k) if isinstance(k, str) else k: _cleaned(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_cleaned(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool) and not _JSON_INTS[0] <= value <= _JSON_INTS[1]:
        return str(value)
    return value


@functools.cache
def _columns(table: str) -> dict[str, tuple[str, int]]:
    """Each field of the table's row shape: its kind, and its length (text)."""
    entity = BY_NAME.get(table)
    return {name: (kind.name, kind.limit) for name, kind in kinds_of(entity.row).items()} if entity else {}


def kinds_of(row: type) -> dict[str, Kind]:
    """A row shape's fields and the kind each is annotated with (platforms.rows)."""
    hints = get_type_hints(row, include_extras=True)
    kinds = {name: _kind_in(hint) for name, hint in hints.items()}
    if missing := sorted(name for name, kind in kinds.items() if kind is None):
        raise TypeError(
            f"{row.__name__} declares no Kind for {', '.join(missing)}: annotate as Annotated[type, Kind]"
        )
    return {name: kind for name, kind in kinds.items() if kind is not None}


def _kind_in(hint: Any) -> Kind | None:
    """The Kind in `Annotated[type, Kind]`, under a `Required[...]` if there is one."""
    while not hasattr(hint, "__metadata__"):
        if not get_args(hint):
            return None
        hint = get_args(hint)[0]
    return next((m for m in hint.__metadata__ if isinstance(m, Kind)), None)


def _platform_id(column: str, value: Any, _limit: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
        raise MappingError(
            f"{column} {shown(value)} is not a platform id (a whole number from 1 to 2^63 - 1)"
        )
    return value


def _count(column: str, value: Any, _limit: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise MappingError(f"{column} is not a whole number ({shown(value)})")
    if not -MAX_COUNT - 1 <= value <= MAX_COUNT:
        raise MappingError(f"{column} is too large a number to keep ({shown(value)})")
    return value


def _amount(column: str, value: Any, _limit: int) -> Decimal | None:
    return money(value, column)


def _flag(column: str, value: Any, _limit: int) -> bool:
    if not isinstance(value, bool):
        raise MappingError(f"{column} is not true or false ({shown(value)})")
    return value


def _time(column: str, value: Any, _limit: int) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise MappingError(f"{column} is not a time with its zone ({shown(value)})")
    return value


def _json(column: str, value: Any, _limit: int) -> Any:
    return clean_json(value)


def _text(column: str, value: Any, limit: int) -> str:
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise MappingError(f"{column} is not text ({shown(value)})")
    text = clean_text(value)
    if column in IDENTIFYING:  # changed, it could match another person: refuse instead
        if "\x00" in value:
            raise MappingError(f"{column} contains a NUL character")
        if text != value:
            raise MappingError(f"{column} is not valid Unicode text")
        if len(text) > limit:
            raise MappingError(f"{column} is longer than {limit} characters")
    return text[:limit]


_CHECKS: dict[str, Callable[[str, Any, int], Any]] = {
    "amount": _amount,
    "id": _platform_id,
    "count": _count,
    "flag": _flag,
    "time": _time,
    "json": _json,
    "text": _text,
}


def _id_of(payload: Any) -> str:
    """The record's id as a reason names it: the platform id, or the value shown as it came."""
    if not isinstance(payload, dict):
        return "(not an object)"
    if len(payload) == 1 and next(iter(payload)) in ("order", "customer", "product"):
        payload = next(iter(payload.values())) or {}  # a legacy WooCommerce body
        if not isinstance(payload, dict):
            return "(not an object)"
    value = payload.get("id", payload.get("entity_id", payload.get("customer_id")))  # Magento: entity_id
    if value is None:
        return "(no id)"
    tail = str(value).rsplit("/", 1)[-1]
    return tail if isinstance(value, int | str) and tail.isascii() and tail.isdigit() else shown(value)
