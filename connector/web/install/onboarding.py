"""What follows an install, whichever flow it came through: the store's webhooks are
registered and its first backfill is asked for at once (the cron fan-out would otherwise
pick a never-synced store up within its next tick). Neither failing undoes the install."""

from __future__ import annotations

from flask import Flask
from redis.exceptions import RedisError

from connector import logs
from sync.engine import entities_of_store
from sync.jobs import request_sync
from webhooks.subscriptions import register_after_install

log = logs.get(__name__)


def after_install(app: Flask, store_id: int) -> None:
    register_after_install(app, store_id)
    try:
        for entity in entities_of_store(app, store_id):
            request_sync(app, store_id, entity)
    except RedisError:
        log.warning("first sync not enqueued: redis unreachable", extra={"store_id": store_id})
