"""A CRM's consent page as the sandbox shows it: `GET` the authorization request (checked by the
CRM first: an unknown client or a bad request is that CRM's error page, no redirect) answers a
small HTML page naming the app and the scopes with Approve and Deny; `POST` the choice sends the
browser back to the redirect URI with a code and the state, or with `error=access_denied` —
except where the CRM sends nothing back on a refusal (HubSpot), which then shows a page.
Codes are single-use, short-lived and bound to the client, the redirect URI and any PKCE
challenge by each CRM's token endpoint."""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from urllib.parse import urlencode

from flask import redirect, request
from werkzeug.wrappers import Response

Check = Callable[[dict[str, str]], Response | None]  # the CRM's own refusal of the request, if any
Approve = Callable[[dict[str, str]], str]  # the redirect carrying a new code

PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>{crm}: allow access</title></head>
<body><h1>{crm}</h1><p>An app (client {client}) asks for access: <code>{scope}</code>.</p>
<form method="post" action="{action}">{fields}
<button name="decision" value="approve">Approve</button>
<button name="decision" value="deny">Deny</button></form></body></html>"""


def back(redirect_uri: str, query: dict[str, str]) -> str:
    separator = "&" if "?" in redirect_uri else "?"
    return redirect_uri + separator + urlencode(query)


def consent(crm: str, check: Check, approve: Approve, *, deny_redirects: bool = True) -> Response:
    """The consent page (GET) or the merchant's choice (POST) for `crm`'s authorization request."""
    args = (request.args if request.method == "GET" else request.form).to_dict()
    decision = args.pop("decision", "")
    refused = check(args)
    if refused is not None:
        return refused
    if request.method == "GET":
        return _page(crm, args)
    if decision == "approve":
        return redirect(approve(args), 302)
    if not deny_redirects:
        return Response(f"<p>{escape(crm)}: the app was not connected.</p>", 200, mimetype="text/html")
    query = {"error": "access_denied", "error_description": "end-user denied authorization"}
    query |= {"state": args["state"]} if "state" in args else {}
    return redirect(back(args["redirect_uri"], query), 302)


def _page(crm: str, args: dict[str, str]) -> Response:
    fields = "".join(f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in args.items())
    body = PAGE.format(
        crm=escape(crm),
        client=escape(args.get("client_id", "")),
        scope=escape(args.get("scope", "")),
        action=escape(request.path),
        fields=fields,
    )
    return Response(body, 200, mimetype="text/html")
