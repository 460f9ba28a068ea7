"""What the connector pushed to the sandbox's Zoho CRM, read back through Zoho's own SDK
(zohocrmsdk8-0): a contact by its Connector_Contact_Id search, and a Sales Order with its
Ordered_Items and its Contact_Name lookup, as the SDK parses them from Zoho's shapes."""

from __future__ import annotations

from pathlib import Path

from zohocrmsdk.src.com.zoho.crm.api import HeaderMap, ParameterMap
from zohocrmsdk.src.com.zoho.crm.api.record import GetRecordParam, RecordOperations, ResponseWrapper

from tests.destinations.helpers import live_views, pushed
from tests.destinations.zoho_helpers import add_zoho, held
from tests.rig import Rig
from tests.sandbox.zoho_sdk import start_sdk


def test_zohos_sdk_reads_the_pushed_contact_and_sales_order(rig: Rig, tmp_path: Path) -> None:
    # given an account pushed to Zoho
    pushed(rig, add_zoho(rig))
    _people, orders = live_views(rig)
    order_id, view = next((i, v) for i, v in orders.items() if v["contact_id"] and len(v["lines"]) > 1)
    sent = held(rig, "orders")[str(order_id)]
    person = held(rig, "contacts")[str(view["contact_id"])]
    # when Zoho's SDK reads the Sales Order by its id
    start_sdk(rig.sandbox.world.manifest(), tmp_path)
    params = ParameterMap()
    params.add(GetRecordParam.fields, "Subject,Connector_Order_Id,Contact_Name,Ordered_Items")
    answer = RecordOperations("Sales_Orders").get_record(int(sent["id"]), params, HeaderMap())
    # then it sees the connector's id, its contact, and each line's product and quantity
    wrapper = answer.get_object()
    assert isinstance(wrapper, ResponseWrapper), wrapper
    [record] = wrapper.get_data()
    assert record.get_key_value("Connector_Order_Id") == str(order_id)
    assert str(record.get_key_value("Contact_Name").get_id()) == person["id"]
    lines = record.get_key_value("Ordered_Items")
    assert [int(line.get_key_value("Quantity")) for line in lines] == [
        int(li["quantity"]) for li in view["lines"] if li["quantity"] > 0
    ]
