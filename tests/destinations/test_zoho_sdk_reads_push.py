"""What the connector pushed to the sandbox's Zoho CRM, read back through Zoho's own SDK
(zohocrmsdk8-0): a contact by its Connector_Contact_Id search, and a Sales Order with its
Ordered_Items and its Contact_Name lookup, as the SDK parses them from Zoho's shapes."""

from __future__ import annotations

from pathlib import Path

from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.api.authenticator.store import FileStore
from zohocrmsdk.src.com.zoho.crm.api import HeaderMap, ParameterMap
from zohocrmsdk.src.com.zoho.crm.api.dc.data_center import DataCenter
from zohocrmsdk.src.com.zoho.crm.api.initializer import Initializer
from zohocrmsdk.src.com.zoho.crm.api.record import GetRecordParam, RecordOperations, ResponseWrapper
from zohocrmsdk.src.com.zoho.crm.api.sdk_config import SDKConfig

from tests.destinations.helpers import push_until_done, sync_everything
from tests.destinations.zoho_helpers import add_zoho, held, views
from tests.rig import Rig


def sdk(rig: Rig, folder: Path) -> None:
    z = rig.sandbox.world.manifest()["zoho"]
    environment = DataCenter.Environment(
        z["api_domain"], z["accounts_url"] + "/oauth/v2/token", z["api_domain"]
    )
    token = OAuthToken(
        client_id=z["client_id"], client_secret=z["client_secret"], refresh_token=z["refresh_token"]
    )
    Initializer.initialize(
        environment=environment,
        token=token,
        store=FileStore(str(folder / "tokens.csv")),
        sdk_config=SDKConfig(auto_refresh_fields=False, pick_list_validation=False),
        resource_path=str(folder),
    )


def test_zohos_sdk_reads_the_pushed_contact_and_sales_order(rig: Rig, tmp_path: Path) -> None:
    # given an account pushed to Zoho
    dest = add_zoho(rig)
    sync_everything(rig)
    assert push_until_done(rig.app, dest)[-1].outcome == "done"
    _people, orders = views(rig)
    order_id, view = next((i, v) for i, v in orders.items() if v["contact_id"] and len(v["lines"]) > 1)
    pushed = held(rig, "orders")[str(order_id)]
    person = held(rig, "contacts")[str(view["contact_id"])]
    # when Zoho's SDK reads the Sales Order by its id
    sdk(rig, tmp_path)
    params = ParameterMap()
    params.add(GetRecordParam.fields, "Subject,Connector_Order_Id,Contact_Name,Ordered_Items")
    answer = RecordOperations("Sales_Orders").get_record(int(pushed["id"]), params, HeaderMap())
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
