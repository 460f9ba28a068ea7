"""Logging: a constant message with ids as fields (`log.info("store added", extra={...})`).

Text or JSON lines (CONNECTOR_LOG_FORMAT). As a safety net, any field whose name
suggests a secret is redacted, so a token can never reach the logs through a field.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

from flask import Flask

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


def init_app(app: Flask, settings: Settings) -> None:
    root = logging.getLogger("crm")
    if any(getattr(h, "_crm", False) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if settings.log_format == "json" else TextFormatter())
    handler._crm = True  # type: ignore[attr-defined]
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
        to.setFormatter(handler.formatter)
        to._crm = True  # type: ignore[attr-defined]
        root.addHandler(to)
        handler.close()


def get(name: str) -> logging.Logger:
    """A logger under the `crm` tree, e.g. get(__name__)."""
    return logging.getLogger("crm." + name)
