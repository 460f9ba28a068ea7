"""The dashboard's Destinations page: each CRM the account pushes to with its status (and why),
per object pushed, pending, failed and the last push; the records a CRM refused with its
reason and a retry; a push asked for now (queued for a worker); a CRM to connect, or to reconnect,
by its OAuth consent (connector/web/destinations_connect.py) where the operator configured the app."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, g, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from connector import db
from connector.accounts import destinations
from connector.context import settings_of
from connector.db.operations import DeadLetter
from connector.errors import BadInput
from connector.runtime.queue import get_redis
from connector.web.dashboard import flash_retry, login_required
from connector.web.destinations_connect import offered
from sync import push

bp = Blueprint("destinations_page", __name__)


@bp.get("/destinations")
@login_required
def page() -> ResponseReturnValue:
    with db.session() as s:
        mine = destinations.every(s, g.account_id)
        rows = destinations.describe(s, mine)
        entities = {f"{obj}@{d.id}" for d in mine for obj in destinations.OBJECTS}
        letters = s.execute(
            select(DeadLetter.__table__)
            .where(
                DeadLetter.kind == "destination",
                DeadLetter.resolved_at.is_(None),
                DeadLetter.entity.in_(entities),
            )
            .order_by(DeadLetter.id.desc())
            .limit(200)
        ).all()
    crms = offered(settings_of(current_app))
    return render_template(
        "destinations.html",
        rows=rows,
        letters=[_letter(r) for r in letters],
        crms=crms,
        reconnectable={c["kind"] for c in crms if c["configured"]},
    )


def _letter(row: Any) -> dict[str, Any]:
    obj, _, dest = str(row.entity).partition("@")
    return {
        "id": row.id,
        "object": obj,
        "destination": dest,
        "record": row.platform_id,
        "reason": row.reason,
        "attempts": row.attempts,
        "created_at": row.created_at,
    }


@bp.post("/destinations/<int:destination_id>/push")
@login_required
def push_now(destination_id: int) -> ResponseReturnValue:
    with db.session() as s:
        try:
            destinations.find(s, str(destination_id), g.account_id)
        except BadInput as exc:
            flash(exc.reason)
            return redirect(url_for("destinations_page.page"))
    queued = push.request_push(get_redis(), destination_id)
    flash(f"Destination {destination_id}: {'push queued' if queued else 'a push is already waiting'}.")
    return redirect(url_for("destinations_page.page"))


@bp.post("/destinations/letters/<int:letter_id>/retry")
@login_required
def retry_letter(letter_id: int) -> ResponseReturnValue:
    flash_retry(letter_id, "Refused record")
    return redirect(url_for("destinations_page.page"))
