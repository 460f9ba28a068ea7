"""The CRM features the platforms lack: one contact per person, the consent ledger,
subscriptions and notifications, channels, reports, insights, privacy requests and
the suppressions that keep an erasure honoured."""
