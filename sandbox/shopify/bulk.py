"""A Shopify bulk query's output: the query run over a whole connection, written as JSONL,
one object per line, nested connection nodes on lines of their own with `__parentId`,
`__typename` as the object's type. `groupObjects` puts each parent's children right after it;
without it a batch's parents come first, then their children (never before their parent).
The root connection's `query:` is read with the whole search syntax, as its paged twin reads it.

The run streams batch by batch to a file, so memory stays flat at any store size; its
life cycle (statuses, cancel, the signed URL) is sandbox/shopify/bulk_ops.py's.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLOutputType,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
    parse,
    validate,
    value_from_ast_untyped,
)

from sandbox.render_cache import RenderCache
from sandbox.shopify import bulk_rules, bulk_shelf, searchable
from sandbox.shopify import graphql as gql
from sandbox.state import Record
from sandbox.world import Shop

ROOTS = ("customers", "orders", "products")
BATCH = 500  # records read (and, ungrouped, laid out) together


class BulkError(Exception):
    """A bulk query refused at the start: one userErrors message each (field query, code INVALID)."""

    def __init__(self, *messages: str) -> None:
        super().__init__(messages[0])
        self.messages = list(messages)


@dataclass
class BulkPlan:
    entity: str
    field: FieldNode
    args: dict[str, Any]
    fragments: dict[str, FragmentDefinitionNode]
    group: bool = False


def plan_bulk(query: str, group: bool) -> BulkPlan:
    if not query.strip():
        raise BulkError("Invalid bulk query: syntax error, unexpected end of file")
    try:
        document = parse(query)
    except GraphQLError as exc:
        raise BulkError(f"Invalid bulk query: {exc.message}") from None
    ops = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if any(op.operation.value != "query" for op in ops):
        raise BulkError("Invalid operation type. Only `query` operations are supported.")
    errors = validate(gql.schema(), document)
    if errors:
        raise BulkError(f"Invalid bulk query: {errors[0].message}")
    if len(ops) != 1:
        raise BulkError("Bulk queries must contain exactly one query operation")
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    refused = bulk_rules.refusals(gql.schema(), ops[0].selection_set, fragments)
    if refused:
        raise BulkError(*refused)
    fields = [s for s in ops[0].selection_set.selections if isinstance(s, FieldNode)]
    if len(fields) != 1 or fields[0].name.value not in ROOTS:
        raise BulkError(f"Bulk queries must select exactly one top-level connection of {', '.join(ROOTS)}")
    field = fields[0]
    args = {a.name.value: value_from_ast_untyped(a.value, {}) for a in field.arguments or ()}
    try:  # a search that cannot be read is refused at the start, not found out by a failed run
        searchable.parse(field.name.value, args.get("query"))
    except GraphQLError as exc:
        raise BulkError(f"Invalid bulk query: {exc.message}") from None
    return BulkPlan(field.name.value, field, args, fragments, group)


def run_bulk(
    shop: Shop,
    op: dict[str, Any],
    plan: BulkPlan,
    out: Path,
    all_orders: bool,
    cache: RenderCache | None = None,
) -> None:
    """Write the export to `out`; the outcome is left in `op["_result"]` for the polls to reveal.
    With a render cache, records nothing has touched are copied from their shelf."""
    objects = roots = 0
    try:
        found = searchable.parse(plan.entity, plan.args.get("query"))  # the whole search syntax
        sort = gql.SORTS.get(plan.args.get("sortKey") or "ID", "id")
        view = searchable.narrowed(shop, plan.entity, sort, found, gql._orders_floor(plan.entity, all_orders))
        test = searchable.matcher(shop, plan.entity, found)
        node_selection = _node_selection(plan)
        shelved = bulk_shelf.shelved(cache, shop, plan.entity, node_selection, plan.fragments, plan.group)
        layout = _Layout(shop, plan, node_selection, test, shelved, bulk_shelf.time_test(found))
        with out.open("wb") as fh:
            position, total = 0, len(view)
            while position < total and not op.get("_cancel"):
                keys = list(view.keys(position, min(position + BATCH, total)))
                position += len(keys)
                batch: list[list[bytes]] = [[], [], []]  # lines by depth: roots, children, grandchildren
                roots += layout.lay_out(keys, batch)
                objects += _flush(fh, batch)
                op["objectCount"], op["rootObjectCount"] = str(objects), str(roots)
        result = {"status": "CANCELED" if op.get("_cancel") else "COMPLETED", "errorCode": None}
        result["fileSize"] = str(out.stat().st_size) if objects else None
    except Exception:  # a failed run is reported the way Shopify reports it, never raised into a thread
        result = {"status": "FAILED", "errorCode": "INTERNAL_SERVER_ERROR", "fileSize": None}
    op["_result"] = result | {"objectCount": str(objects), "rootObjectCount": str(roots)}
    op["_rendered_live"] = layout.rendered if "layout" in locals() else []


class _Layout:
    """A batch's lines: stretches of shelved records read at once, the rest rendered (and
    shelved when they are base records nothing has touched)."""

    def __init__(
        self,
        shop: Shop,
        plan: BulkPlan,
        selection: SelectionSetNode,
        test: Callable[[Record], bool] | None,
        shelved: bulk_shelf.Shelved | None,
        time_test: Callable[[int, int], bool] | None,
    ) -> None:
        self.shop, self.plan, self.selection, self.test = shop, plan, selection, test
        self.shelved, self.time_test = shelved, time_test
        self.root_type = _node_type(gql.schema().query_type.fields[plan.entity].type)  # type: ignore[union-attr]
        self.rendered: list[int] = []  # indices rendered live (not from the shelf), in export order

    def lay_out(self, keys: list[tuple[Any, int]], batch: list[list[bytes]]) -> int:
        """Add the records' lines to `batch`; how many were exported (the search may leave some out)."""
        store, entity, shelved = self.shop.store, self.plan.entity, self.shelved
        roots, run = 0, []  # run: shelved indices waiting to be read in one go
        for _value, rec_id in keys:
            index = store.index_of(entity, rec_id)
            assert index is not None
            shelf_says = self._from_shelf(index) if shelved is not None else None
            if shelf_says is not None:
                if shelf_says:
                    run.append(index)
                    roots += 1
                continue
            self._read(run, batch)
            run = []
            roots += self._render(index, batch)
        self._read(run, batch)
        return roots

    def _from_shelf(self, index: int) -> bool | None:
        """True: shelved and exported; False: shelved but left out by the search; None: render it."""
        shelved = self.shelved
        assert shelved is not None
        if not shelved.may_hold(index) or not shelved.shelf.has(index):
            return None
        if not shelved.still_fresh(shelved.shelf.tag_of(index)):
            return None
        if self.test is None:
            return True
        if self.time_test is not None:
            return self.time_test(*shelved.shelf.stamps_of(index))
        return self.test(self.shop.store.get(self.plan.entity, index))

    def _read(self, run: list[int], batch: list[list[bytes]]) -> None:
        if run and self.shelved is not None:
            for lane, lines in zip(batch, self.shelved.shelf.read_run(run), strict=True):
                lane.extend(lines)

    def _render(self, index: int, batch: list[list[bytes]]) -> int:
        entity, shelved = self.plan.entity, self.shelved
        record = self.shop.store.get(entity, index)
        if self.test is not None and not self.test(record):
            return 0
        self.rendered.append(index)
        lanes: list[list[bytes]] = [[], [], []]
        node = gql.MAKERS[entity](self.shop, record)
        _emit(
            lanes,
            node,
            self.root_type,
            self.selection,
            self.plan.fragments,
            None,
            depth=0,
            group=self.plan.group,
        )
        rendered = (b"".join(lanes[0]), b"".join(lanes[1]), b"".join(lanes[2]))
        if shelved is not None and shelved.may_hold(index):
            owner = record.data.get("customer") if entity == "orders" else None
            stamps = (int(record.created_at.timestamp()), int(record.updated_at.timestamp()))
            shelved.shelf.put(index, rendered, bulk_shelf.NO_CUSTOMER if owner is None else owner, stamps)
        for lane, lines in zip(batch, rendered, strict=True):
            if lines:
                lane.append(lines)
        return 1


def _flush(fh: BinaryIO, batch: list[list[bytes]]) -> int:
    """Grouped: each parent followed by its children (all in lane 0, in that order).
    Not grouped: the batch's parents, then its children, then theirs: parents still come first."""
    chunks = [chunk for lane in batch for chunk in lane]
    fh.writelines(chunks)
    return sum(chunk.count(b"\n") for chunk in chunks)


def _node_selection(plan: BulkPlan) -> SelectionSetNode:
    """The selection made on each node: inside `edges { node { … } }` or `nodes { … }`."""
    for sel in _fields(plan.field.selection_set, plan.fragments):
        if sel.name.value == "nodes" and sel.selection_set:
            return sel.selection_set
        if sel.name.value == "edges" and sel.selection_set:
            for inner in _fields(sel.selection_set, plan.fragments):
                if inner.name.value == "node" and inner.selection_set:
                    return inner.selection_set
    raise BulkError("The connection selects no node fields")


def _fields(
    selection_set: SelectionSetNode | None, fragments: dict[str, FragmentDefinitionNode]
) -> list[FieldNode]:
    out: list[FieldNode] = []
    for sel in selection_set.selections if selection_set else ():
        if isinstance(sel, FieldNode):
            out.append(sel)
        elif isinstance(sel, InlineFragmentNode):
            out.extend(_fields(sel.selection_set, fragments))
        elif isinstance(sel, FragmentSpreadNode):
            out.extend(_fields(fragments[sel.name.value].selection_set, fragments))
    return out


def _emit(
    batch: list[list[bytes]],
    node: dict[str, Any],
    kind: GraphQLNamedType,
    selection: SelectionSetNode,
    fragments: dict[str, FragmentDefinitionNode],
    parent_id: str | None,
    *,
    depth: int,
    group: bool,
) -> None:
    """Lay out `node` and, after it, its nested connections' nodes (grouped: all in lane 0)."""
    children: list[tuple[dict[str, Any], GraphQLNamedType, SelectionSetNode]] = []
    line = _project(node, kind, selection, fragments, children)
    if parent_id is not None:
        line["__parentId"] = parent_id
    batch[0 if group else depth].append((json.dumps(line, separators=(",", ":")) + "\n").encode())
    for child, child_kind, child_selection in children:
        _emit(
            batch,
            child,
            child_kind,
            child_selection,
            fragments,
            node["id"],
            depth=min(depth + 1, 2),
            group=group,
        )


def _runtime(value: dict[str, Any], kind: GraphQLNamedType) -> GraphQLObjectType:
    """The object type of `value` where the field is typed by an interface or union."""
    if isinstance(kind, GraphQLObjectType):
        return kind
    name = value.get("__typename") or str(value.get("id", "")).removeprefix("gid://shopify/").split("/")[0]
    found = gql.schema().get_type(name)
    if not isinstance(found, GraphQLObjectType):
        raise BulkError(f"No object type for a {kind.name} value")
    return found


def _applies(condition: str | None, kind: GraphQLObjectType) -> bool:
    return condition is None or condition == kind.name or any(i.name == condition for i in kind.interfaces)


def _typed_fields(
    selection_set: SelectionSetNode | None,
    fragments: dict[str, FragmentDefinitionNode],
    kind: GraphQLObjectType,
) -> list[FieldNode]:
    """The fields selected on a value of `kind`: fragments count only where their type applies."""
    out: list[FieldNode] = []
    for sel in selection_set.selections if selection_set else ():
        if isinstance(sel, FieldNode):
            out.append(sel)
        elif isinstance(sel, InlineFragmentNode):
            if _applies(sel.type_condition.name.value if sel.type_condition else None, kind):
                out.extend(_typed_fields(sel.selection_set, fragments, kind))
        elif isinstance(sel, FragmentSpreadNode):
            fragment = fragments[sel.name.value]
            if _applies(fragment.type_condition.name.value, kind):
                out.extend(_typed_fields(fragment.selection_set, fragments, kind))
    return out


def _project(
    value: dict[str, Any],
    declared: GraphQLNamedType,
    selection: SelectionSetNode,
    fragments: dict[str, FragmentDefinitionNode],
    children: list[tuple[dict[str, Any], GraphQLNamedType, SelectionSetNode]],
) -> dict[str, Any]:
    kind = _runtime(value, declared)
    out: dict[str, Any] = {}
    for field in _typed_fields(selection, fragments, kind):
        name = field.name.value
        key = field.alias.value if field.alias else name
        if name == "__typename":
            out[key] = kind.name
            continue
        field_type = kind.fields[name].type
        raw = value.get(name)
        if callable(raw):
            args = {a.name.value: value_from_ast_untyped(a.value, {}) for a in field.arguments or ()}
            args.pop("first", None)  # bulk operations read whole connections
            raw = raw(None, **args)
        if field.selection_set is None or raw is None:
            out[key] = raw
        elif isinstance(raw, dict) and "pageInfo" in raw:
            inner = _connection_node(field, fragments)
            if inner is not None and inner.selection_set is not None:
                child_kind = _node_type(field_type)
                children.extend((n, child_kind, inner.selection_set) for n in raw["nodes"])
        elif isinstance(raw, list):
            item = get_named_type(field_type)
            out[key] = [_project(v, item, field.selection_set, fragments, children) for v in raw]
        else:  # a connection inside an object: its nodes are lines whose parent is this line's node
            out[key] = _project(raw, get_named_type(field_type), field.selection_set, fragments, children)
    return out


def _connection_node(field: FieldNode, fragments: dict[str, FragmentDefinitionNode]) -> FieldNode | None:
    """The `nodes { … }` or `edges { node { … } }` selection of a connection field."""
    conn_fields = {f.name.value: f for f in _fields(field.selection_set, fragments)}
    if "nodes" in conn_fields:
        return conn_fields["nodes"]
    if "edges" in conn_fields:
        return next(
            (f for f in _fields(conn_fields["edges"].selection_set, fragments) if f.name.value == "node"),
            None,
        )
    return None


def _node_type(connection: GraphQLOutputType) -> GraphQLNamedType:
    """`ProductConnection!` → `Product` (through its `nodes` field)."""
    named = get_named_type(connection)
    assert isinstance(named, GraphQLObjectType)
    return get_named_type(named.fields["nodes"].type)
