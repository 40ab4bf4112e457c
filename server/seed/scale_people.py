"""The bulk seeder's people, generated in Python chunk by chunk and loaded with COPY.

Customer `k` (1-based) has number `k`; its participants and additional user have ids derived
from `k`, so each chunk can be generated on its own, from a generator seeded by the slug and the
chunk. What history generation in SQL needs to know about a person goes into the temporary
table `seed_people`, keyed by the customer's position among primary customers.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from server.seed.ids import seeded_uuid
from server.seed.people import (
    CHILD_NAMES,
    CONSENT_WORDING,
    EMAIL_DOMAINS,
    FIRST_NAMES,
    LAST_NAMES,
    demo_password_hash,
    email_local_part,
    mobile,
)

# Kinds in seeded ids (the 16 bits after the business prefix).
K_CUSTOMER, K_PARTICIPANT, K_ADDITIONAL_USER, K_CONSENT = 1, 2, 3, 4
CHILD_SLOTS = 4  # participant ids are k * 4 + slot: 0 the customer themselves, 1-3 children

CUSTOMER_COLUMNS = (
    "id",
    "business_id",
    "number",
    "first_name",
    "last_name",
    "email",
    "mobile",
    "password_hash",
    "status",
    "archived_at",
    "merged_into_id",
    "origin",
    "category",
    "app_access_enabled",
    "marketing_consent",
    "created_at",
    "updated_at",
)
PARTICIPANT_COLUMNS = (
    "id",
    "business_id",
    "customer_id",
    "is_self",
    "first_name",
    "last_name",
    "date_of_birth",
    "email",
    "mobile",
    "created_at",
    "updated_at",
)
ADDITIONAL_USER_COLUMNS = (
    "id",
    "business_id",
    "customer_id",
    "number",
    "first_name",
    "last_name",
    "email",
    "mobile",
    "password_hash",
    "marketing_consent",
    "created_at",
    "updated_at",
)
LOGIN_EMAIL_COLUMNS = ("business_id", "email_key", "customer_id", "additional_user_id")
CONSENT_COLUMNS = (
    "id",
    "business_id",
    "customer_id",
    "additional_user_id",
    "granted",
    "source",
    "wording",
    "created_at",
)
SEED_PEOPLE_COLUMNS = (
    "idx",
    "cid",
    "cname",
    "p1",
    "p1name",
    "p2",
    "p2name",
    "au",
    "auname",
)
SEED_PEOPLE_TABLE = """
    CREATE TEMP TABLE seed_people (
        idx integer PRIMARY KEY, cid uuid NOT NULL, cname text NOT NULL,
        p1 uuid NOT NULL, p1name text NOT NULL, p2 uuid, p2name text, au uuid, auname text
    ) ON COMMIT DROP
"""
MERGE_EVERY = 2000  # customer k with k % MERGE_EVERY == 7 was merged into customer k - 1
_ORIGINS = ("STAFF", "SERVICE", "PORTAL_SIGNUP")
_ORIGIN_WEIGHTS = (55, 10, 35)
_CONSENT_SOURCE = {"STAFF": "STAFF", "SERVICE": "IMPORT", "PORTAL_SIGNUP": "SIGN_UP"}

Record = tuple[Any, ...]


@dataclass(frozen=True)
class PeopleSettings:
    business_id: uuid.UUID
    prefix: int
    slug: str
    country: str
    anchor: datetime
    history_start: datetime  # primary customers joined before it, so history follows sign-up


@dataclass
class PeopleChunk:
    """Rows for a range of customers. `primary` holds the `seed_people` rows of those with
    history, without their position, which is given as chunks are loaded in order."""

    customers: list[Record] = field(default_factory=list)
    participants: list[Record] = field(default_factory=list)
    additional_users: list[Record] = field(default_factory=list)
    login_emails: list[Record] = field(default_factory=list)
    consents: list[Record] = field(default_factory=list)
    primary: list[Record] = field(default_factory=list)


def is_merged(k: int) -> bool:
    return k % MERGE_EVERY == 7


def build_chunk(settings: PeopleSettings, first: int, last: int) -> PeopleChunk:
    """Customers `first..last` (inclusive) and everything that belongs to them."""
    rng = random.Random(f"scale:{settings.slug}:{first}")
    chunk = PeopleChunk()
    for k in range(first, last + 1):
        _add_customer(settings, rng, chunk, k)
    return chunk


def _add_customer(s: PeopleSettings, rng: random.Random, chunk: PeopleChunk, k: int) -> None:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    origin = rng.choices(_ORIGINS, _ORIGIN_WEIGHTS)[0]
    merged = is_merged(k)
    primary = not merged and rng.random() < 0.8
    cid = seeded_uuid(s.prefix, K_CUSTOMER, k)
    if primary:
        created = s.history_start - timedelta(days=2 + rng.random() * 730)
    else:
        created = s.anchor - timedelta(days=1 + rng.random() * 1100)
    archived_at = None
    # A merge target stays active (merging into an archived customer is refused).
    if merged or (rng.random() < 0.03 and not is_merged(k + 1)):
        archived_at = created + (s.anchor - created) * (0.5 + rng.random() / 2)
    has_email = origin == "PORTAL_SIGNUP" or rng.random() < 0.95
    email = None
    if has_email:
        email = f"{email_local_part(first, last)}.{k}@{rng.choice(EMAIL_DOMAINS)}"
    phone = mobile(rng, s.country) if rng.random() < 0.85 else None
    consent = rng.random() < 0.4
    category = "PRIMARY" if primary else ("APP_USER" if origin == "PORTAL_SIGNUP" else "LEAD")
    chunk.customers.append(
        (
            cid,
            s.business_id,
            k,
            first,
            last,
            email,
            phone,
            demo_password_hash() if origin == "PORTAL_SIGNUP" or rng.random() < 0.3 else None,
            "ARCHIVED" if archived_at else "ACTIVE",
            archived_at,
            seeded_uuid(s.prefix, K_CUSTOMER, k - 1) if merged else None,
            origin,
            category,
            rng.random() < 0.98,
            consent,
            created,
            created + (s.anchor - created) * rng.random(),
        )
    )
    if email:
        chunk.login_emails.append((s.business_id, email.lower(), cid, None))
    if consent:
        chunk.consents.append(
            (
                seeded_uuid(s.prefix, K_CONSENT, k),
                s.business_id,
                cid,
                None,
                True,
                _CONSENT_SOURCE[origin],
                CONSENT_WORDING,
                created,
            )
        )
    attendees = _add_participants(s, rng, chunk, k, (first, last, email, phone, created), primary)
    au = _add_additional_user(s, rng, chunk, k, last, created) if rng.random() < 0.05 else None
    if primary:
        (p1, p1name), second = attendees[0], attendees[1] if len(attendees) > 1 else (None, None)
        chunk.primary.append((cid, f"{first} {last}", p1, p1name, *second, *(au or (None, None))))


def _add_participants(
    s: PeopleSettings,
    rng: random.Random,
    chunk: PeopleChunk,
    k: int,
    customer: tuple[str, str, str | None, str | None, datetime],
    primary: bool,
) -> list[tuple[uuid.UUID, str]]:
    """About 1.3 per customer: most attend themselves, some book for one or two children."""
    first, last, email, phone, created = customer
    children = rng.choice((1, 1, 2)) if rng.random() < 0.3 else 0
    is_self = rng.random() < 0.75 or (primary and children == 0)
    people: list[tuple[uuid.UUID, str]] = []
    cid = seeded_uuid(s.prefix, K_CUSTOMER, k)
    if is_self:
        pid = seeded_uuid(s.prefix, K_PARTICIPANT, k * CHILD_SLOTS)
        chunk.participants.append(
            (pid, s.business_id, cid, True, first, last, None, email, phone, created, created)
        )
        people.append((pid, f"{first} {last}"))
    for slot in range(1, children + 1):
        pid = seeded_uuid(s.prefix, K_PARTICIPANT, k * CHILD_SLOTS + slot)
        name = rng.choice(CHILD_NAMES)
        born = _birthday(rng, s.anchor.date())
        chunk.participants.append(
            (pid, s.business_id, cid, False, name, last, born, None, None, created, created)
        )
        people.append((pid, f"{name} {last}"))
    return people


def _birthday(rng: random.Random, today: date) -> date:
    return today - timedelta(days=rng.randrange(3 * 365, 16 * 365))


def _add_additional_user(
    s: PeopleSettings,
    rng: random.Random,
    chunk: PeopleChunk,
    k: int,
    last: str,
    created: datetime,
) -> tuple[uuid.UUID, str]:
    """A partner with their own login. The number is filled in when chunks are loaded, in
    order, so that numbers are dense."""
    first = rng.choice(FIRST_NAMES)
    aid = seeded_uuid(s.prefix, K_ADDITIONAL_USER, k)
    email = f"{email_local_part(first, last)}.u{k}@{rng.choice(EMAIL_DOMAINS)}"
    consent = rng.random() < 0.4
    chunk.additional_users.append(
        (
            aid,
            s.business_id,
            seeded_uuid(s.prefix, K_CUSTOMER, k),
            0,
            first,
            last,
            email,
            mobile(rng, s.country),
            demo_password_hash(),
            consent,
            created,
            created,
        )
    )
    chunk.login_emails.append((s.business_id, email.lower(), None, aid))
    if consent:
        chunk.consents.append(
            (
                seeded_uuid(s.prefix, K_CONSENT, k + (1 << 40)),
                s.business_id,
                None,
                aid,
                True,
                "MEMBER_PORTAL",
                CONSENT_WORDING,
                created,
            )
        )
    return aid, f"{first} {last}"
