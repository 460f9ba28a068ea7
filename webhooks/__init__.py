"""Webhook receivers: verify the raw bytes, record the delivery in the inbox, enqueue, answer fast."""
