"""Shopify's query cost: what a query may cost before it runs, and what it did cost.

Scalars and enums cost 0, an object (or a list of them) 1, an interface or union its dearest
possible type, a connection 2 plus `first` (or `last`) times the cost of one node, a
mutation 10 (https://shopify.dev/docs/api/usage/limits#cost-calculation). The
requested cost is charged up front and the part not used is refunded, as platform-facts
§(d) describes.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
    is_abstract_type,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
    value_from_ast_untyped,
)

MUTATION_COST = 10
MAX_PAGE = 250


class CostError(Exception):
    pass


class CostModel:
    def __init__(
        self, schema: GraphQLSchema, fragments: dict[str, FragmentDefinitionNode], variables: dict[str, Any]
    ) -> None:
        self.schema, self.fragments, self.variables = schema, fragments, variables

    def requested(self, operation: OperationDefinitionNode) -> int:
        if operation.operation.value == "mutation":
            return MUTATION_COST * len(operation.selection_set.selections)
        assert self.schema.query_type is not None
        return self._selection(operation.selection_set, self.schema.query_type, None)

    def actual(self, operation: OperationDefinitionNode, data: Any) -> int:
        if operation.operation.value == "mutation":
            return MUTATION_COST * len(operation.selection_set.selections)
        assert self.schema.query_type is not None
        return self._selection(
            operation.selection_set, self.schema.query_type, data if data is not None else {}
        )

    def _fields(self, selection_set: SelectionSetNode, parent: Any) -> list[tuple[FieldNode, Any]]:
        out: list[tuple[FieldNode, Any]] = []
        for sel in selection_set.selections:
            if isinstance(sel, FieldNode):
                out.append((sel, parent))
            elif isinstance(sel, InlineFragmentNode):
                cond = self.schema.get_type(sel.type_condition.name.value) if sel.type_condition else parent
                out.extend(self._fields(sel.selection_set, cond))
            elif isinstance(sel, FragmentSpreadNode):
                frag = self.fragments[sel.name.value]
                out.extend(
                    self._fields(frag.selection_set, self.schema.get_type(frag.type_condition.name.value))
                )
        return out

    def _selection(self, selection_set: SelectionSetNode | None, parent: Any, data: Any) -> int:
        if selection_set is None:
            return 0
        if is_abstract_type(parent):  # an interface or union costs its dearest possible type
            kinds = self.schema.get_possible_types(parent)
            return max((self._selection(selection_set, kind, data) for kind in kinds), default=0)
        if not hasattr(parent, "fields"):
            return 0
        total = 0
        for node, owner in self._fields(selection_set, parent):
            if owner is not parent and not self._applies(owner, parent):
                continue  # a fragment on another of the abstract type's kinds
            name = node.name.value
            if name.startswith("__") or name not in owner.fields:
                continue
            key = node.alias.value if node.alias else name
            value = data.get(key) if isinstance(data, dict) else None
            total += self._field(node, owner.fields[name], value, data is None)
        return total

    def _applies(self, condition: Any, kind: Any) -> bool:
        """Whether a fragment on `condition` selects on an object of `kind`."""
        if condition is None or condition is kind:
            return True
        return is_abstract_type(condition) and self.schema.is_sub_type(condition, kind)

    def _field(self, node: FieldNode, field_def: Any, value: Any, requested: bool) -> int:
        named = get_named_type(field_def.type)
        if is_leaf_type(named):
            return 0
        if named.name.endswith("Connection"):
            return self._connection(node, named, value, requested)
        inner = field_def.type.of_type if is_non_null_type(field_def.type) else field_def.type
        if is_list_type(inner):  # a list of objects costs as an object: only connections are sized
            self._count(node)  # its `first`, if any, is still bounded
            if requested:
                return 1 + self._selection(node.selection_set, named, None)
            costs = [self._selection(node.selection_set, named, v) for v in value or []]
            return 1 + max(costs) if costs else 0
        if not requested and value is None:
            return 0
        return 1 + self._selection(node.selection_set, named, None if requested else value)

    def _connection(self, node: FieldNode, conn_type: Any, value: Any, requested: bool) -> int:
        count = self._count(node)
        per_node = 0
        node_type = conn_type.fields["nodes"].type
        node_named = get_named_type(node_type)
        for sel, _owner in self._fields(node.selection_set, conn_type) if node.selection_set else []:
            if sel.name.value == "nodes":
                per_node += 1 + self._selection(sel.selection_set, node_named, None)
            elif sel.name.value == "edges" and sel.selection_set:
                for inner, _ in self._fields(
                    sel.selection_set, get_named_type(conn_type.fields["edges"].type)
                ):
                    if inner.name.value == "node":
                        per_node += 1 + self._selection(inner.selection_set, node_named, None)
        if requested:
            return 2 + count * per_node
        returned = 0
        if isinstance(value, dict):
            returned = len(value.get("nodes") or value.get("edges") or [])
        return 2 + returned * per_node

    def _count(self, node: FieldNode) -> int:
        args = {a.name.value: value_from_ast_untyped(a.value, self.variables) for a in node.arguments or ()}
        count = args.get("first") if args.get("first") is not None else args.get("last")
        if count is None:
            return 1
        if not isinstance(count, int) or count < 0 or count > MAX_PAGE:
            raise CostError(f"first and last must be between 0 and {MAX_PAGE}")
        return count
