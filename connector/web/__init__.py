"""The merchant's and the shopper's web surface: the JSON API and its OpenAPI document, the
dashboard, the storefront's subscribe pages, health and metrics, and the install flows
(`install/`). Every blueprint is reached from `connector.create_app`."""
