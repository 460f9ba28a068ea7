"""The demo summary's Overview lines: the dashboard Overview's figures for its 12-month
preset (`queries.overview`, the very read model the page and `/api/v1/overview` use),
written for a terminal: revenue, orders and average order per currency, new and returning.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from connector.web import formatting
from connector.web.queries.overview import overview

PERIOD = "12m"


def overview_lines(session: Session, account_id: int) -> list[str]:
    seen = overview(session, account_id, {"period": PERIOD})
    period, people = seen["period"], seen["customers"]
    lines = [f"  overview, {period['from']} to {period['to']} (the dashboard's Overview, 12 months):"]
    lines += [
        f"    {formatting.money(m['revenue']['value'], m['currency'])} revenue from "
        f"{formatting.counted(m['orders']['value'], 'order')}, average order "
        f"{formatting.money(m['average_order_value']['value'], m['currency'])}"
        for m in seen["money"]
    ]
    lines.append(
        f"    {formatting.counted(people['new']['value'], 'new customer')}, "
        f"{formatting.counted(people['returning']['value'], 'returning customer')}"
    )
    return lines
