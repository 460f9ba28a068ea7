"""Shopify bulk operations in the sandbox: run a query over a whole connection and write
JSONL, one object per line, nested connection nodes on lines of their own with
`__parentId`, exactly as Shopify's bulk output is laid out (parents before children).

The run streams record by record to a file, so memory stays flat at any store size;
`bulk_operations/finish` is delivered to subscribers when it completes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    parse,
    validate,
    value_from_ast_untyped,
)

from sandbox.shopify import events as events
from sandbox.shopify import graphql as gql
from sandbox.world import Shop, World

ROOTS = ("customers", "orders", "products")


class BulkError(Exception):
    pass


@dataclass
class BulkPlan:
    entity: str
    field: FieldNode
    args: dict[str, Any]
    fragments: dict[str, FragmentDefinitionNode]


def plan_bulk(query: str) -> BulkPlan:
    try:
        document = parse(query)
    except GraphQLError as exc:
        raise BulkError(f"Invalid bulk query: {exc.message}") from None
    errors = validate(gql.schema(), document)
    if errors:
        raise BulkError(f"Invalid bulk query: {errors[0].message}")
    ops = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if len(ops) != 1 or ops[0].operation.value != "query":
        raise BulkError("Bulk queries must contain exactly one query operation")
    fields = [s for s in ops[0].selection_set.selections if isinstance(s, FieldNode)]
    if len(fields) != 1 or fields[0].name.value not in ROOTS:
        raise BulkError(f"Bulk queries must select exactly one top-level connection of {', '.join(ROOTS)}")
    field = fields[0]
    args = {a.name.value: value_from_ast_untyped(a.value, {}) for a in field.arguments or ()}
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    return BulkPlan(field.name.value, field, args, fragments)


def run_bulk(
    world: World, shop: Shop, op: dict[str, Any], plan: BulkPlan, out: Path, url: str, all_orders: bool
) -> None:
    op["status"] = "RUNNING"
    objects = roots = 0
    try:
        bounds = gql.parse_search(plan.args.get("query"))
        sort = gql.SORTS.get(plan.args.get("sortKey") or "ID", "id")
        upper = bounds.get("updated_at:<")
        view = shop.store.view(
            plan.entity,
            sort,
            updated_after=bounds.get("updated_at:>"),
            created_after=gql._created_floor(plan.entity, bounds, all_orders),
        )
        node_selection = _node_selection(plan)
        with out.open("w") as fh:
            position, total = 0, len(view)
            while position < total:
                keys = list(view.keys(position, min(position + 500, total)))
                position += len(keys)
                for record in shop.store.records(plan.entity, iter(keys)):
                    if upper is not None and record.updated_at > upper:
                        continue
                    node = gql.MAKERS[plan.entity](shop, record)
                    roots += 1
                    objects += _emit(fh, node, node_selection, plan.fragments, None)
                op["objectCount"], op["rootObjectCount"] = str(objects), str(roots)
        op.update(
            status="COMPLETED",
            completedAt=gql.s.gql_time(datetime.now(UTC)),
            url=url if objects else None,
            fileSize=str(out.stat().st_size),
            objectCount=str(objects),
            rootObjectCount=str(roots),
        )
    except Exception:  # a failed run is reported the way Shopify reports it, never raised into a thread
        op.update(
            status="FAILED", errorCode="INTERNAL_SERVER_ERROR", completedAt=gql.s.gql_time(datetime.now(UTC))
        )
    numeric = int(op["id"].rsplit("/", 1)[-1])
    events.fire(
        world,
        shop,
        "bulk_operations/finish",
        {
            "admin_graphql_api_id": op["id"],
            "completed_at": op["completedAt"],
            "created_at": op["createdAt"],
            "error_code": op["errorCode"].lower() if op["errorCode"] else None,
            "status": op["status"].lower(),
            "type": "query",
            "id": numeric,
        },
    )


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
    fh: TextIO,
    node: dict[str, Any],
    selection: SelectionSetNode,
    fragments: dict[str, FragmentDefinitionNode],
    parent_id: str | None,
) -> int:
    """Write `node` (and, after it, its nested connections' nodes); return the lines written."""
    children: list[tuple[dict[str, Any], SelectionSetNode]] = []
    line = _project(node, selection, fragments, children)
    if parent_id is not None:
        line["__parentId"] = parent_id
    fh.write(json.dumps(line, separators=(",", ":")) + "\n")
    written = 1
    for child, child_selection in children:
        written += _emit(fh, child, child_selection, fragments, node["id"])
    return written


def _project(
    value: dict[str, Any],
    selection: SelectionSetNode,
    fragments: dict[str, FragmentDefinitionNode],
    children: list[tuple[dict[str, Any], SelectionSetNode]],
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for field in _fields(selection, fragments):
        name = field.name.value
        key = field.alias.value if field.alias else name
        raw = value.get(name)
        if callable(raw):
            args = {a.name.value: value_from_ast_untyped(a.value, {}) for a in field.arguments or ()}
            args.pop("first", None)  # bulk operations read whole connections
            raw = raw(None, **args)
        if field.selection_set is None or raw is None:
            out[key] = raw
        elif isinstance(raw, dict) and "pageInfo" in raw:
            conn_fields = {f.name.value: f for f in _fields(field.selection_set, fragments)}
            inner = (
                conn_fields.get("nodes")
                or next(
                    (
                        f
                        for f in _fields(conn_fields["edges"].selection_set, fragments)
                        if f.name.value == "node"
                    ),
                    None,
                )
                if "nodes" in conn_fields or "edges" in conn_fields
                else None
            )
            if inner is not None and inner.selection_set is not None:
                children.extend((n, inner.selection_set) for n in raw["nodes"])
        elif isinstance(raw, list):
            out[key] = [_project(v, field.selection_set, fragments, []) for v in raw]
        else:
            out[key] = _project(raw, field.selection_set, fragments, children=[])
    return out
