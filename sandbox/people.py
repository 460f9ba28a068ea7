"""The people every store of a seed draws its shoppers from: names, e-mail, a phone in
one of eight regions, consent; and how each platform writes their e-mail and phone (the
same person typed differently, which identity resolution must see through).
"""

from __future__ import annotations

import functools
import random
from typing import Any

FIRST = [
    "Ada",
    "Alan",
    "Amara",
    "Ana",
    "Arjun",
    "Ben",
    "Bianca",
    "Carlos",
    "Chen",
    "Chloe",
    "Dara",
    "David",
    "Elena",
    "Emeka",
    "Eva",
    "Farah",
    "Felix",
    "Grace",
    "Hana",
    "Hugo",
    "Ines",
    "Isaac",
    "Ivy",
    "Jamal",
    "Jin",
    "Julia",
    "Kai",
    "Kenji",
    "Lara",
    "Leo",
    "Lina",
    "Luca",
    "Maya",
    "Mei",
    "Mila",
    "Nadia",
    "Noah",
    "Nora",
    "Omar",
    "Oscar",
    "Priya",
    "Quinn",
    "Rafael",
    "Rosa",
    "Sami",
    "Sara",
    "Sofia",
    "Tariq",
    "Tess",
    "Uma",
    "Victor",
    "Wen",
    "Yara",
    "Yusuf",
    "Zoe",
]
LAST = [
    "Abe",
    "Acosta",
    "Adeyemi",
    "Bauer",
    "Becker",
    "Brown",
    "Castro",
    "Chen",
    "Costa",
    "Diaz",
    "Dubois",
    "Evans",
    "Fischer",
    "Garcia",
    "Gomez",
    "Haddad",
    "Hansen",
    "Ito",
    "Jansen",
    "Kato",
    "Khan",
    "Kim",
    "Kowalski",
    "Lee",
    "Lopez",
    "Martin",
    "Meyer",
    "Moreau",
    "Murphy",
    "Nakamura",
    "Nguyen",
    "Novak",
    "Okafor",
    "Olsen",
    "Park",
    "Patel",
    "Perez",
    "Rossi",
    "Sato",
    "Schmidt",
    "Silva",
    "Singh",
    "Smith",
    "Suzuki",
    "Tanaka",
    "Taylor",
    "Wagner",
    "Wang",
    "Weber",
    "Wilson",
    "Yilmaz",
    "Zhang",
]
MAIL_DOMAINS = ("example.com", "example.org", "example.net", "mail.example.com")
# country, region code, region name, city, calling code, area code, subscriber digits, national format
REGIONS = (
    ("US", "KY", "Kentucky", "Louisville", "1", "502", 7, "({area}) {s:.3}-{rest}"),
    ("US", "CA", "California", "San Jose", "1", "408", 7, "{area}-{s:.3}-{rest}"),
    ("US", "NY", "New York", "Buffalo", "1", "716", 7, "{area}.{s:.3}.{rest}"),
    ("CA", "ON", "Ontario", "Ottawa", "1", "613", 7, "{area} {s:.3} {rest}"),
    ("GB", "ENG", "England", "Leeds", "44", "113", 7, "0{area} {s:.3} {rest}"),
    ("DE", "BE", "Berlin", "Berlin", "49", "30", 8, "0{area} {s}"),
    ("FR", "IDF", "Ile-de-France", "Paris", "33", "1", 8, "0{area} {s:.2} {rest}"),
    ("AU", "NSW", "New South Wales", "Sydney", "61", "2", 8, "(0{area}) {s:.4} {rest}"),
)


@functools.lru_cache(maxsize=65536)
def person_record(seed: int, p: int) -> dict[str, Any]:
    r = random.Random(f"{seed}:person:{p}")
    first, last = r.choice(FIRST), r.choice(LAST)
    region = r.randrange(len(REGIONS))
    width = REGIONS[region][6]
    first_digits = {"AU": (8, 10), "GB": (2, 5)}.get(REGIONS[region][0], (2, 10))  # valid local ranges
    digits = str(r.randrange(*first_digits))
    digits += "".join(str(r.randrange(10)) for _ in range(width - 1))
    return {
        "number": p,
        "first_name": first,
        "last_name": last,
        "email": f"{first}.{last}.{p}@{r.choice(MAIL_DOMAINS)}".lower(),
        "region": region,
        "digits": digits,
        "email_consent": r.choice(("subscribed", "not_subscribed", "not_subscribed", "unsubscribed")),
        "sms_consent": r.choice(("subscribed", "not_subscribed", "not_subscribed")),
        "has_phone": r.random() < 0.8,
    }


def phone_written(person: dict[str, Any], platform: str) -> str | None:
    """The same number as E.164 on Shopify; on WooCommerce, as people type it into a
    checkout: in the national format, or (one person in three) international with spaces."""
    if not person["has_phone"]:
        return None
    _c, _r, _n, _city, calling, area, _w, national = REGIONS[person["region"]]
    d = person["digits"]
    if platform == "shopify":
        return f"+{calling}{area}{d}"
    cut = 2 if national.count("{s:.2}") else 4 if "{s:.4}" in national else 3
    if person["number"] % 3 == 1:
        return f"+{calling} {area} {d[:cut]} {d[cut:]}"
    return national.format(area=area, s=d, rest=d[cut:])


def email_written(person: dict[str, Any], platform: str) -> str:
    """The same address, as typed: lower case on Shopify; on WooCommerce one person in four
    capitalises their name and one in four types the whole address in capitals. A mailbox
    is the same whatever its case (identity resolution compares it normalised)."""
    email = str(person["email"])
    if platform == "shopify":
        return email
    local, _, domain = email.partition("@")
    style = person["number"] % 4
    if style == 1:
        return f"{'.'.join(part.capitalize() for part in local.split('.'))}@{domain.capitalize()}"
    if style == 2:
        return email.upper()
    return email
