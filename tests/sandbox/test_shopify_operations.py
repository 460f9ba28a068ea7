"""What a client asks first, over real HTTP: given the sandbox shop, when a client asks for
`shop`, `currentAppInstallation`, or sends a document of several operations with (or without)
`operationName`, then it is answered as Shopify answers."""

from __future__ import annotations

import pytest

from sandbox.server import SandboxServer
from tests.sandbox.shopify_admin import Admin

TWO = """
query Shop { shop { name myshopifyDomain } }
query Counted($q: String) { customersCount(query: $q) { count precision } }
"""


@pytest.fixture
def admin(sandbox: SandboxServer) -> Admin:
    return Admin(sandbox)


def test_operation_name_runs_the_named_operation_only(admin: Admin) -> None:
    answer = admin.post({"query": TWO, "operationName": "Counted", "variables": {"q": "state:enabled"}})
    expected = len(admin.held("customers", lambda r: r.data["state"] == "enabled"))
    assert answer["data"] == {"customersCount": {"count": expected, "precision": "EXACT"}}
    other = admin.post({"query": TWO, "operationName": "Shop"})
    assert other["data"] == {"shop": {"name": admin.domain.split(".")[0], "myshopifyDomain": admin.domain}}


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (None, "An operation name is required"),
        ("Missing", 'No operation named "Missing"'),
        (7, "must be a string"),
    ],
)
def test_a_document_of_several_operations_needs_a_name_it_holds(
    admin: Admin, name: object, message: str
) -> None:
    before = admin.shop.bucket_available
    answer = admin.post({"query": TWO, "operationName": name})
    assert "data" not in answer and message in answer["errors"][0]["message"]
    assert admin.shop.bucket_available >= before  # nothing ran, nothing was charged


def test_a_single_operation_runs_with_or_without_its_name(admin: Admin) -> None:
    doc = "query Only { customersCount { count } }"
    assert admin.post({"query": doc})["data"] == admin.post({"query": doc, "operationName": "Only"})["data"]


def test_shop_answers_its_standard_fields(admin: Admin) -> None:
    answer = admin.post(
        {
            "query": """{ shop { id name email myshopifyDomain currencyCode ianaTimezone url
              primaryDomain { host url sslEnabled } billingAddress { city countryCodeV2 zip }
              timezoneOffsetMinutes weightUnit taxesIncluded enabledPresentmentCurrencies
              currencyFormats { moneyFormat } plan { displayName shopifyPlus } createdAt } }"""
        }
    )
    assert "errors" not in answer, answer
    shop = answer["data"]["shop"]
    assert shop["id"].startswith("gid://shopify/Shop/") and shop["myshopifyDomain"] == admin.domain
    assert shop["primaryDomain"] == {
        "host": admin.domain,
        "url": f"https://{admin.domain}",
        "sslEnabled": True,
    }
    assert shop["currencyCode"] == admin.shop.store.dataset.currency
    assert shop["enabledPresentmentCurrencies"] == [shop["currencyCode"]]
    assert shop["createdAt"].endswith("Z") and shop["billingAddress"]["countryCodeV2"] == "US"


def test_current_app_installation_lists_the_granted_scopes(admin: Admin) -> None:
    answer = admin.post(
        {
            "query": "{ currentAppInstallation { id accessScopes { handle } "
            "app { id title apiKey } launchUrl } }"
        }
    )
    installation = answer["data"]["currentAppInstallation"]
    granted = admin.shop.tokens[admin.token]["scope"].split(",")
    assert [s["handle"] for s in installation["accessScopes"]] == sorted(granted)
    assert installation["app"]["id"].startswith("gid://shopify/App/") and installation["app"]["apiKey"]
