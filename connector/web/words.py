"""The words a merchant reads instead of the codes the CRM keeps: segment names with a
one-line definition each, sales-channel names, consent states, and other status codes
(`draft_manual`, `not_subscribed`, `partially_refunded`) as plain words. A code nobody
named here is shown with its underscores as spaces, never hidden.
"""

from __future__ import annotations

from typing import Any

# insights.SEGMENTS → (name, what puts a contact there). Scores run 1-5 within the store:
# recency (R) of the last order, and FM, the mean of frequency and money spent.
SEGMENTS = {
    "champions": (
        "Champions",
        "Bought recently (R 4 to 5), often and for a lot (FM 4 to 5): your best customers.",
    ),
    "new_customers": ("New customers", "Bought recently (R 4 to 5), for the first time."),
    "potential_loyalists": (
        "Potential loyalists",
        "Bought recently (R 4 to 5) and more than once, not yet for a lot.",
    ),
    "loyal": ("Loyal", "Buy often or for a lot (FM 3 to 5); last order a while ago (R 3)."),
    "need_attention": ("Need attention", "Last order a while ago (R 3), rarely and for little (FM 1 to 2)."),
    "cant_lose": (
        "Can't lose them",
        "Bought often and for a lot (FM 4 to 5), but not for a long time (R 1).",
    ),
    "at_risk": ("At risk", "Bought often or for a lot (FM 3 to 5), but long ago (R 1 to 2)."),
    "hibernating": ("Hibernating", "Last order long ago (R 2), rarely and for little (FM 1 to 2)."),
    "lost": ("Lost", "Last order longest ago (R 1), rarely and for little (FM 1 to 3)."),
}
CHANNELS = {
    "online_store": "Online store",
    "pos": "Point of sale",
    "mobile_app": "Mobile app",
    "marketplace": "Marketplace",
    "social": "Social",
    "draft_manual": "Draft / phone / manual",
    "api_other": "API and other",
}
CONSENT = {  # crm.consent's states
    "subscribed": "subscribed",
    "not_subscribed": "not subscribed (never said yes)",
    "unsubscribed": "unsubscribed (said no)",
    "pending": "waiting for confirmation",
}


def segment_name(code: Any) -> str:
    if not code:
        return "not scored yet"
    return SEGMENTS.get(str(code), (code_words(code), ""))[0]


def segment_definition(code: Any) -> str:
    if not code:
        return "Scores are refreshed every hour, once the contact has an order."
    return SEGMENTS.get(str(code), ("", ""))[1]


def channel_name(code: Any) -> str:
    return CHANNELS.get(str(code), code_words(code)) if code else "unknown channel"


def consent_words(state: Any) -> str:
    return CONSENT.get(str(state), code_words(state)) if state else "unknown"


def code_words(code: Any) -> str:
    """Any other code as words: "partially_refunded" → "partially refunded"."""
    return str(code or "").replace("_", " ").strip()
