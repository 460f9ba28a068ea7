"""Logs: constant messages with ids as fields; a field that names a secret is never printed."""

from __future__ import annotations

import json
import logging

from connector.logs import JsonFormatter, TextFormatter


def record(**fields: object) -> logging.LogRecord:
    rec = logging.makeLogRecord({"name": "crm.test", "levelname": "INFO", "msg": "store connected"})
    for k, v in fields.items():
        setattr(rec, k, v)
    return rec


def test_ids_are_fields_and_secrets_are_redacted_in_text_and_json() -> None:
    rec = record(store_id=7, access_token="shpat_live_1234", webhook_secret="whsec", consumer_key="ck_1")
    text = TextFormatter().format(rec)
    entry = json.loads(JsonFormatter().format(rec))
    assert "store connected" in text and "store_id=7" in text
    assert entry["msg"] == "store connected" and entry["store_id"] == 7
    for secret in ("shpat_live_1234", "whsec", "ck_1"):
        assert secret not in text and secret not in json.dumps(entry)
    assert entry["access_token"] == entry["webhook_secret"] == entry["consumer_key"] == "[redacted]"
