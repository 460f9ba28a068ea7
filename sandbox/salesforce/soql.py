"""The part of SOQL a push needs: `SELECT f, … | COUNT() FROM Object [WHERE c AND|OR c …]
[ORDER BY f [ASC|DESC]] [LIMIT n] [OFFSET n]`, conditions `field op value` (=, !=, <, <=, >, >=,
LIKE, IN (…), NOT IN (…)) with string, number, true/false/null, date and datetime literals.
Anything else is MALFORMED_QUERY, as Salesforce answers a query it cannot parse."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sandbox.salesforce.schema import Field, SObject
from sandbox.salesforce.values import SalesforceError, parse_time

TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^'\\]|\\.)*')|(?P<op><=|>=|!=|<>|=|<|>|\(|\)|,)"
    r"|(?P<word>[A-Za-z_][\w.]*(?:\(\))?)|(?P<lit>[0-9T:+\-.Z]+))",
)
KEYWORDS = {
    "SELECT",
    "FROM",
    "WHERE",
    "AND",
    "OR",
    "ORDER",
    "BY",
    "ASC",
    "DESC",
    "LIMIT",
    "OFFSET",
    "IN",
    "NOT",
    "LIKE",
    "NULLS",
    "FIRST",
    "LAST",
}


@dataclass
class Query:
    object: str
    fields: list[str]
    count_only: bool = False
    where: Callable[[Callable[[str], Any]], bool] | None = None
    order: list[tuple[str, bool]] = field(default_factory=list)  # (field, descending)
    limit: int | None = None
    offset: int = 0


def malformed(message: str) -> SalesforceError:
    return SalesforceError("MALFORMED_QUERY", message)


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens: list[tuple[str, str]] = []
        position = 0
        text = text.strip()
        while position < len(text):
            match = TOKEN.match(text, position)
            if match is None or match.end() == position:
                raise malformed(f"unexpected token: '{text[position : position + 20]}'")
            kind = match.lastgroup or ""
            self.tokens.append((kind, match.group(kind)))
            position = match.end()
        self.i = 0

    def peek(self) -> str:
        return self.tokens[self.i][1].upper() if self.i < len(self.tokens) else ""

    def take(self) -> tuple[str, str]:
        if self.i >= len(self.tokens):
            raise malformed("unexpected end of query")
        self.i += 1
        return self.tokens[self.i - 1]

    def expect(self, word: str) -> None:
        if self.take()[1].upper() != word:
            raise malformed(f"expecting '{word}'")


def parse(text: str, resolve: Callable[[str], SObject]) -> Query:
    p = _Parser(text)
    p.expect("SELECT")
    names, count_only = _select_list(p)
    p.expect("FROM")
    obj = resolve(p.take()[1])
    fields = [] if count_only else [_field(obj, n).name for n in names]
    query = Query(obj.name, fields, count_only)
    if p.peek() == "WHERE":
        p.take()
        query.where = _disjunction(p, obj)
    if p.peek() == "ORDER":
        p.take()
        p.expect("BY")
        query.order = _order(p, obj)
    for word in ("LIMIT", "OFFSET"):
        if p.peek() == word:
            p.take()
            kind, value = p.take()
            if kind != "lit" or not value.isdigit():
                raise malformed(f"{word} takes a whole number")
            setattr(query, word.lower(), int(value))
    if p.i != len(p.tokens):
        raise malformed(f"unexpected token: '{p.tokens[p.i][1]}'")
    return query


def _select_list(p: _Parser) -> tuple[list[str], bool]:
    if p.peek() == "COUNT()":
        p.take()
        return [], True
    names = [p.take()[1]]
    while p.peek() == ",":
        p.take()
        names.append(p.take()[1])
    return names, False


def _field(obj: SObject, name: str) -> Field:
    if "." in name:
        raise malformed(f"relationship fields are not supported by the sandbox: {name}")
    f = obj.field(name)
    if f is None:
        raise SalesforceError(
            "INVALID_FIELD",
            f"No such column '{name}' on entity '{obj.name}'. If you are attempting to use a custom field, "
            "be sure to append the '__c' after the custom field name.",
        )
    return f


Predicate = Callable[[Callable[[str], Any]], bool]


def _disjunction(p: _Parser, obj: SObject) -> Predicate:
    parts = [_conjunction(p, obj)]
    while p.peek() == "OR":
        p.take()
        parts.append(_conjunction(p, obj))
    return parts[0] if len(parts) == 1 else (lambda get: any(part(get) for part in parts))


def _conjunction(p: _Parser, obj: SObject) -> Predicate:
    parts = [_condition(p, obj)]
    while p.peek() == "AND":
        p.take()
        parts.append(_condition(p, obj))
    return parts[0] if len(parts) == 1 else (lambda get: all(part(get) for part in parts))


def _condition(p: _Parser, obj: SObject) -> Predicate:
    if p.peek() == "(":
        p.take()
        inner = _disjunction(p, obj)
        p.expect(")")
        return inner
    f = _field(obj, p.take()[1])
    op = p.take()[1].upper()
    if op == "NOT":
        p.expect("IN")
        op = "NOT IN"
    if op in ("IN", "NOT IN"):
        values = _list(p, f)
        inside = (lambda v: v in values) if op == "IN" else (lambda v: v not in values)
        return lambda get: inside(_comparable(f, get(f.name)))
    if op not in ("=", "!=", "<>", "<", "<=", ">", ">=", "LIKE"):
        raise malformed(f"unexpected operator: '{op}'")
    value = _literal(p.take(), f)
    return _compare(f, op, value)


def _list(p: _Parser, f: Field) -> list[Any]:
    p.expect("(")
    values = [_literal(p.take(), f)]
    while p.peek() == ",":
        p.take()
        values.append(_literal(p.take(), f))
    p.expect(")")
    return values


def _literal(token: tuple[str, str], f: Field) -> Any:
    kind, text = token
    if kind == "str":
        if f.type in ("datetime", "date"):
            raise SalesforceError(
                "INVALID_QUERY_FILTER_OPERATOR",
                f"value of filter criterion for field '{f.name}' must be of type {f.type} and should not be "
                "enclosed in quotes",
            )
        return re.sub(r"\\(.)", r"\1", text[1:-1]).lower()
    upper = text.upper()
    if upper in ("TRUE", "FALSE"):
        return upper == "TRUE"
    if upper == "NULL":
        return None
    if f.type in ("datetime", "date"):
        parsed = parse_time(text)
        if parsed is None:
            raise malformed(f"invalid date or datetime literal: {text}")
        return parsed
    try:
        return float(text)
    except ValueError:
        raise malformed(f"unexpected token: '{text}'") from None


def _comparable(f: Field, value: Any) -> Any:
    if value is None:
        return None
    if f.type in ("datetime", "date"):
        return parse_time(value)
    if isinstance(value, str):
        return value.lower()  # SOQL string comparisons are case-insensitive
    if isinstance(value, bool):
        return value
    return float(value) if isinstance(value, int | float) else value


def _compare(f: Field, op: str, value: Any) -> Predicate:
    def test(get: Callable[[str], Any]) -> bool:
        have = _comparable(f, get(f.name))
        if op == "=":
            return bool(have == value)
        if op in ("!=", "<>"):
            return bool(have != value)
        if op == "LIKE":
            pattern = re.escape(str(value)).replace("%", ".*").replace("_", ".")
            return have is not None and re.fullmatch(pattern, str(have)) is not None
        if have is None or value is None:
            return False
        return bool({"<": have < value, "<=": have <= value, ">": have > value, ">=": have >= value}[op])

    return test


def _order(p: _Parser, obj: SObject) -> list[tuple[str, bool]]:
    out = []
    while True:
        f = _field(obj, p.take()[1])
        descending = False
        if p.peek() in ("ASC", "DESC"):
            descending = p.take()[1].upper() == "DESC"
        if p.peek() == "NULLS":
            p.take()
            p.take()
        out.append((f.name, descending))
        if p.peek() != ",":
            return out
        p.take()


def sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, "")
    if isinstance(value, datetime):
        return (1, value.timestamp())
    if isinstance(value, bool | int | float):
        return (1, float(value))
    return (2, str(value).lower())


comparable = _comparable
