"""The schedule: what `crm-connector cron` enqueues, and how often.

It runs rq's CronScheduler, but enqueues through connector.runtime.queue so cron jobs are JSON
like every other job (rq's own cron pickles). Each tick's job id names its time slot
and is unique, so a second cron process by mistake cannot enqueue the same run twice.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rq.cron import CronJob, CronScheduler

from connector import logs
from connector.db.types import utcnow
from connector.runtime.queue import enqueue

log = logs.get(__name__)


@dataclass(frozen=True)
class Scheduled:
    func: str  # dotted path
    queue: str
    interval_s: int


def schedule() -> list[Scheduled]:
    return [
        Scheduled("sync.housekeeping.prune_inbox", "sync", 3600),
        Scheduled("sync.housekeeping.erase_uninstalled_shops", "sync", 3600),
        Scheduled("webhooks.process.sweep", "webhooks", 10),
        Scheduled("sync.credentials.refresh_expiring", "sync", 300),
        Scheduled("sync.jobs.schedule_syncs", "sync", 30),
        Scheduled("connector.crm.insights.score_all", "sync", 3600),
        Scheduled("connector.crm.insight_backlog.settle_all", "sync", 60),
        Scheduled("connector.crm.notifications.send_due", "notifications", 15),
        Scheduled("sync.push.push_all", "sync", 30),
    ]


def _resolve(path: str) -> Callable[..., Any]:
    module, _, name = path.rpartition(".")
    func: Callable[..., Any] = getattr(importlib.import_module(module), name)
    return func


class JSONCronScheduler(CronScheduler):
    def enqueue_jobs(self) -> list[CronJob]:
        now = utcnow()
        due = [job for job in self.get_jobs() if job.should_run()]
        for job in due:
            slot = int(now.timestamp()) // (job.interval or 1)
            job_id = f"cron-{job.name.replace('.', '-')}-{slot}"
            enqueue(self.connection, job.queue_name, job.func_name, job_id=job_id, result_ttl=job.interval)
            job.set_enqueue_time(now)
            log.info("cron job enqueued", extra={"job": job.name, "job_id": job_id})
        return due


def make_scheduler(connection: Any) -> JSONCronScheduler:
    scheduler = JSONCronScheduler(connection=connection)
    for entry in schedule():
        scheduler.register(
            _resolve(entry.func), queue_name=entry.queue, interval=entry.interval_s, name=entry.func
        )
    return scheduler
