"""Background work run by RQ workers: backfill, re-sync, reconciliation, event processing,
notification sending and housekeeping; and the schedule (`cron.py`) that enqueues it."""
