"""Contacts across stores and platforms, against the sandbox's recorded truth: every
customer and order of a shop and a site sharing half their people ends on the contact of
exactly its person; merges keep provenance; hand-edited fields are not overwritten."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest
from sqlalchemy import insert, select, update
from sqlalchemy.engine import Engine

from connector.crm import identity
from connector.db import get_engine
from connector.db.models import Contact, Customer, Order, Store
from connector.errors import BadInput
from connector.write.apply import apply_batch
from platforms.base import Batch
from sandbox.state import SandboxStore
from sync.engine import ENTITIES, run_step
from tests.builders import customer_row, make_store
from tests.rig import SHOP, Rig

pytestmark = pytest.mark.slow


def truth_person(store: SandboxStore, entity: str, platform_id: int) -> int:
    index = store.index_of(entity, platform_id)
    assert index is not None
    person: int = store.get(entity, index).data["person"]
    return person


def test_contacts_across_a_shop_and_a_site_equal_the_people(rig: Rig) -> None:
    # given a shop and a site whose customers overlap by half, guests included, both backfilled
    with rig.app.app_context():
        for store_id in (rig.shop.id, rig.site.id):
            for entity in ENTITIES:
                assert run_step(rig.app, store_id, entity, "test-owner").outcome == "done"
    world = rig.sandbox.world
    sandbox_of = {rig.shop.id: world.shops[SHOP].store, rig.site.id: world.woo["site-1"].store}
    # then each person has one contact and each contact one person
    contacts_of: dict[int, set[int]] = defaultdict(set)
    people_of: dict[int, set[int]] = defaultdict(set)
    stores_of: dict[int, set[int]] = defaultdict(set)
    with get_engine(rig.app).connect() as conn:
        for model, entity in ((Customer, "customers"), (Order, "orders")):
            rows = conn.execute(select(model.store_id, model.platform_id, model.contact_id)).all()
            for store_id, platform_id, contact_id in rows:
                assert contact_id is not None, (entity, platform_id)
                person = truth_person(sandbox_of[store_id], entity, platform_id)
                contacts_of[person].add(contact_id)
                people_of[contact_id].add(person)
                stores_of[contact_id].add(store_id)
        live = set(conn.execute(select(Contact.id).where(Contact.merged_into_id.is_(None))).scalars())
    assert all(len(c) == 1 for c in contacts_of.values())
    assert all(len(p) == 1 for p in people_of.values())
    assert set(people_of) <= live  # no record points at a merged-away contact
    # and the people who shop on both platforms (half of each store's) are one contact each
    across = [c for c, s in stores_of.items() if s == {rig.shop.id, rig.site.id}]
    assert len(across) >= 40
    # among them people who typed their e-mail in other capitals, or their phone in another
    # format, on the site than on the shop: one contact each all the same
    with get_engine(rig.app).connect() as conn:
        typed = conn.execute(
            select(Customer.contact_id, Customer.store_id, Customer.email, Customer.phone).where(
                Customer.contact_id.in_(across)
            )
        ).all()
    written: dict[int | None, dict[int, tuple[str, str]]] = defaultdict(dict)
    for contact_id, store_id, email, phone in typed:
        written[contact_id][store_id] = (email or "", phone or "")
    pairs = [(w[rig.shop.id], w[rig.site.id]) for w in written.values() if len(w) == 2]
    recased = [p for p in pairs if p[0][0] != p[1][0] and p[0][0].lower() == p[1][0].lower()]
    rewritten = [p for p in pairs if p[0][1] and p[1][1] and p[0][1] != p[1][1]]
    assert len(recased) >= 5 and len(rewritten) >= 5


def second_store(conn: Any, first: int, domain: str) -> int:
    """Another store of the same merchant account (contacts never cross accounts)."""
    account = conn.execute(select(Store.account_id).where(Store.id == first)).scalar_one()
    values = {"account_id": account, "platform": "woocommerce", "domain": domain, "store_key": "key-2"}
    return int(conn.execute(insert(Store).values(**values).returning(Store.id)).scalar_one())


def test_a_phone_that_joins_two_contacts_merges_them_with_provenance(engine: Engine) -> None:
    with engine.begin() as conn:
        shop = make_store(conn, domain="a-shop.myshopify.com")
        other = second_store(conn, shop, "https://b.example")
        # given two people as far as anyone can tell: different e-mails, different phones
        write(
            conn,
            [
                customer_row(
                    shop,
                    platform_id=1,
                    email="ana@example.com",
                    email_normalized="ana@example.com",
                    phone_e164="+14155550101",
                )
            ],
        )
        write(
            conn,
            [
                customer_row(
                    shop,
                    platform_id=2,
                    email="a.n@example.com",
                    email_normalized="a.n@example.com",
                    phone_e164="+14155550199",
                )
            ],
        )
        first, second = (
            conn.execute(select(Customer.contact_id).where(Customer.platform_id == i)).scalar_one()
            for i in (1, 2)
        )
        assert first != second
        # when a customer elsewhere has the first one's e-mail and the second one's phone
        write(
            conn,
            [
                customer_row(
                    other,
                    platform_id=3,
                    email="ANA@example.com",
                    email_normalized="ana@example.com",
                    phone_e164="+14155550199",
                )
            ],
        )
        # then they are one contact, and the absorbed one says where it went and why
        linked = set(conn.execute(select(Customer.contact_id)).scalars())
        absorbed = conn.execute(select(Contact).where(Contact.id == second)).one()
        survivor = conn.execute(select(Contact).where(Contact.id == first)).one()
    assert linked == {first}
    assert absorbed.merged_into_id == first
    assert survivor.merge_provenance["merged"][0]["contact_id"] == second
    assert "phone" in survivor.merge_provenance["merged"][0]["reason"]


def test_a_field_the_merchant_edited_is_not_overwritten_by_a_resync(engine: Engine) -> None:
    with engine.begin() as conn:
        shop = make_store(conn, domain="c-shop.myshopify.com")
        write(
            conn,
            [
                customer_row(
                    shop,
                    platform_id=7,
                    email="bo@example.com",
                    email_normalized="bo@example.com",
                    first_name=None,
                )
            ],
        )
        contact_id = conn.execute(select(Customer.contact_id)).scalar_one()
        # the merchant cleared the first name on purpose
        conn.execute(
            update(Contact).where(Contact.id == contact_id).values(manual_fields={"first_name": None})
        )
        row = customer_row(
            shop, platform_id=7, email="bo@example.com", email_normalized="bo@example.com", first_name="Bo"
        )
        write(
            conn,
            [{**row, "source_updated_at": row["source_updated_at"].replace(year=2030)}],
        )
        contact = conn.execute(select(Contact).where(Contact.id == contact_id)).one()
        store_count = conn.execute(select(Store.id)).all()
    assert contact.first_name is None and contact.email_normalized == "bo@example.com"
    assert len(store_count) == 1


def test_contacts_never_cross_merchant_accounts(engine: Engine) -> None:
    with engine.begin() as conn:
        mine, theirs = (
            make_store(conn, domain="mine.myshopify.com"),
            make_store(conn, domain="theirs.myshopify.com"),
        )
        for store in (mine, theirs):
            row = customer_row(
                store, platform_id=5, email="same@example.com", email_normalized="same@example.com"
            )
            write(conn, [row])
        contacts = conn.execute(select(Customer.store_id, Customer.contact_id)).all()
    assert len({contact for _store, contact in contacts}) == 2


def test_a_merge_can_be_undone_and_is_not_redone_by_the_next_sync(engine: Engine) -> None:
    with engine.begin() as conn:
        shop = make_store(conn, domain="d-shop.myshopify.com")
        write(conn, [person(shop, 1, "kim@example.com", "+14155550111")])
        write(conn, [person(shop, 2, "k.m@example.com", "+14155550122")])
        write(conn, [person(shop, 3, "kim@example.com", "+14155550122")])
        first = conn.execute(select(Customer.contact_id).where(Customer.platform_id == 1)).scalar_one()
        second = conn.execute(select(Contact.id).where(Contact.merged_into_id == first)).scalar_one()
        # when the merchant says these are two people
        assert identity.unmerge(conn, second) == first
        # then the second customer is back on its own contact, and a re-sync does not merge again
        resynced = [
            person(shop, 1, "kim@example.com", "+14155550111"),
            person(shop, 2, "k.m@example.com", "+14155550122"),
            person(shop, 3, "kim@example.com", "+14155550122"),
        ]
        write(conn, [{**r, "source_updated_at": r["source_updated_at"].replace(year=2031)} for r in resynced])
        owners = dict(conn.execute(select(Customer.platform_id, Customer.contact_id)).all())
        merged = conn.execute(select(Contact.merged_into_id).where(Contact.id == second)).scalar_one()
        with pytest.raises(BadInput):
            identity.unmerge(conn, second)
    assert owners == {1: first, 2: second, 3: first} and merged is None


def write(conn: Any, rows: list[dict[str, Any]]) -> None:
    """Customer rows through the one write path, which gives them their contacts."""
    store_id = rows[0]["store_id"]
    apply_batch(conn, store_id, Batch(rows={"customers": [{**r} for r in rows]}))


def person(store: int, platform_id: int, email: str, phone: str) -> dict[str, Any]:
    return customer_row(store, platform_id=platform_id, email=email, email_normalized=email, phone_e164=phone)


def test_a_customer_keeps_its_contact_when_its_email_and_phone_change(engine: Engine) -> None:
    with engine.begin() as conn:
        shop = make_store(conn, domain="e-shop.myshopify.com")
        # given a customer, with orders, on its contact
        write(conn, [person(shop, 1, "old@example.com", "+14155550133")])
        before = conn.execute(select(Customer.contact_id)).scalar_one()
        # when the person changes both e-mail and phone on the platform
        changed = person(shop, 1, "new@example.com", "+14155550144")
        write(conn, [{**changed, "source_updated_at": changed["source_updated_at"].replace(year=2031)}])
        after = conn.execute(select(Customer.contact_id)).scalar_one()
        contacts = conn.execute(select(Contact.id)).scalars().all()
        # and later another store's customer shows up with the new e-mail
        other = second_store(conn, shop, "https://f.example")
        write(conn, [person(other, 9, "new@example.com", "+14155550155")])
        linked = set(conn.execute(select(Customer.contact_id)).scalars())
    # then it is the same contact throughout (matching by platform id comes first)
    assert after == before and contacts == [before] and linked == {before}
