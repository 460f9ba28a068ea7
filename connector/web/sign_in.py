"""What keeps a dashboard sign-in the merchant's own: wrong passwords are throttled per
account (e-mail) and per client address, in Redis, before any password is checked; a
session is bound to the user's session generation and password, so signing out (which
moves the generation on) or a new password ends every cookie issued before; and the page
to go on to after signing in is only ever a path on this site.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from urllib.parse import unquote

import redis
from werkzeug.security import generate_password_hash

MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_ADDRESS = 20
WINDOW_S = 15 * 60
THROTTLED = "Too many failed sign-ins: wait 15 minutes and try again."
UNAVAILABLE = "Signing in is unavailable for a moment: try again shortly."
_UNSAFE = re.compile(r"[\x00-\x20\x7f\\]")


def local_path(target: str | None) -> str | None:
    """`target` when it is a path on this site, else None: one leading slash (not // nor /\\),
    no scheme, no backslash, control character or whitespace, as given or once decoded."""
    if not target or not target.startswith("/"):
        return None
    for form in (target, unquote(target)):
        if form.startswith(("//", "/\\")) or _UNSAFE.search(form) or ":" in form.split("?", 1)[0]:
            return None
    return target


@functools.cache
def nobody_hash() -> str:
    """A hash to check when the e-mail is unknown, so that answer takes as long as a wrong password."""
    return generate_password_hash(secrets.token_urlsafe(16))


def session_tag(secret_key: str, user_id: int, generation: int, password_hash: str) -> str:
    """What a session must carry to stay valid: it changes on sign-out and on a new password.
    Keyed with the app's secret, as the session cookie can be read (only its signature is secret)."""
    message = f"{user_id}:{generation}:{password_hash}".encode()
    return hmac.new(secret_key.encode(), message, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Throttle:
    """Sign-in attempts counted per e-mail and per client address over a 15-minute window,
    counted before the password is checked (so parallel guesses cannot all slip under the
    limit); a successful sign-in gives its attempt back and clears the account's count."""

    conn: redis.Redis

    def _keys(self, email: str, address: str) -> tuple[str, str]:
        digest = hashlib.sha256(email.encode()).hexdigest()  # no e-mail address in Redis
        return f"crm:login-attempts:account:{digest}", f"crm:login-attempts:address:{address}"

    def attempt(self, email: str, address: str) -> bool:
        """Count one attempt; False when the account or the address is past its limit."""
        with self.conn.pipeline() as pipe:  # MULTI/EXEC: one atomic step
            for key in self._keys(email, address):
                pipe.set(key, 0, ex=WINDOW_S, nx=True)  # the window starts at the first attempt
                pipe.incr(key)
            _, by_account, _, by_address = pipe.execute()
        return int(by_account) <= MAX_FAILURES_PER_ACCOUNT and int(by_address) <= MAX_FAILURES_PER_ADDRESS

    def succeeded(self, email: str, address: str) -> None:
        account, client = self._keys(email, address)
        with self.conn.pipeline() as pipe:
            pipe.delete(account)
            pipe.decr(client)
            pipe.execute()
