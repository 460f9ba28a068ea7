"""How our processes stop: SIGINT, SIGTERM and SIGHUP end a command by unwinding it.

SIGTERM and SIGHUP raise `Stopped` in the main thread (SIGINT raises KeyboardInterrupt, as
Python does), so every transaction open rolls back, a sync step gives its lease back and
atexit stops the embedded Redis this process started. Processes we fork or start are
asked (on Linux) to receive a signal when their parent dies, so none outlives it.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_PR_SET_PDEATHSIG = 1


class Stopped(SystemExit):
    """A stop signal arrived: unwind and exit with 128 + its number. A SystemExit, so the
    `except Exception` of a step or a request lets it through."""

    def __init__(self, signum: int) -> None:
        super().__init__(128 + signum)
        self.signum = signum


def raise_stopped(signum: int, _frame: FrameType | None) -> None:
    """A signal handler: unwind this process."""
    raise Stopped(signum)


def stop_on_signals() -> None:
    """SIGTERM and SIGHUP unwind this process as Ctrl-C does (only the main thread can ask)."""
    if threading.current_thread() is not threading.main_thread():
        return
    signal.signal(signal.SIGTERM, raise_stopped)
    signal.signal(signal.SIGHUP, raise_stopped)


@contextmanager
def deferred_stops() -> Iterator[None]:
    """A stop signal that lands inside the block takes effect as the block ends, not halfway
    through it: for a step that must not be cut between its commit and its counting. Only the
    main thread handles signals; elsewhere the block runs as it is."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    landed: list[signal.Signals] = []
    before = {
        signum: signal.signal(signum, lambda n, _f: landed.append(signal.Signals(n)))
        for signum in STOP_SIGNALS
    }
    try:
        yield
    finally:
        for signum, handler in before.items():
            if handler is not None:  # None: a handler set outside Python, which stays as it was
                signal.signal(signum, handler)
        if landed:
            _deliver(landed[0], before[landed[0]])


def _deliver(signum: int, handler: Any) -> None:
    """What the handler in place would have done with the signal (a default one: raise it again)."""
    if callable(handler):
        handler(signum, None)
    elif handler == signal.SIG_DFL:
        signal.raise_signal(signum)


def death_signal_setter(signum: int, parent: Callable[[], int] | None = None) -> Callable[[], None]:
    """What a child just forked or started calls to receive `signum` when the parent thread
    that started it ends (Linux's parent-death signal; elsewhere nothing). `parent` gives
    the parent's pid (default: this process's), to catch a parent that died first. libc is
    looked up here, in the parent, so the child only makes the call."""
    if not sys.platform.startswith("linux"):
        return lambda: None
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    starter = os.getpid()

    def in_child() -> None:
        prctl(_PR_SET_PDEATHSIG, int(signum), 0, 0, 0)
        if os.getppid() != (parent() if parent else starter):  # the parent died before this
            os.kill(os.getpid(), signum)

    return in_child


def children_die_with_this_process() -> None:
    """Every process forked from here on (RQ's work horse and scheduler) is killed when
    the process that forked it ends, however it ends."""
    forking = {"parent": os.getpid()}

    def before() -> None:
        forking["parent"] = os.getpid()

    os.register_at_fork(
        before=before, after_in_child=death_signal_setter(signal.SIGKILL, lambda: forking["parent"])
    )
