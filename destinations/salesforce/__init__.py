"""Salesforce as a destination: an org reached by its instance URL and a connected app."""
