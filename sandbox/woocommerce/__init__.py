"""The sandbox's WooCommerce: the REST API v3 with its authentication modes, over
the world's state."""
