"""Shopify's query cost: what a query may cost before it runs, and what it did cost.

Scalars and enums cost 0, an object (or a list of them) 1, an interface or union its dearest
possible type, a mutation 10 (https://shopify.dev/docs/api/usage/limits#cost-calculation), a
`…Count` field 10 and a few value objects (money above all) nothing (FREE_OBJECTS).
A connection is "sized by first and last", logarithmically: 2 plus one node's cost times
floor(2 ln max(2, first)), 0 nodes for `first: 0`; its edges and pageInfo are free. That is
the rule Shopify's staff described (community.shopify.dev/t/24364: "logarithmic scaling into
connection fields") and it reproduces Shopify's own answers: `products(first: 1) { edges {
node { title } } }` costs 3 (the API reference's sample), `product { variants(first: 250) {
nodes { inventoryItem { id } } } }` 25 (community.shopify.dev/t/23101), where a linear table
would say 503. Held to 1,000 distinct queries a real store priced (the conformance captures
of github.com/airhorns/shopify-draft-proxy, 2025-01 and 2026-04, against Shopify's own
schemas), this model answers Shopify's requestedQueryCost exactly for 955; the rest carry
costs Shopify set by hand ("Shopify reserves the right to set manual costs on fields").
The actual cost sizes each connection by the nodes it returned (the same captures: 625 of
1,000 exact; Shopify's actual costs are "tuned as necessary", t/24364). The requested cost is
charged up front and the part not used is refunded, as platform-facts §(d) describes.
"""

from __future__ import annotations

import math
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
COUNT_COST = 10  # a `…Count` field (type Count), whatever it counts
# Value objects Shopify charges nothing for (money, a phone number, a consent state, a weight,
# the shop's address): without them 926 of the 1,000 captured queries cost what Shopify
# answered, with them 955; a customer's MailingAddress still costs 1 (922 if it were free).
FREE_OBJECTS: frozenset[str] = frozenset(
    {
        "MoneyBag",
        "MoneyV2",
        "CustomerPhoneNumber",
        "CustomerEmailMarketingConsentState",
        "InventoryItemMeasurement",
        "ShopAddress",
    }
)
MAX_PAGE = 250


def node_multiplier(size: int) -> int:
    """How many nodes' cost a connection of `size` is charged for: floor(2 ln max(2, size))
    (1 for first: 1 or 2, 9 for 100, 11 for 250), none for an empty page."""
    return 0 if size <= 0 else math.floor(2 * math.log(max(2, size)))


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
        if named.name == "Count":
            return COUNT_COST
        if named.name in FREE_OBJECTS:
            return 0
        if named.name.endswith("Connection"):
            return self._connection(node, named, value, requested)
        inner = field_def.type.of_type if is_non_null_type(field_def.type) else field_def.type
        # A list of objects costs as an object, even with `first`: only connections are sized
        # (docs/platform-facts-extra.md "Shopify query cost", fact 1).
        if is_list_type(inner):
            self._count(node)  # its `first`, if any, is still bounded
            if requested:
                return 1 + self._selection(node.selection_set, named, None)
            costs = [self._selection(node.selection_set, named, v) for v in value or []]
            return 1 + max(costs, default=0)
        if not requested and value is None:
            return 1  # asked for and resolved, to nothing: Shopify still charges the object (t/23101)
        return 1 + self._selection(node.selection_set, named, None if requested else value)

    def _connection(self, node: FieldNode, conn_type: Any, value: Any, requested: bool) -> int:
        size = self._count(node)
        node_named = get_named_type(conn_type.fields["nodes"].type)
        items = self._item_selections(node, conn_type)
        if requested:
            per_node = sum(1 + self._selection(sel, node_named, None) for sel, _key in items)
            return 2 + node_multiplier(size) * per_node
        returned = self._returned(value, items)
        if not returned:
            return 2
        per_node = max(
            sum(1 + self._selection(sel, node_named, item) for sel, item in row) for row in returned
        )
        return 2 + node_multiplier(len(returned)) * per_node

    def _item_selections(
        self, node: FieldNode, conn_type: Any
    ) -> list[tuple[SelectionSetNode | None, tuple[str, ...]]]:
        """Each selection made on the connection's nodes (`nodes { … }`, `edges { node { … } }`),
        with the response keys that lead to a node from the connection's value."""
        out: list[tuple[SelectionSetNode | None, tuple[str, ...]]] = []
        if node.selection_set is None:
            return out
        edge_type = get_named_type(conn_type.fields["edges"].type)
        for sel, _owner in self._fields(node.selection_set, conn_type):
            key = sel.alias.value if sel.alias else sel.name.value
            if sel.name.value == "nodes":
                out.append((sel.selection_set, (key,)))
            elif sel.name.value == "edges" and sel.selection_set:
                for inner, _ in self._fields(sel.selection_set, edge_type):
                    if inner.name.value == "node":
                        out.append((inner.selection_set, (key, inner.alias.value if inner.alias else "node")))
        return out

    @staticmethod
    def _returned(
        value: Any, items: list[tuple[SelectionSetNode | None, tuple[str, ...]]]
    ) -> list[list[tuple[SelectionSetNode | None, Any]]]:
        """Per node returned, each item selection paired with that node's value."""
        if not isinstance(value, dict):
            return []
        rows: list[list[tuple[SelectionSetNode | None, Any]]] = []
        for sel, keys in items:
            listed = value.get(keys[0]) or []
            for i, entry in enumerate(listed):
                item = entry.get(keys[1]) if len(keys) > 1 and isinstance(entry, dict) else entry
                while len(rows) <= i:
                    rows.append([])
                rows[i].append((sel, item if isinstance(item, dict) else {}))
        return rows

    def _count(self, node: FieldNode) -> int:
        args = {a.name.value: value_from_ast_untyped(a.value, self.variables) for a in node.arguments or ()}
        count = args.get("first") if args.get("first") is not None else args.get("last")
        if count is None:
            return 1
        if not isinstance(count, int) or count < 0 or count > MAX_PAGE:
            raise CostError(f"first and last must be between 0 and {MAX_PAGE}")
        return count
