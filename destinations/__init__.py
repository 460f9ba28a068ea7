"""Destinations: the CRMs the connector pushes contacts and orders to (one folder per CRM)."""
