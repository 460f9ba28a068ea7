"""The one write path: a mapped batch of platform records applied to the CRM store
(identity, parents, children, consent, checkouts, subscriptions, tombstones, insights),
and the verdict on a record the database refused."""
