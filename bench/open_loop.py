"""An open-loop HTTP load generator: requests go out on a fixed schedule, whatever the server does.

Request i is due at start + i / rate. Its latency runs from that due time, not from when a
connection was free to send it, so a server that falls behind is charged for the wait
(coordinated omission corrected, as wrk2 and vegeta do). Keep-alive connections are reused
when idle and opened when none is; a cap on open connections bounds the client, not the schedule.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

MAX_CONNECTIONS = 256


@dataclass
class Outcome:
    """What one run measured: latencies in ms from each request's due time."""

    offered: float
    seconds: float
    latencies_ms: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0
    finished_after_s: float = 0.0
    connections: int = 0

    @property
    def sent(self) -> int:
        return len(self.latencies_ms) + self.errors

    @property
    def achieved(self) -> float:
        """Answers per second over the time until the last answer came."""
        return len(self.latencies_ms) / self.finished_after_s if self.finished_after_s else 0.0

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies_ms)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]

    @property
    def non_2xx(self) -> int:
        return sum(n for status, n in self.statuses.items() if not 200 <= status < 300)


class _Pool:
    """Idle keep-alive connections to one host, opened on demand up to a cap."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self.opened = 0
        self.freed = asyncio.Condition()

    async def take(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        async with self.freed:
            while not self.idle and self.opened >= MAX_CONNECTIONS:
                await self.freed.wait()
            if self.idle:
                return self.idle.pop()
            self.opened += 1
        return await asyncio.open_connection(self.host, self.port)

    async def give(self, conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None) -> None:
        async with self.freed:
            if conn is None:
                self.opened -= 1
            else:
                self.idle.append(conn)
            self.freed.notify()


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> tuple[int, bool]:
    """Send one request; read its answer (Content-Length framed): its status code, and
    whether the server keeps the connection open."""
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length, kept = 0, True
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"connection" and value.strip().lower() == b"close":
            kept = False
    if length:
        await reader.readexactly(length)
    return status, kept


async def _one(pool: _Pool, request: bytes, due: float, start: float, out: Outcome) -> None:
    conn = None
    try:
        conn = await pool.take()
        status, kept = await _exchange(*conn, request)
    except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
        out.errors += 1
        if conn is not None:
            conn[1].close()
        await pool.give(None)
        return
    done = time.perf_counter()
    out.latencies_ms.append((done - due) * 1000)
    out.statuses[status] = out.statuses.get(status, 0) + 1
    out.finished_after_s = max(out.finished_after_s, done - start)
    if not kept:
        conn[1].close()
    await pool.give(conn if kept else None)


async def _run(
    host: str, port: int, rate: float, seconds: float, request_for: Callable[[int], bytes]
) -> Outcome:
    out = Outcome(offered=rate, seconds=seconds)
    pool = _Pool(host, port)
    tasks: list[asyncio.Task[None]] = []
    start = time.perf_counter()
    for i in range(int(rate * seconds)):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(_one(pool, request_for(i), due, start, out)))
    await asyncio.gather(*tasks)
    out.connections = pool.opened
    for _reader, writer in pool.idle:
        writer.close()
    return out


def run(host: str, port: int, rate: float, seconds: float, request_for: Callable[[int], bytes]) -> Outcome:
    """Offer `rate` requests/s for `seconds`; request i's bytes come from `request_for(i)`."""
    return asyncio.run(_run(host, port, rate, seconds, request_for))


def post(path: str, host: str, headers: dict[str, str], body: bytes) -> bytes:
    """One HTTP/1.1 keep-alive POST, as bytes."""
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body
