"""Shopify's search syntax (https://shopify.dev/docs/api/usage/search-syntax), the `query:`
argument of the Admin API's connections and counts: terms `field:value` with the comparators
`:<` `:<=` `:>` `:>=`, the connectives AND / OR (AND implied), NOT and `-`, parentheses,
quoted values and `*` prefixes. A parsed query is a tree that tests one record's fields.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from graphql import GraphQLError

COMPARATORS = (":<=", ":>=", ":<", ":>", ":")
TOKEN = re.compile(r"""\s*(?:(?P<open>\()|(?P<close>\))|(?P<quoted>'[^']*'|"[^"]*")|(?P<word>[^\s()'"]+))""")
_KEYWORDS = {("word", "AND"), ("word", "OR"), ("word", "NOT")}
Getter = Callable[[str], Any]  # a record's value of a search field (a list: any of them)


@dataclass(frozen=True)
class Term:
    field: str | None  # None: free text
    op: str  # ':', ':<', ':<=', ':>', ':>='
    value: str
    quoted: bool = False


@dataclass(frozen=True)
class Not:
    part: Node


@dataclass(frozen=True)
class All:  # AND
    parts: tuple[Node, ...]


@dataclass(frozen=True)
class Any_:  # OR
    parts: tuple[Node, ...]


Node = Term | Not | All | Any_


@dataclass
class Search:
    """A parsed query; `root` None matches everything. Unknown fields are ignored, as Shopify
    ignores them, and listed in `warnings` (answered in the response's `extensions.search`)."""

    text: str
    root: Node | None
    warnings: list[dict[str, str]] = field(default_factory=list)

    def matches(self, get: Getter) -> bool:
        return self.root is None or evaluate(self.root, get)


# --- parsing ------------------------------------------------------------------------------------


def parse(text: str | None, known: frozenset[str] | None = None) -> Search:
    """`text` → a Search; terms on fields outside `known` (when given) are dropped with a warning."""
    tokens = list(_tokens(text or ""))
    parser = _Parser(tokens)
    root = parser.query()
    if parser.pos != len(tokens):
        raise GraphQLError(f"Invalid search query: unexpected '{tokens[parser.pos][1]}'")
    search = Search(text or "", root)
    if known is not None and root is not None:
        search.root = _drop_unknown(root, known, search.warnings)
    return search


def _tokens(text: str) -> Iterator[tuple[str, str]]:
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            return
        m = TOKEN.match(text, pos)
        if m is None or m.end() == pos:  # an unmatched quote: the rest is one value
            rest = text[pos:].strip()
            yield "quoted", rest + rest[0]
            return
        kind = m.lastgroup or "word"
        yield kind, m.group(kind)
        pos = m.end()


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens, self.pos = tokens, 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def query(self) -> Node | None:
        parts = [p for p in [self.conjunction()] if p is not None]
        while (tok := self.peek()) is not None and tok == ("word", "OR"):
            self.pos += 1
            part = self.conjunction()
            if part is not None:
                parts.append(part)
        return None if not parts else parts[0] if len(parts) == 1 else Any_(tuple(parts))

    def conjunction(self) -> Node | None:
        parts: list[Node] = []
        while (tok := self.peek()) is not None and tok[0] != "close" and tok != ("word", "OR"):
            if tok == ("word", "AND"):
                self.pos += 1
                continue
            part = self.unary()
            if part is not None:
                parts.append(part)
        return None if not parts else parts[0] if len(parts) == 1 else All(tuple(parts))

    def unary(self) -> Node | None:
        kind, value = self.tokens[self.pos]
        if (kind, value) == ("word", "NOT"):
            self.pos += 1
            inner = self.unary() if self.peek() is not None else None
            return Not(inner) if inner is not None else None
        if kind == "word" and value.startswith("-") and len(value) > 1:
            self.tokens[self.pos] = ("word", value[1:])
            inner = self.unary()
            return Not(inner) if inner is not None else None
        if kind == "open":
            self.pos += 1
            inner = self.query()
            if self.peek() is None or self.peek()[0] != "close":  # type: ignore[index]
                raise GraphQLError("Invalid search query: unbalanced parentheses")
            self.pos += 1
            return inner
        if kind == "close":
            raise GraphQLError("Invalid search query: unbalanced parentheses")
        self.pos += 1
        if kind == "quoted":
            return Term(None, ":", value[1:-1] if len(value) > 1 else value, True)
        return self.term(value)

    def term(self, word: str) -> Term:
        name, sep, rest = word.partition(":")
        if not sep or not name:
            return Term(None, ":", word)
        op = next(c for c in COMPARATORS if (":" + rest).startswith(c))
        value = (":" + rest)[len(op) :]
        nxt = self.peek()
        spaced = nxt is not None and (nxt[0] == "quoted" or (nxt[0] == "word" and nxt not in _KEYWORDS))
        if value == "" and spaced and nxt is not None:  # `field:>= '…'`, a space after the comparator
            self.pos += 1
            value = nxt[1]
        if len(value) > 1 and value[0] == value[-1] and value[0] in "'\"":
            return Term(name.lower(), op, value[1:-1], True)
        return Term(name.lower(), op, value)


def _drop_unknown(node: Node, known: frozenset[str], warnings: list[dict[str, str]]) -> Node | None:
    if isinstance(node, Term):
        if node.field is None or node.field in known:
            return node
        warnings.append({"field": node.field, "message": "Invalid search field for this query."})
        return None
    if isinstance(node, Not):
        inner = _drop_unknown(node.part, known, warnings)
        return Not(inner) if inner is not None else None
    parts = tuple(p for p in (_drop_unknown(p, known, warnings) for p in node.parts) if p is not None)
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else type(node)(parts)


# --- evaluating ---------------------------------------------------------------------------------


def evaluate(node: Node, get: Getter) -> bool:
    if isinstance(node, Term):
        return term_matches(node, get(node.field or ""))
    if isinstance(node, Not):
        return not evaluate(node.part, get)
    if isinstance(node, All):
        return all(evaluate(p, get) for p in node.parts)
    return any(evaluate(p, get) for p in node.parts)


def term_matches(term: Term, value: Any) -> bool:
    """One term against a field's value (a list matches when any of its items does)."""
    if isinstance(value, list | tuple | set):
        return any(term_matches(term, v) for v in value)
    if term.value == "*" and term.op == ":":  # `field:*`: the field has a value
        return value not in (None, "")
    if value is None:
        return False
    if isinstance(value, datetime):
        return _compare_time(term, value)
    if isinstance(value, bool):
        return term.op == ":" and term.value.lower() == str(value).lower()
    if isinstance(value, int | Decimal):
        wanted = to_number(term.value)
        return wanted is not None and _compare(term.op, Decimal(value), wanted)
    text, wanted_text = str(value).lower(), term.value.lower()
    if term.op != ":":
        return _compare(term.op, text, wanted_text)
    if wanted_text.endswith("*"):
        return text.startswith(wanted_text[:-1])
    return text == wanted_text


def _compare(op: str, have: Any, want: Any) -> bool:
    if op == ":":
        return bool(have == want)
    return bool({":<": have < want, ":<=": have <= want, ":>": have > want, ":>=": have >= want}[op])


def to_number(raw: str) -> Decimal | None:
    tail = raw.rsplit("/", 1)[-1]  # `id:>gid://shopify/Customer/5` compares the number
    try:
        return Decimal(tail)
    except InvalidOperation:
        return None


@functools.lru_cache(maxsize=1024)  # one search's few values, read for every record it tests
def to_time(raw: str) -> tuple[datetime, bool]:
    """A date value in either form clients send: `2026-12-01T10:18:05Z`, `2026-12-01 10:18:05+00:00`
    (Python's str() of a datetime), or a date alone; → (instant in UTC, whether it was a date alone)."""
    text = raw.strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return datetime.combine(date.fromisoformat(text), time(), UTC), True
        at = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise GraphQLError(f"Invalid search date: {raw}") from None
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC), False


def _compare_time(term: Term, value: datetime) -> bool:
    at, whole_day = to_time(term.value)
    if whole_day:  # a date alone stands for its whole day
        day_end = at + timedelta(days=1)
        return {
            ":": at <= value < day_end,
            ":<": value < at,
            ":<=": value < day_end,
            ":>": value >= day_end,
            ":>=": value >= at,
        }[term.op]
    return _compare(term.op, value, at)


# --- narrowing (an index the store can use before records are tested) ---------------------------


def time_bounds(search: Search, name: str) -> tuple[datetime | None, datetime | None]:
    """The loosest (after, before) on time field `name` that every match satisfies, from the
    query's top-level AND terms: after < value < before (exclusive, to the microsecond)."""
    after: datetime | None = None
    before: datetime | None = None
    root = search.root
    parts = root.parts if isinstance(root, All) else (root,) if root is not None else ()
    tick = timedelta(microseconds=1)
    for part in parts:
        if not isinstance(part, Term) or part.field != name:
            continue
        at, whole_day = to_time(part.value)
        end = at + timedelta(days=1) if whole_day else at
        low = {":>": end - tick if whole_day else at, ":>=": at - tick, ":": at - tick}.get(part.op)
        high = {":<": at, ":<=": end if whole_day else at + tick, ":": end if whole_day else at + tick}.get(
            part.op
        )
        if low is not None:
            after = low if after is None else max(after, low)
        if high is not None:
            before = high if before is None else min(before, high)
    return after, before
