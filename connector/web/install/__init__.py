"""Install flows: a Shopify app (OAuth and the embedded token exchange), a WooCommerce
site's app keys, and the onboarding that starts a store's first sync."""
