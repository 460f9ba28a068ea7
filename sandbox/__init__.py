"""A local Shopify and WooCommerce, faithful where a connector can tell the difference.

Generated shops and sites (deterministic from a seed, any size), their APIs, install
flows and webhooks, fault injection and a control API. Tests, the demo and the
benchmarks run against it; nothing here is used when talking to real platforms.
"""
