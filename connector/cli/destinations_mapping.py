"""`crm-connector destinations mapping ID`: show a destination's field mapping (CRM field →
connector field, per object, its overrides marked), or change it. Every change is checked, and
each CRM field it names is asked of the CRM, before anything is kept; a kept change marks the
account's records, so the next push sends them with the new mapping.
"""

from __future__ import annotations

import json
from typing import Any

import click

import destinations as kinds
from connector import db
from connector.accounts import destination_mapping, destinations
from connector.cli.support import app_context, ready, the_app
from connector.context import vault_of
from connector.crm import destination_outbox
from connector.errors import BadInput, FailPermanently, Reauthorize, RetryLater


@click.command("mapping")
@click.argument("destination")
@click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="OBJECT.CRM_FIELD=FIELD",
    help="map a CRM field to a connector field",
)
@click.option("--leave-out", multiple=True, metavar="OBJECT.CRM_FIELD", help="push nothing to this CRM field")
@click.option("--reset", is_flag=True, help="drop every override first: back to the defaults")
@click.option("--json", "as_json", is_flag=True, help="print the mapping as JSON")
def mapping(
    destination: str, sets: tuple[str, ...], leave_out: tuple[str, ...], reset: bool, as_json: bool
) -> None:
    """Show or change which connector field goes to which CRM field."""
    changes = destination_mapping.parse(sets, leave_out)
    with app_context():
        app = the_app()
        ready(app)
        with db.session(app) as s:
            dest = destinations.find(s, destination)
            kind = kinds.get(dest.kind)
            before = dest.mapping or {}
            overrides = destination_mapping.changed(kind, {} if reset else before, changes)
            altered = overrides != before
            if altered:
                _ask_the_crm(app, dest, kind, overrides)
                dest.mapping = overrides or None
                destination_outbox.mark_everything(s.connection(), dest.id, dest.account_id)
                s.commit()
            shown = _shown(kind, overrides)
    if as_json:
        click.echo(json.dumps(shown))
        return
    for obj, fields in shown.items():
        click.echo(obj)
        for crm, entry in fields.items():
            note = "  (override)" if entry["override"] else ""
            click.echo(f"  {crm:<36} ← {entry['field'] or '(left out)'}{note}")
    if altered:
        click.echo(f"destination {dest.id}: mapping kept; the next push sends every record with it")
    elif changes or reset:
        click.echo(f"destination {dest.id}: the mapping already was so; nothing changed")


def _ask_the_crm(app: Any, dest: Any, kind: Any, overrides: dict[str, Any]) -> None:
    """Whether the CRM has each field the overrides add to its kind's defaults (asked only then)."""
    wanted = destination_mapping.effective(kind, overrides)
    asked = [obj for obj, fields in overrides.items() if set(fields) - set(kind.DEFAULT_MAPPING[obj])]
    if not asked:
        return
    session = kind.open_session(vault_of(app).open(dest.credentials), None)
    try:
        known = {obj: session.known_fields(obj) for obj in asked}
    except (RetryLater, Reauthorize, FailPermanently) as exc:
        raise BadInput(f"destination {dest.id}: {exc.reason}; nothing was changed") from exc
    finally:
        session.close()
    absent = destination_mapping.not_there(kind, wanted, known)
    if absent:
        raise BadInput(
            f"destination {dest.id}: {kind.KIND} has no field {', '.join(absent)}; make it there first "
            "(nothing was changed)"
        )


def _shown(kind: Any, overrides: dict[str, Any] | None) -> dict[str, dict[str, dict[str, Any]]]:
    """Every CRM field of the defaults and the overrides, with the connector field it takes."""
    wanted = destination_mapping.effective(kind, overrides)
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for obj in kind.DEFAULT_MAPPING:
        given = (overrides or {}).get(obj) or {}
        names = list(kind.DEFAULT_MAPPING[obj]) + [f for f in given if f not in kind.DEFAULT_MAPPING[obj]]
        out[obj] = {crm: {"field": wanted[obj].get(crm), "override": crm in given} for crm in names}
    return out


COMMANDS = {"mapping": mapping}
