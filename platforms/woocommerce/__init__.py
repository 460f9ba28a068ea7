"""WooCommerce: sites addressed by their URL, reached through the REST API v3 (wc/v3)."""
