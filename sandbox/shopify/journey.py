"""An order's customer journey as Shopify answers it: the summary (`customerJourneySummary`)
and the deprecated `customerJourney` beside it, whose moments are the visits; each visit also
carries its landing page as a link in HTML and a description of its source in words."""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import urlsplit


def journey_fields(node: dict[str, Any]) -> dict[str, Any]:
    summary = node.get("customerJourneySummary")
    if not summary:
        return {"customerJourney": None}
    visit = described(summary["firstVisit"])
    return {
        "customerJourneySummary": {**summary, "firstVisit": visit, "lastVisit": visit},
        "customerJourney": {
            "customerOrderIndex": summary["customerOrderIndex"],
            "daysToConversion": summary["daysToConversion"],
            "firstVisit": visit,
            "lastVisit": visit,
            "moments": [visit],
        },
    }


def described(visit: dict[str, Any]) -> dict[str, Any]:
    page = visit["landingPage"]
    shown = html.escape(page.split("://", 1)[-1])
    return {
        **visit,
        "__typename": "CustomerVisit",
        "landingPageHtml": f'<a href="{html.escape(page)}" target="_blank">{shown}</a>' if page else None,
        "sourceDescription": source_description(visit),
    }


def source_description(visit: dict[str, Any]) -> str:
    utm = visit.get("utmParameters") or {}
    if utm.get("source"):
        return f"{utm['source'].replace('_', ' ').title()} ({utm.get('medium') or 'link'})"
    if visit.get("referrerUrl"):
        return f"Referral from {urlsplit(visit['referrerUrl']).hostname}"
    return "Direct"
