"""Shopify: shops addressed by their *.myshopify.com domain, reached through the Admin API."""
