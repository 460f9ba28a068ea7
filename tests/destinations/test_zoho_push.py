"""Done-when of issue 20 for Zoho CRM: after a backfill and a stream of changes pushed through
throttles (one with Retry-After), 5xx and an expired token, Zoho holds exactly the account's
contacts and orders (Sales_Orders with their lines and contact) with every pushed field equal;
a revoked grant needs reconnecting and keeps its marks; an opt-out made in Zoho reaches the
ledger in one push; an erasure leaves no trace there; a refused record is a dead letter."""

from __future__ import annotations

import os
import signal
from typing import Any

import pytest

from connector.crm import consent
from connector.db import get_engine
from connector.runtime import signals
from sync.push import push
from tests.destinations.helpers import (
    assert_optout_read,
    churn,
    destination_letters,
    forget,
    live_views,
    marks_left,
    push_until_done,
    pushed,
    receipt_result,
    reconnect_destination,
    score,
    someone_with_orders,
    spoil_an_email,
    sync_everything,
)
from tests.destinations.zoho_helpers import (
    add_zoho,
    assert_zoho_matches,
    control,
    grant,
    held,
    org,
)
from tests.rig import Rig


def test_zoho_holds_exactly_the_accounts_contacts_and_orders_through_faults(rig: Rig) -> None:
    # given a Zoho destination on the account, then a backfill of the shop and the site
    dest = add_zoho(rig)
    sync_everything(rig)
    # and a push through throttles (the first with Zoho's Retry-After), 5xx and an expired token
    control(rig, "faults", {"throttle_next": 1, "retry_after_s": 1})
    first = push_until_done(rig.app, dest, tries=1)
    control(rig, "faults", {})
    control(rig, "faults", {"throttle_next": 2, "fail_next": 2})
    control(rig, "expire")
    first += push_until_done(rig.app, dest)
    # then Zoho holds every contact and order, field by field, the throttle's wait as Zoho asked
    # (a retry each at least: the first throttle, the next two throttles and the two 5xx, which
    # the setup's two field listings, sent at once, may meet in one try each)
    assert first[-1].outcome == "done" and sum(s.pacing["retries"] for s in first) >= 3
    assert first[0].pacing["waited_s"] >= 1.0
    assert_zoho_matches(rig)
    # when the hourly scoring gives RFM, segments and predictions, they follow in the next push
    score(rig)
    assert push_until_done(rig.app, dest)[-1].pushed["contacts"] > 0
    assert_zoho_matches(rig)
    assert any(c.get("Connector_Segment") for c in held(rig, "contacts").values())
    # when the stores change (new, updated and deleted customers and orders), pushed through faults
    churn(rig)
    control(rig, "expire")
    control(rig, "faults", {"throttle_next": 1, "fail_next": 1})
    assert push_until_done(rig.app, dest)[-1].outcome == "done"
    # then Zoho matches again, and nothing waits
    assert_zoho_matches(rig)
    assert not marks_left(rig)


def test_a_revoked_grant_needs_reconnecting_and_keeps_its_marks(rig: Rig) -> None:
    # given a pushed account, then a change, and the grant revoked in Zoho
    dest = pushed(rig, add_zoho(rig))
    rig.mutate("shopify", "customers", "update", 3)
    sync_everything(rig)
    control(rig, "revoke")
    control(rig, "expire")
    # when pushed: the destination needs reconnecting, and the marks wait
    stopped = push_until_done(rig.app, dest, tries=1)[-1]
    assert stopped.outcome == "needs_reconnect" and "reconnect" in str(stopped.reason)
    assert marks_left(rig)
    # when the merchant grants again (a new refresh token) and reconnects
    org(rig).revoked = False
    org(rig).refresh_tokens.add("1000.new.grant")
    reconnect_destination(rig, dest, "zoho", grant(rig, refresh_token="1000.new.grant"))
    # then what waited goes, and Zoho matches
    assert push_until_done(rig.app, dest)[-1].outcome == "done"
    assert_zoho_matches(rig)
    assert not marks_left(rig)


def test_an_optout_in_zoho_reaches_the_ledger_in_one_push(rig: Rig) -> None:
    # given a pushed account
    dest = pushed(rig, add_zoho(rig))
    person = next(c for c in held(rig, "contacts").values() if c.get("Email"))
    contact_id = int(person["Connector_Contact_Id"])
    # when the merchant ticks Email Opt Out on the contact in Zoho
    control(rig, "opt-out", {"email": person["Email"]})
    # then after one push the ledger holds the refusal, from Zoho, at the record's time there
    event = assert_optout_read(rig, dest, contact_id, "zoho")
    said = held(rig, "contacts")[str(contact_id)]
    assert said["Email_Opt_Out"] is True
    modified = org(rig).records["Contacts"][said["id"]]
    assert event.occurred_at.replace(microsecond=0) <= modified.modified
    # and the next push sends the connector's consent back, and reads nothing new
    again = push_until_done(rig.app, dest)[-1]
    assert again.optouts == 0
    assert held(rig, "contacts")[str(contact_id)]["Connector_Email_Consent"] == "unsubscribed"
    assert push_until_done(rig.app, dest)[-1].optouts == 0


def test_an_erasure_leaves_no_trace_in_zoho_and_the_receipt_says_so(rig: Rig) -> None:
    # given a pushed account and one of its people who has orders
    dest = pushed(rig, add_zoho(rig))
    contact_id, email, their_orders = someone_with_orders(rig)
    assert their_orders and their_orders <= set(held(rig, "orders"))
    # when they are erased, and the destination pushed
    receipt = forget(rig, contact_id)
    assert push_until_done(rig.app, dest)[-1].outcome == "done"
    # then Zoho has nothing of them: no contact, no order, no record with their e-mail or name
    assert str(contact_id) not in held(rig, "contacts")
    assert not their_orders & set(held(rig, "orders"))
    everything = repr([r.values for rows in org(rig).records.values() for r in rows.values()]).lower()
    assert email.lower() not in everything
    assert receipt_result(rig, receipt)["destinations"] == {str(dest): "deleted in zoho"}
    assert_zoho_matches(rig)


def test_a_record_zoho_refuses_is_a_dead_letter_in_its_words_and_the_rest_go(rig: Rig) -> None:
    # given a contact whose e-mail Zoho will not take
    dest = add_zoho(rig)
    sync_everything(rig)
    bad, _good = spoil_an_email(rig)
    # when the account is pushed
    summary = push_until_done(rig.app, dest)[-1]
    # then that one is refused with Zoho's reason, in words, and every other contact is there
    assert summary.outcome == "done" and summary.refused["contacts"] == 1
    [letter] = destination_letters(rig)
    assert letter.platform_id == bad and letter.reason == "zoho refused this record: invalid data: Email"
    people, _orders = live_views(rig)
    assert set(held(rig, "contacts")) == {str(i) for i in people} - {str(bad)}


def test_a_stop_landing_as_the_optouts_are_recorded_takes_effect_once_they_are(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a pushed account, one of its people opted out in Zoho since
    dest = pushed(rig, add_zoho(rig))
    person = next(c for c in held(rig, "contacts").values() if c.get("Email"))
    contact_id = int(person["Connector_Contact_Id"])
    control(rig, "opt-out", {"email": person["Email"]})
    # when SIGTERM lands as the push records the refusal (the push run as the CLI runs it)
    record = consent.record

    def record_then_stop(conn: Any, claims: Any) -> int:
        added = record(conn, claims)
        os.kill(os.getpid(), signal.SIGTERM)
        return added

    monkeypatch.setattr(consent, "record", record_then_stop)
    before = signal.signal(signal.SIGTERM, signals.raise_stopped)
    try:
        with pytest.raises(signals.Stopped):
            push(rig.app, dest)
    finally:
        signal.signal(signal.SIGTERM, before)
    # then the stop took effect once the refusal was committed
    with get_engine(rig.app).connect() as conn:
        event = consent.current(conn, [contact_id])[(contact_id, "email")]
    assert (event.state, event.source) == ("unsubscribed", "zoho")
