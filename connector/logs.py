"""Logging: a constant message with ids as fields (`log.info("store added", extra={...})`).

Text or JSON lines (CONNECTOR_LOG_FORMAT). As a safety net, any field whose name
suggests a secret is redacted, so a token can never reach the logs through a field.
On the terminal, lines go to stderr through one rich console, the one progress bars
draw on, so a log line never splices into a bar; commands show warnings only unless
`-v` (the roles, serve/worker/cron/run, show everything).
"""

from __future__ import annotations

import functools
import json
import logging
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.logging import RichHandler

from connector.config import Settings

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
_SECRET_WORDS = ("token", "secret", "password", "key", "authorization", "credential")


def fields_of(record: logging.LogRecord) -> dict[str, Any]:
    fields = {k: v for k, v in vars(record).items() if k not in _STANDARD}
    return {k: ("[redacted]" if any(w in k.lower() for w in _SECRET_WORDS) else v) for k, v in fields.items()}


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = f"{self.formatTime(record)} {record.levelname} {record.name}: {record.getMessage()}"
        extras = " ".join(f"{k}={v}" for k, v in fields_of(record).items())
        text = f"{line} {extras}" if extras else line
        return text + ("\n" + self.formatException(record.exc_info) if record.exc_info else "")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            **fields_of(record),
        }
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class FieldsFormatter(logging.Formatter):
    """The message and its fields, for rich's handler (which shows the time and level itself)."""

    def format(self, record: logging.LogRecord) -> str:
        extras = " ".join(f"{k}={v}" for k, v in fields_of(record).items())
        text = f"{record.name}: {record.getMessage()}" + (f" {extras}" if extras else "")
        return text + ("\n" + self.formatException(record.exc_info) if record.exc_info else "")


class ConsoleHandler(logging.Handler):
    """Whole lines through the shared console when stderr is not a terminal (never wrapped)."""

    def __init__(self, console: Console) -> None:
        super().__init__()
        self.console = console

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.console.print(self.format(record), markup=False, highlight=False, soft_wrap=True)
        except Exception:
            self.handleError(record)


@functools.cache
def terminal() -> Console:
    """The process's stderr console: log lines and progress bars share it."""
    return Console(stderr=True)


_terminal_level = [logging.INFO]  # what reaches the terminal; the log file always gets INFO


def show_on_terminal(level: int) -> None:
    """From this level up, log lines reach stderr (the CLI: WARNING unless -v)."""
    _terminal_level[0] = level
    for handler in logging.getLogger("crm").handlers:
        if getattr(handler, "_crm", "") == "terminal":
            handler.setLevel(level)


def configure(settings: Settings) -> None:
    """The `crm` loggers' terminal handler, in the settings' format; once per process."""
    root = logging.getLogger("crm")
    if any(getattr(h, "_crm", False) for h in root.handlers):
        return
    handler: logging.Handler
    if settings.log_format == "json":
        handler = ConsoleHandler(terminal())
        handler.setFormatter(JsonFormatter())
    elif terminal().is_terminal:
        handler = RichHandler(console=terminal(), show_path=False, markup=False, rich_tracebacks=False)
        handler.setFormatter(FieldsFormatter())
    else:
        handler = ConsoleHandler(terminal())
        handler.setFormatter(TextFormatter())
    setattr(handler, "_crm", "terminal")  # noqa: B010 (a mark on a library's handler)
    setattr(handler, "_crm_file_format", settings.log_format)  # noqa: B010
    handler.setLevel(_terminal_level[0])
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    root.propagate = True


def to_file(path: Path) -> None:
    """The connector's log lines go to `path` instead of stderr, in the same format (the
    demo keeps its terminal for the story it tells and the sign-in it prints)."""
    root = logging.getLogger("crm")
    for handler in [h for h in root.handlers if getattr(h, "_crm", False)]:
        root.removeHandler(handler)
        to = logging.FileHandler(path, encoding="utf-8")
        json_lines = getattr(handler, "_crm_file_format", "text") == "json"
        to.setFormatter(JsonFormatter() if json_lines else TextFormatter())
        to._crm = "file"  # type: ignore[attr-defined]
        root.addHandler(to)
        handler.close()


def get(name: str) -> logging.Logger:
    """A logger under the `crm` tree, e.g. get(__name__)."""
    return logging.getLogger("crm." + name)
