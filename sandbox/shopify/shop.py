"""The GraphQL `shop` and `currentAppInstallation` objects a client asks for first: the same
shop the REST shop object describes (events.shop_payload), in GraphQL names, and the app's
installation with the scopes of the token that asks."""

from __future__ import annotations

from typing import Any

from sandbox.shopify import events
from sandbox.shopify import shapes as s
from sandbox.world import Shop


def shop_node(shop: Shop) -> dict[str, Any]:
    rest = events.shop_payload(shop)
    currency, domain = shop.store.dataset.currency, shop.domain
    return {
        "id": s.gid("Shop", events.shop_id(shop)),
        "name": shop.domain.split(".")[0],
        "myshopifyDomain": domain,
        "currencyCode": currency,
        "ianaTimezone": rest["iana_timezone"],
        "plan": {
            "displayName": shop.plan.title(),
            "shopifyPlus": shop.plan == "plus",
            "partnerDevelopment": False,
        },
        "email": rest["email"],
        "contactEmail": rest["email"],
        "description": None,
        "url": f"https://{domain}",
        "primaryDomain": {
            "id": s.gid("Domain", events.shop_id(shop)),
            "host": domain,
            "url": f"https://{domain}",
            "sslEnabled": True,
        },
        "billingAddress": {
            "id": s.gid("ShopAddress", events.shop_id(shop)),
            "address1": rest["address1"],
            "address2": None,
            "city": rest["city"],
            "province": rest["province"],
            "provinceCode": rest["province_code"],
            "country": rest["country_name"],
            "countryCodeV2": rest["country_code"],
            "zip": rest["zip"],
            "phone": None,
            "company": None,
        },
        "timezoneAbbreviation": "EST",
        "timezoneOffset": "-0500",
        "timezoneOffsetMinutes": -300,
        "weightUnit": "KILOGRAMS",
        "taxesIncluded": rest["taxes_included"],
        "taxShipping": False,
        "setupRequired": rest["setup_required"],
        "checkoutApiSupported": rest["checkout_api_supported"],
        "shopOwnerName": rest["shop_owner"],
        "enabledPresentmentCurrencies": [currency],
        "currencyFormats": {
            "moneyFormat": rest["money_format"],
            "moneyWithCurrencyFormat": f"${{{{amount}}}} {currency}",
            "moneyInEmailsFormat": rest["money_in_emails_format"],
            "moneyWithCurrencyInEmailsFormat": f"${{{{amount}}}} {currency}",
        },
        "createdAt": s.gql_time(shop.store.dataset.anchor - shop.store.dataset.span),
        "updatedAt": s.gql_time(shop.store.dataset.anchor - shop.store.dataset.span),
    }


def installation_node(shop: Shop, scopes: set[str], api_key: str) -> dict[str, Any]:
    return {
        "id": s.gid("AppInstallation", events.shop_id(shop)),
        "accessScopes": [{"handle": scope, "description": None} for scope in sorted(scopes)],
        "app": {
            "id": s.gid("App", 580111),
            "title": "crm-connector sandbox app",
            "handle": "crm-connector",
            "apiKey": api_key,
        },
        "launchUrl": f"https://admin.shopify.com/store/{shop.domain.split('.')[0]}/apps/crm-connector",
        "uninstallUrl": None,
    }
