"""Whether a unique job will still be run: the check behind "enqueue unless one is waiting".

RQ keeps a job's key after it failed (for a year), stopped or was canceled, and a killed
worker's job stays "started", or "queued" off its queue, until RQ's maintenance. A job id
counts as waiting only while some worker will run it; anything else is cleared in the same
atomic step (one round trip, pipelined by the caller), so it can be enqueued afresh.
"""

from __future__ import annotations

import functools
import hashlib
import time
from dataclasses import dataclass
from typing import Any

import redis
from redis.client import Pipeline
from redis.exceptions import NoScriptError
from rq import Queue
from rq.executions import ExecutionRegistry
from rq.intermediate_queue import IntermediateQueue
from rq.job import Job
from rq.registry import CanceledJobRegistry, FailedJobRegistry, StartedJobRegistry

WAITING = "waiting"  # queued on its queue, scheduled, deferred, or taken by a live worker
ABSENT = "absent"  # no such job: enqueue one
ORPHANED = "orphaned"  # taken by a worker that stopped heartbeating (killed) before it ended
# A worker takes a job off its queue, then registers its execution: a few milliseconds apart.
# A job found between the two for longer than this lost its worker in that gap.
TAKEN_GRACE_S = 30
_MARK_TTL_S = 3600

# KEYS: 1 job hash, 2 queue, 3 the job's executions (score: heartbeat deadline), 4 taken mark,
# 5 failed registry, 6 canceled registry, 7 started registry, 8 intermediate (taken) list.
# ARGV: 1 job id, 2 now (unix seconds), 3 grace, 4 mark ttl. Returns WAITING, ABSENT,
# ORPHANED or the status of the job it cleared (failed, stopped, canceled, finished …).
_SCRIPT = """
local status, enqueued_at = unpack(redis.call('HMGET', KEYS[1], 'status', 'enqueued_at'))
if status == 'scheduled' or status == 'deferred' then return 'waiting' end
if status == 'queued' and redis.call('LPOS', KEYS[2], ARGV[1]) then return 'waiting' end
if (status == 'queued' or status == 'started') and redis.call('ZCOUNT', KEYS[3], ARGV[2], '+inf') > 0 then
  return 'waiting'
end
if status == 'queued' then
  enqueued_at = enqueued_at or ''
  local seen = redis.call('HMGET', KEYS[4], 'enqueued_at', 'at')
  if seen[1] ~= enqueued_at then
    redis.call('HSET', KEYS[4], 'enqueued_at', enqueued_at, 'at', ARGV[2])
    redis.call('EXPIRE', KEYS[4], ARGV[4])
    return 'waiting'
  end
  if tonumber(ARGV[2]) - tonumber(seen[2]) < tonumber(ARGV[3]) then return 'waiting' end
  status = 'orphaned'
elseif status == 'started' then
  status = 'orphaned'
end
for _, execution in ipairs(redis.call('ZRANGE', KEYS[3], 0, -1)) do
  redis.call('ZREM', KEYS[7], ARGV[1] .. ':' .. execution)
end
redis.call('DEL', KEYS[1], KEYS[3], KEYS[4])
redis.call('ZREM', KEYS[5], ARGV[1])
redis.call('ZREM', KEYS[6], ARGV[1])
redis.call('LREM', KEYS[8], 0, ARGV[1])
return status or 'absent'
"""


_SHA = hashlib.sha1(_SCRIPT.encode()).hexdigest()


@dataclass(frozen=True)
class Asked:
    """One check added to a pipeline: pass it and the pipeline's answer to `answer`."""

    keys: tuple[str, ...]
    args: tuple[str | float | int, ...]


def ask(pipe: Pipeline, queue: str, job_id: str, *, now: float | None = None) -> Asked:
    """Add to `pipe` the check of job `job_id` on `queue` (by the script's digest, so the
    hot path sends no script text; `answer` loads it when Redis does not hold it yet)."""
    keys = _keys(queue, job_id)
    asked = Asked(keys, (job_id, time.time() if now is None else now, TAKEN_GRACE_S, _MARK_TTL_S))
    pipe.evalsha(_SHA, len(keys), *asked.keys, *asked.args)
    return asked


@functools.lru_cache(maxsize=65536)
def _keys(queue: str, job_id: str) -> tuple[str, ...]:
    """The Redis keys RQ keeps a job in, named by RQ's own classes (a hot path: cached)."""
    queue_key = Queue.redis_queue_namespace_prefix + queue
    return (
        Job.key_for(job_id),
        queue_key,
        ExecutionRegistry.key_template.format(job_id),
        f"crm:taken:{job_id}",
        FailedJobRegistry.key_template.format(queue),
        CanceledJobRegistry.key_template.format(queue),
        StartedJobRegistry.key_template.format(queue),
        IntermediateQueue.get_intermediate_queue_key(queue_key),
    )


def answer(conn: redis.Redis, asked: Asked, reply: Any) -> str:
    """WAITING, or the job is gone from Redis and this says what it was (ABSENT, ORPHANED,
    or its status). `reply`: the pipeline's result for the check, errors not raised."""
    if isinstance(reply, NoScriptError):  # a fresh or restarted Redis: load it, once
        reply = conn.eval(_SCRIPT, len(asked.keys), *asked.keys, *asked.args)
    elif isinstance(reply, Exception):
        raise reply
    return reply.decode() if isinstance(reply, bytes) else str(reply)
