"""Zoho CRM as a destination: an org in one data center, reached through its accounts server."""
