"""`crm-connector destinations mapping ID`: the field mapping shown with its overrides, and
changed only by checked changes: an unknown object, connector field or CRM field, the id field
remapped or left out, or a malformed change is one line, exit 2, and nothing changed; a kept
change is what the next push sends, to every record."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select

from connector.db import get_engine
from connector.db.operations import Destination, DestinationMark
from tests.destinations.helpers import add_hubspot, make_property, push_until_done, sync_everything
from tests.rig import Rig
from tests.test_stores_cli import main


def mapping(rig: Rig, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    return main(rig.env, monkeypatch, capsys, "destinations", "mapping", "1", *args)


def kept(rig: Rig) -> tuple[Any, int]:
    """The destination's stored overrides, and how many marks wait for it."""
    with get_engine(rig.app).connect() as conn:
        overrides = conn.execute(select(Destination.mapping)).scalar_one()
        marks = conn.execute(select(func.count()).select_from(DestinationMark)).scalar_one()
    return overrides, int(marks)


@pytest.fixture
def pushed_hubspot(rig: Rig) -> int:
    sync_everything(rig)
    dest = add_hubspot(rig)
    assert push_until_done(rig.app, dest)[-1].outcome == "done"
    return dest


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (
            ("--set", "contacts.firstname=no_such_field"),
            "'no_such_field' is not a connector field of contacts",
        ),
        (("--set", "contacts.connector_contact_id=email"), "cannot be remapped or left out"),
        (("--leave-out", "contacts.connector_contact_id"), "cannot be remapped or left out"),
        (("--set", "contacts.email=id"), "cannot be remapped or left out"),
        (("--set", "deals.dealname=email"), "'deals': hubspot takes contacts, orders, line_items"),
        (("--set", "contacts.bad-name=email"), "name the object and the CRM field as OBJECT.CRM_FIELD"),
        (("--set", "contacts.firstname"), "write OBJECT.CRM_FIELD=CONNECTOR_FIELD"),
        (
            ("--set", "contacts.favourite_colour=first_channel"),
            "hubspot has no field contacts.favourite_colour",
        ),
        (("--set", "contacts.FirstName=email"), "contacts.FirstName (it has firstname); make it there first"),
    ],
)
def test_a_change_that_cannot_be_is_refused_and_nothing_changes(
    rig: Rig,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    pushed_hubspot: int,
    args: tuple[str, ...],
    words: str,
) -> None:
    # given a pushed destination with no overrides and nothing waiting
    assert kept(rig) == (None, 0)
    # when a change that cannot be is asked for
    status, _out, err = mapping(rig, monkeypatch, capsys, *args)
    # then it is one line naming why, exit 2, and neither the mapping nor the marks changed
    assert status == 2 and words in err and len(err.strip().splitlines()) == 1, err
    assert kept(rig) == (None, 0)


def test_a_kept_change_is_shown_and_the_next_push_sends_every_contact_with_it(
    rig: Rig, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], pushed_hubspot: int
) -> None:
    portal = rig.sandbox.world.hubspot
    before = {
        r.properties["connector_contact_id"]: dict(r.properties) for r in portal.records["contacts"].values()
    }
    # given a property the merchant made in HubSpot
    make_property(rig, "favourite_channel")
    # when it is mapped to the first channel and the city is left out
    args = ("--set", "contacts.favourite_channel=first_channel", "--leave-out", "contacts.city")
    status, out, err = mapping(rig, monkeypatch, capsys, *args)
    assert status == 0, err
    assert "mapping kept; the next push sends every record with it" in out
    # then the mapping shows both overrides, and every contact and order waits to be pushed again
    status, out, _err = mapping(rig, monkeypatch, capsys, "--json")
    shown = json.loads(out)["contacts"]
    assert shown["favourite_channel"] == {"field": "first_channel", "override": True}
    assert shown["city"] == {"field": None, "override": True}
    assert shown["email"] == {"field": "email", "override": False}
    overrides, marks = kept(rig)
    assert overrides == {"contacts": {"favourite_channel": "first_channel", "city": None}}
    assert marks == len(before) + len(portal.records["orders"])
    # and the next push fills the new property for every contact, and leaves city as it was
    assert push_until_done(rig.app, pushed_hubspot)[-1].outcome == "done"
    after = {r.properties["connector_contact_id"]: r.properties for r in portal.records["contacts"].values()}
    assert set(after) == set(before)
    for ours, props in after.items():
        assert props["favourite_channel"] == before[ours]["connector_first_channel"]
        assert props.get("city") == before[ours].get("city")
    # and --reset goes back to the defaults; asked again, it changes nothing and marks nothing
    assert push_until_done(rig.app, pushed_hubspot)[-1].outcome == "done"
    assert mapping(rig, monkeypatch, capsys, "--reset")[0] == 0
    assert kept(rig)[0] is None
    assert push_until_done(rig.app, pushed_hubspot)[-1].outcome == "done"
    status, out, _err = mapping(rig, monkeypatch, capsys, "--reset")
    assert status == 0 and "the mapping already was so; nothing changed" in out
    assert kept(rig) == (None, 0)
