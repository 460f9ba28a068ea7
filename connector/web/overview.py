"""The Overview page, the first after sign-in (`/`): the chosen period's figures against the
previous period's, per currency, with its charts, top products and regions and each store's
sync health in one line. Its own blueprint, signed in as the dashboard is (`login_required`);
the figures come from `queries.overview`, as `/api/v1/overview`'s do.
"""

from __future__ import annotations

from flask import Blueprint, g, render_template, request
from flask.typing import ResponseReturnValue

from connector import db
from connector.errors import BadInput
from connector.web import charts
from connector.web.dashboard import login_required
from connector.web.queries.overview import overview
from connector.web.queries.period import PRESETS

PRESET_NAMES = {"7d": "7 days", "30d": "30 days", "90d": "90 days", "12m": "12 months"}


bp = Blueprint("overview", __name__)


@bp.get("/")
@login_required
def page() -> ResponseReturnValue:
    """The Overview at the dashboard's root (the stores page moved to /stores)."""
    try:
        with db.session() as s:
            data = overview(s, g.account_id, request.args)
    except BadInput as exc:
        refused = render_template("message.html", title="Check the period", text=_explained(exc.reason))
        return refused, 400
    return render_template(
        "overview.html", o=data, charts=charts.overview(data), presets=_presets(), args=request.args
    )


def _explained(reason: str) -> str:
    return f"{reason}. Choose a preset, or a custom period from its first day (to today if `to` is empty)."


def _presets() -> list[tuple[str, str]]:
    return [(code, PRESET_NAMES[code]) for code in PRESETS]
