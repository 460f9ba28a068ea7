"""What every answer pays for, made cheap: JSON encoded by orjson and cookie sessions that
cost nothing where no browser sends one (a webhook's answer cost as much to encode with the
standard library, and its empty session as much to open, as its signature to verify).

`JSONProvider` keeps Flask's rules (sorted keys, its types: dates as HTTP dates, decimals as
text, a dict or str subclass by its own methods) and its compact form; it differs in what JSON
cannot say or Flask refused: non-ASCII text as UTF-8 rather than escaped, NaN and infinities as
null (not the invalid NaN), an Enum by its value. What orjson refuses goes to the standard
library as before. `Sessions` are Flask's signed cookies with the signer made once per key
set, and none opened for a webhook.
"""

from __future__ import annotations

from typing import Any

import orjson
from flask import Flask, Request
from flask.json.provider import DefaultJSONProvider
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer

# dates, datetimes and dataclasses go to Flask's `default` (its formats), not orjson's own
# (and subclasses of dict, str, int, list: to Flask, so a MultiDict says what its items() say)
_OPTIONS = (
    orjson.OPT_SORT_KEYS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)
COMPACT = {"separators": (",", ":")}  # what Flask's `response` asks for out of debug mode
WEBHOOK_PATHS = "/webhooks/"


class JSONProvider(DefaultJSONProvider):
    def dumps(self, obj: Any, **kwargs: Any) -> str:
        if kwargs == COMPACT:  # every JSON answer out of debug mode
            try:
                return orjson.dumps(obj, default=self.default, option=_OPTIONS).decode()
            except TypeError:  # a key that is not text, an integer past 64 bits …: as before
                pass
        return super().dumps(obj, **kwargs)


class Sessions(SecureCookieSessionInterface):
    def __init__(self) -> None:
        self._signers: dict[tuple[Any, ...], URLSafeTimedSerializer] = {}

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        keys = (*(app.config["SECRET_KEY_FALLBACKS"] or ()), app.secret_key)
        signer = self._signers.get(keys)
        if signer is None and app.secret_key:
            signer = super().get_signing_serializer(app)
            if signer is not None:
                self._signers = {keys: signer}  # the key set of today; a changed one replaces it
        return signer

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if request.path.startswith(WEBHOOK_PATHS):
            return None  # Flask's null session: nothing to read, nothing to save
        return super().open_session(app, request)


def init_app(app: Flask) -> None:
    app.json = JSONProvider(app)
    app.session_interface = Sessions()
