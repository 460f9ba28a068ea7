"""What Shopify refuses in a bulk query before it starts, with its exact userErrors messages:
connections selected through `nodes` (only `edges { node }` is read), a top-level `node`, more
than 5 connections, connections nested more than 2 deep, a nested connection whose parent node
does not select its `id` unaliased, a connection inside a list field, and none at all.

The messages and their order are those a 2026-04 store answered (the conformance captures of
github.com/airhorns/shopify-draft-proxy, fixtures/…/2026-04/bulk-operations/
bulk-operation-run-query-validators.json); the limits are shopify.dev's
(BulkOperationRunQueryPayload: "up to five connections with a maximum nesting depth of two").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLSchema,
    InlineFragmentNode,
    SelectionSetNode,
    get_named_type,
    get_nullable_type,
    is_list_type,
)

MAX_CONNECTIONS, MAX_DEPTH = 5, 2
NODES = (
    "All connection fields in a bulk query must select their contents using 'edges' > 'node', "
    "e.g: '{first} {{ edges {{ node {{'. Selecting via 'nodes' is not supported. "
    "Invalid connection fields: '{names}'."
)
TOP_LEVEL_NODE = "Bulk queries cannot contain a top level `node` field."
TOO_DEEP = f"Bulk queries cannot contain connections with a nesting depth greater than {MAX_DEPTH}."
TOO_MANY = f"Bulk queries cannot contain more than {MAX_CONNECTIONS} connections."
PARENT_ID = (
    "The parent 'node' field for a nested connection must select the 'id' field without an alias "
    "and must be of 'ID' return type. Connection fields without 'id': {names}."
)
IN_LIST = "Queries that contain a connection field within a list field are not currently supported."
NONE = "Bulk queries must contain at least one connection."


@dataclass
class _Found:
    connections: int = 0
    depth: int = 0
    via_nodes: list[str] = field(default_factory=list)
    without_id: list[str] = field(default_factory=list)
    in_list: bool = False


def refusals(
    schema: GraphQLSchema, selection: SelectionSetNode, fragments: dict[str, FragmentDefinitionNode]
) -> list[str]:
    """Shopify's messages for what this (valid) query's selection breaks, in Shopify's order."""
    found = _Found()
    roots = _fields(selection, fragments)
    assert schema.query_type is not None
    for root in roots:
        _walk(schema, root, schema.query_type, fragments, found, depth=0, in_list=False, parent=None)
    out = []
    if found.via_nodes:
        out.append(NODES.format(first=found.via_nodes[0], names="', '".join(found.via_nodes)))
    top_level_node = any(f.name.value == "node" for f in roots)
    if top_level_node:
        out.append(TOP_LEVEL_NODE)
    if found.depth > MAX_DEPTH:
        out.append(TOO_DEEP)
    if found.connections > MAX_CONNECTIONS:
        out.append(TOO_MANY)
    if found.without_id:
        out.append(PARENT_ID.format(names=", ".join(found.without_id)))
    if found.in_list:
        out.append(IN_LIST)
    if found.connections == 0 and (not out or out == [TOP_LEVEL_NODE]):
        out.append(NONE)
    return out


def _walk(
    schema: GraphQLSchema,
    node: FieldNode,
    parent_type: Any,
    fragments: dict[str, FragmentDefinitionNode],
    found: _Found,
    *,
    depth: int,
    in_list: bool,
    parent: tuple[str, bool] | None,  # the enclosing connection and whether its node selects `id`
) -> None:
    definition = _definition(schema, parent_type, node.name.value)
    if definition is None or node.selection_set is None:
        return
    named = get_named_type(definition.type)
    if named.name.endswith("Connection"):
        _connection(schema, node, named, fragments, found, depth=depth, in_list=in_list, parent=parent)
        return
    listed = in_list or is_list_type(get_nullable_type(definition.type))
    for child in _fields(node.selection_set, fragments):
        _walk(schema, child, named, fragments, found, depth=depth, in_list=listed, parent=parent)


def _connection(
    schema: GraphQLSchema,
    node: FieldNode,
    conn_type: Any,
    fragments: dict[str, FragmentDefinitionNode],
    found: _Found,
    *,
    depth: int,
    in_list: bool,
    parent: tuple[str, bool] | None,
) -> None:
    name = node.name.value
    selected = {f.name.value: f for f in _fields(node.selection_set, fragments)}
    if "edges" not in selected:
        if "nodes" in selected and name not in found.via_nodes:
            found.via_nodes.append(name)
        return
    found.connections += 1
    found.depth = max(found.depth, depth + 1)
    found.in_list = found.in_list or in_list
    if parent is not None and not parent[1] and parent[0] not in found.without_id:
        found.without_id.append(parent[0])
    inner = [f for f in _fields(selected["edges"].selection_set, fragments) if f.name.value == "node"]
    node_type = get_named_type(conn_type.fields["nodes"].type)
    for item in inner:
        children = _fields(item.selection_set, fragments)
        has_id = any(c.name.value == "id" and c.alias is None and c.selection_set is None for c in children)
        for child in children:
            _walk(
                schema,
                child,
                node_type,
                fragments,
                found,
                depth=depth + 1,
                in_list=in_list,
                parent=(name, has_id),
            )


def _definition(schema: GraphQLSchema, parent_type: Any, name: str) -> Any:
    fields = getattr(parent_type, "fields", None)
    if fields is not None and name in fields:
        return fields[name]
    for kind in schema.get_possible_types(parent_type) if hasattr(parent_type, "resolve_type") else ():
        if name in kind.fields:  # a field of a fragment on one of an interface's kinds
            return kind.fields[name]
    return None


def _fields(
    selection: SelectionSetNode | None, fragments: dict[str, FragmentDefinitionNode]
) -> list[FieldNode]:
    """The fields of a selection, fragments spread in place."""
    out: list[FieldNode] = []
    for sel in selection.selections if selection is not None else ():
        if isinstance(sel, FieldNode):
            out.append(sel)
        elif isinstance(sel, InlineFragmentNode):
            out.extend(_fields(sel.selection_set, fragments))
        elif isinstance(sel, FragmentSpreadNode) and sel.name.value in fragments:
            out.extend(_fields(fragments[sel.name.value].selection_set, fragments))
    return out
