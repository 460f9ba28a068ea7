"""Chart specs: what each dashboard chart plots, built from the read models the page already
shows. A spec is plain data (title, labels, series of numbers, the currency its values are
in, a one-sentence summary); `templates/chart.html` writes it into the page as JSON with a
table of the same figures, and `static/charts.js` draws it with the vendored Chart.js.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from connector.web import words

MAX_SERIES = 6  # more lines than this no one can tell apart: the rest is summed as "other"
MAX_BARS = 12


def spec(
    chart_id: str,
    title: str,
    labels: list[str],
    series: list[tuple[str, list[float]]],
    *,
    currency: str | None = None,
    kind: str = "bar",
    stacked: bool = False,
    horizontal: bool = False,
) -> dict[str, Any]:
    total = sum(sum(values) for _name, values in series)
    shown = f"{total:,.2f} {currency}" if currency else f"{total:,.0f}"
    return {
        "id": chart_id,
        "title": title,
        "labels": labels,
        "series": [{"name": name, "values": values} for name, values in series],
        "currency": currency,
        "kind": kind,
        "stacked": stacked,
        "horizontal": horizontal,
        "summary": f"{len(labels)} {'bars' if kind == 'bar' else 'points'}, {shown} in all"
        if labels
        else "no data in this period",
    }


def _num(value: Any) -> float:
    return float(Decimal(str(value or 0)))


def _capped(rows: dict[str, list[float]]) -> list[tuple[str, list[float]]]:
    """The biggest series by total, the rest summed into one named "other"."""
    ranked = sorted(rows.items(), key=lambda kv: (-sum(kv[1]), kv[0]))
    kept, rest = ranked[: MAX_SERIES - 1], ranked[MAX_SERIES - 1 :]
    if len(rest) == 1:
        return kept + rest
    if rest:
        kept.append(("other", [sum(col) for col in zip(*(v for _n, v in rest), strict=True)]))
    return kept


def overview(data: dict[str, Any]) -> list[dict[str, Any]]:
    out = [
        spec(
            f"overview-revenue-{i}",
            f"Revenue by channel, {block['currency'] or 'no currency'}",
            block["labels"],
            _capped(
                {
                    words.channel_name(ch["channel"]): [_num(v) for v in ch["values"]]
                    for ch in block["channels"]
                }
            ),
            currency=block["currency"],
            stacked=True,
        )
        for i, block in enumerate(data["revenue_by_channel"])
    ]
    nvr = data["new_vs_returning"]
    out.append(
        spec(
            "overview-customers",
            "New and returning customers",
            nvr["labels"],
            [("new", [float(n) for n in nvr["new"]]), ("returning", [float(n) for n in nvr["returning"]])],
            stacked=True,
        )
    )
    return out


def channels(report: dict[str, Any]) -> list[dict[str, Any]]:
    by_currency: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for row in report["channels"]:
        by_currency[row["currency"]].append(row)
    return [
        spec(
            f"channel-chart-{i}",
            f"Revenue by channel, {currency or 'no currency'}",
            [words.channel_name(r["channel"]) for r in rows],
            [("revenue", [_num(r["revenue"]) for r in rows])],
            currency=currency,
            horizontal=True,
        )
        for i, (currency, rows) in enumerate(sorted(by_currency.items(), key=lambda kv: str(kv[0])))
    ]


def sales(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Revenue and units by region and period, per currency (regions beyond five summed)."""
    periods = sorted({r["period"] for r in data["rows"]})
    place = {p: i for i, p in enumerate(periods)}
    revenue: dict[Any, dict[str, list[float]]] = defaultdict(dict)
    units: dict[str, list[float]] = {}
    for r in data["rows"]:
        region = ", ".join(x for x in (r["region"], r["country"]) if x) or "unknown"
        cell = revenue[r["currency"]].setdefault(region, [0.0] * len(periods))
        cell[place[r["period"]]] += _num(r["revenue"])
        units.setdefault(region, [0.0] * len(periods))[place[r["period"]]] += r["units"] or 0
    out = [
        spec(
            f"sales-revenue-{i}",
            f"Revenue by region and {data['period']}, {currency or 'no currency'}",
            periods,
            _capped(rows),
            currency=currency,
            stacked=True,
        )
        for i, (currency, rows) in enumerate(sorted(revenue.items(), key=lambda kv: str(kv[0])))
    ]
    out.append(
        spec("sales-units", f"Units by region and {data['period']}", periods, _capped(units), stacked=True)
    )
    return out


def cover(covers: list[Any]) -> dict[str, Any]:
    """The products with the fewest days of stock left (those that sell at all)."""
    selling = sorted((c for c in covers if c.cover_days is not None), key=lambda c: c.cover_days)[:MAX_BARS]
    return spec(
        "stock-cover",
        "Days of stock left at the last 30 days' rate (fewest first)",
        [c.title or str(c.product_id) for c in selling],
        [("days of cover", [round(c.cover_days, 1) for c in selling])],
        horizontal=True,
    )


def segments(rows: list[dict[str, Any]], domains: dict[int, str]) -> list[dict[str, Any]]:
    """Contacts per segment (one series per store) and spend per segment per currency."""
    names = sorted({r["segment"] for r in rows})
    place = {n: i for i, n in enumerate(names)}
    sizes: dict[str, list[float]] = {}
    spend: dict[Any, dict[str, list[float]]] = defaultdict(dict)
    for r in rows:
        store = domains.get(r["store_id"], str(r["store_id"]))
        sizes.setdefault(store, [0.0] * len(names))[place[r["segment"]]] += r["contacts"]
        spend[r["currency"]].setdefault(store, [0.0] * len(names))[place[r["segment"]]] += _num(r["spend"])
    labels = [words.segment_name(n) for n in names]
    out = [spec("segment-sizes", "Contacts per segment", labels, list(sizes.items()), stacked=True)]
    out += [
        spec(
            f"segment-spend-{i}",
            f"Spend per segment, {currency or 'no currency'}",
            labels,
            list(by_store.items()),
            currency=currency,
            stacked=True,
        )
        for i, (currency, by_store) in enumerate(sorted(spend.items(), key=lambda kv: str(kv[0])))
    ]
    return out


def contact_orders(months: list[dict[str, Any]]) -> dict[str, Any]:
    return spec(
        "contact-orders",
        "Orders per month, every store",
        [m["month"] for m in months],
        [(store, [float(m["orders"].get(store, 0)) for m in months]) for store in _stores_of(months)],
        stacked=True,
    )


def _stores_of(months: list[dict[str, Any]]) -> list[str]:
    return sorted({s for m in months for s in m["orders"]})
