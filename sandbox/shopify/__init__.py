"""The sandbox's Shopify: Admin GraphQL (with cost-based throttling and bulk
operations), its REST webhooks and events, over the world's state."""
