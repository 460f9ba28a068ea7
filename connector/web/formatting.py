"""Numbers, money and times for people, per locale (Babel): grouped numbers, money with its
currency, percentages, times relative to now with the exact moment beside, human durations
for an ETA, and counted nouns ("1 order", "2 orders"). The locale is the browser's first
supported choice (Accept-Language), English otherwise; exact times are shown in the
merchant's time zone (CONNECTOR_TIME_ZONE), labelled with it.
Registered as Jinja filters by `init_app`; every filter takes what the read models give
(Decimal or its string, ISO 8601 text or datetime, None) and shows nothing for None.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError
from babel.dates import format_datetime, format_timedelta
from babel.numbers import format_currency, format_decimal, format_percent
from flask import Flask, current_app, has_app_context, has_request_context, request

from connector.context import settings_of
from connector.db.types import utcnow
from connector.web import words

LOCALES = ("en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL", "pt_BR", "ja_JP")
DEFAULT_LOCALE = "en_US"


def locale() -> str:
    """The request's best supported locale (Accept-Language), or English (US)."""
    if not has_request_context():
        return DEFAULT_LOCALE
    wanted = request.accept_languages.best_match([code.replace("_", "-") for code in LOCALES])
    return (wanted or DEFAULT_LOCALE).replace("-", "_")


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        return None


def number(value: Any, digits: int | None = None) -> str:
    """1234567 → "1,234,567" (en) or "1.234.567" (de); `digits` fixes the decimals."""
    amount = _decimal(value)
    if amount is None:
        return ""
    pattern = None if digits is None else "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(amount, format=pattern, locale=locale())


def money(value: Any, currency: str | None) -> str:
    """31018.83, "USD" → "$31,018.83" (en_US), "31.018,83 $" (de_DE); no currency, the number."""
    amount = _decimal(value)
    if amount is None:
        return ""
    if not currency:
        return number(amount, 2)
    if not (len(currency) == 3 and currency.isascii() and currency.isalpha()):  # not an ISO 4217 code
        return f"{number(amount, 2)} {currency}"
    try:
        return format_currency(amount, currency, locale=locale())
    except (UnknownLocaleError, ValueError):
        return f"{number(amount, 2)} {currency}"


def percent(value: Any) -> str:
    """0.623 → "62%"."""
    share = _decimal(value)
    return "" if share is None else format_percent(share, locale=locale())


def moment(value: Any) -> datetime | None:
    """An ISO 8601 string or a datetime, as an aware UTC datetime (None if it is neither)."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def time_zone() -> ZoneInfo:
    """The merchant's time zone (CONNECTOR_TIME_ZONE), UTC outside an app."""
    return ZoneInfo(settings_of(current_app).time_zone if has_app_context() else "UTC")


def zone_named(name: str | None) -> ZoneInfo:
    """A store's own IANA zone (checked when it was stored; checked again), else the merchant's."""
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return time_zone()


def exact(value: Any, zone_name: str | None = None) -> str:
    """The moment in full, in the store's time zone when one is given (`zone_name`), else the
    merchant's (CONNECTOR_TIME_ZONE): "Dec 1, 2026, 7:43 PM CET"."""
    at = moment(value)
    if at is None:
        return ""
    zone = zone_named(zone_name)
    if zone.key == "UTC":
        return format_datetime(at.astimezone(UTC), "medium", tzinfo=UTC, locale=locale()) + " UTC"
    local = at.astimezone(zone)
    shown = format_datetime(local, "medium", tzinfo=zone, locale=locale())
    return f"{shown} {local.tzname() or zone.key}"


def ago(value: Any) -> str:
    """Relative to now: "3 minutes ago", "in 2 hours"."""
    at = moment(value)
    if at is None:
        return ""
    return format_timedelta(at - utcnow(), add_direction=True, threshold=1.0, locale=locale())


def duration(seconds: Any) -> str:
    """An ETA in words: 90 → "2 minutes", 5 → "5 seconds"."""
    value = _decimal(seconds)
    if value is None:
        return ""
    return format_timedelta(timedelta(seconds=float(value)), threshold=1.0, locale=locale())


def counted(n: Any, noun: str, nouns: str | None = None) -> str:
    """A number and its noun agreeing: 1 order, 2 orders, 1,250 orders."""
    amount = _decimal(n) or Decimal(0)
    return f"{number(amount)} {noun if amount == 1 else nouns or noun + 's'}"


def language() -> str:
    """The page's `lang` attribute for the chosen locale."""
    try:
        return str(Locale.parse(locale()).language)
    except (ValueError, UnknownLocaleError):
        return "en"


def init_app(app: Flask) -> None:
    filters: dict[str, Callable[..., str]] = {
        "number": number,
        "money": money,
        "percent": percent,
        "exact": exact,
        "ago": ago,
        "duration": duration,
        "counted": counted,
        "segment_name": words.segment_name,
        "segment_definition": words.segment_definition,
        "channel_name": words.channel_name,
        "consent_words": words.consent_words,
        "code_words": words.code_words,
    }
    for name, function in filters.items():
        app.add_template_filter(function, name)
    app.add_template_global(language, "page_language")
