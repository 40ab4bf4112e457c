"""Names, e-mail addresses, mobiles and the demo password shared by both seeders.

The names carry accents on purpose: sorting and search fold them, and the data should make that
visible. E-mail addresses are ASCII so that `lower(email)` (the login namespace) and the folded
search key agree.
"""

from __future__ import annotations

import functools
import random
import unicodedata

from argon2 import low_level

FIRST_NAMES = (
    "José",
    "Zoë",
    "Siobhán",
    "Łukasz",
    "Renée",
    "Chloé",
    "Björn",
    "Agnès",
    "Íñigo",
    "Søren",
    "Małgorzata",
    "Oisín",
    "Aoife",
    "Niamh",
    "Seán",
    "Ciarán",
    "Élodie",
    "François",
    "Jürgen",
    "Joaquín",
    "Zoltán",
    "Ayşe",
    "Dagný",
    "Noémie",
    "Bartłomiej",
    "Amelia",
    "Oliver",
    "Olivia",
    "Jack",
    "Isla",
    "Harry",
    "Emily",
    "George",
    "Ava",
    "Noah",
    "Sophie",
    "Liam",
    "Grace",
    "Ethan",
    "Mia",
    "Lucas",
    "Freya",
    "Priya",
    "Mohammed",
    "Fatima",
    "Hannah",
    "Daniel",
    "Ella",
    "Samuel",
    "Ruby",
    "Thomas",
    "Lily",
    "James",
    "Chloe",
    "Ben",
    "Maya",
    "Adam",
    "Erin",
)
LAST_NAMES = (
    "García",
    "Müller",
    "Ní Bhriain",
    "Nowak",
    "Lefèvre",
    "O'Connor",
    "Smith",
    "Goldsmith",
    "Jones",
    "Williams",
    "Brown",
    "Taylor",
    "Davies",
    "Evans",
    "Wilson",
    "Murphy",
    "Kelly",
    "O'Sullivan",
    "Walsh",
    "Byrne",
    "Ó Ceallaigh",
    "Kowalski",
    "Wiśniewska",
    "Dvořák",
    "Gómez",
    "Núñez",
    "Søndergaard",
    "Çelik",
    "Brontë",
    "Smyth",
    "MacDonald",
    "Patel",
    "Khan",
    "Nguyễn",
    "Johnson",
    "Roberts",
    "Walker",
    "Wright",
    "Thompson",
    "White",
    "Hughes",
    "Edwards",
    "Green",
    "Hall",
    "Wood",
    "Harris",
    "Lewis",
    "Martin",
    "Jackson",
    "Clarke",
    "Doyle",
    "McCarthy",
)
CHILD_NAMES = (
    "Éabha",
    "Saoirse",
    "Tadhg",
    "Cillian",
    "Zoë",
    "Matéo",
    "Léa",
    "Oscar",
    "Poppy",
    "Alfie",
    "Isabella",
    "Arthur",
    "Evie",
    "Leo",
    "Florence",
    "Theo",
    "Ivy",
    "Finn",
    "Rosie",
    "Max",
)
EMAIL_DOMAINS = ("example.com", "example.org", "example.net", "mail.example.com")

# Letters NFKD does not decompose into a base letter plus a mark.
_SPECIAL_LETTERS = str.maketrans(
    {
        "Ł": "L",
        "ł": "l",
        "Ø": "O",
        "ø": "o",
        "Đ": "D",
        "đ": "d",
        "ß": "ss",
        "Æ": "AE",
        "æ": "ae",
        "Œ": "OE",
        "œ": "oe",
        "Þ": "Th",
        "þ": "th",
        "ı": "i",
    }
)

# Valid mobile ranges according to libphonenumber (07700 900xxx, the UK's drama range, is not).
_GB_MOBILE_PREFIXES = ("74", "75", "78")
_IE_MOBILE_PREFIXES = ("83", "85", "86", "87", "89")

CONSENT_WORDING = "Yes, send me news, offers and class updates by email and SMS."

# Every seeded person who may log in gets this password; it meets the product's password rule.
DEMO_PASSWORD = "Demo-Studio-2026!"


def ascii_fold(text: str) -> str:
    """`Siobhán Ní Bhriain` → `Siobhan Ni Bhriain`."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_SPECIAL_LETTERS))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def email_local_part(first_name: str, last_name: str) -> str:
    """`Seán`, `O'Connor` → `sean.oconnor`."""

    def clean(part: str) -> str:
        return "".join(ch for ch in ascii_fold(part).lower() if ch.isalnum())

    return ".".join(p for p in (clean(first_name), clean(last_name)) if p)


def mobile(rng: random.Random, country: str) -> str:
    """A random E.164 mobile number that libphonenumber accepts for the country."""
    if country == "IE":
        return f"+353{rng.choice(_IE_MOBILE_PREFIXES)}{rng.randrange(10**7):07d}"
    return f"+44{rng.choice(_GB_MOBILE_PREFIXES)}{rng.randrange(10**8):08d}"


@functools.cache
def demo_password_hash() -> str:
    """An argon2id hash of `DEMO_PASSWORD` with PasswordHasher's default parameters and a fixed
    salt, so that seeding twice writes the same rows."""
    encoded = low_level.hash_secret(
        DEMO_PASSWORD.encode(),
        b"seed-demo-salt-1",
        time_cost=3,
        memory_cost=65536,
        parallelism=4,
        hash_len=32,
        type=low_level.Type.ID,
    )
    return encoded.decode()
