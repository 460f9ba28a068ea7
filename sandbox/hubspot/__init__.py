"""A local HubSpot (CRM v3 objects, properties, v4 associations, subscription status) for the
destinations' tests and the demo."""
