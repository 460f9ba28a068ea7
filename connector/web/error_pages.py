"""Error answers in the product's own voice: a page in the dashboard's look (not Werkzeug's
bare one) for a person's browser, saying what happened and where to go next; JSON
`{status, message}` for the API, the webhook receivers and the other machine routes, as
their successful answers are. An unexpected error is logged with its request path only.
"""

from __future__ import annotations

from flask import Flask, render_template, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException, InternalServerError

from connector import logs
from connector.web.common import answer

log = logs.get(__name__)
MACHINE_PATHS = ("/api/", "/webhooks/", "/healthz", "/metrics", "/shopify/", "/woocommerce/callback")
PAGES = {  # status → (title, what to do)
    403: ("Not allowed", "This page is not open to your sign-in. Sign in with another account, or go back."),
    404: ("Page not found", "There is nothing at this address. Check the link, or start again from Stores."),
    405: ("Not possible here", "This address does not take that kind of request. Start again from Stores."),
    500: ("Something went wrong", "The connector failed to answer; it is logged. Try again in a moment."),
}


def _for_machines() -> bool:
    return request.path.startswith(MACHINE_PATHS) or request.accept_mimetypes.best == "application/json"


def http_error(error: HTTPException) -> ResponseReturnValue:
    status = error.code or 500
    if _for_machines():
        return answer(status, (error.description or error.name).split(". ")[0].rstrip("."))
    title, text = PAGES.get(status, (error.name, error.description or ""))
    return render_template("error.html", status=status, title=title, text=text), status


def unexpected(error: InternalServerError) -> ResponseReturnValue:
    """An unhandled exception (Flask hands it over as a 500 unless it propagates, as in tests)."""
    cause = getattr(error, "original_exception", None) or error
    log.error("request failed", extra={"path": request.path, "error": type(cause).__name__})
    return http_error(InternalServerError())


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(InternalServerError, unexpected)
