"""Which operation of a GraphQL document a request runs: the one `operationName` names, or
the only one (a document with several and no name is refused, as Shopify's graphql-ruby does,
before any of them runs or costs anything)."""

from __future__ import annotations

from graphql import DocumentNode, OperationDefinitionNode


def chosen(document: DocumentNode, name: object) -> tuple[OperationDefinitionNode | None, str]:
    """(the operation, "") or (None, the error message the client gets)."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name not in (None, ""):
        if not isinstance(name, str):
            return None, "operationName must be a string"
        for op in operations:
            if op.name is not None and op.name.value == name:
                return op, ""
        return None, f'No operation named "{name}"'
    if len(operations) == 1:
        return operations[0], ""
    if not operations:
        return None, "No operations in query string"
    return None, "An operation name is required"
