"""The state one demo business is built in: its random generators, the moment the data is
anchored to, its catalog and every row produced so far, by table."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from models.history import CATEGORY_TABLES
from server.seed.catalog import CatalogRows, CatalogSpec, catalog_rows
from server.seed.connection import Row

# Insertion order: every table after the ones it points at.
TABLE_ORDER = (
    "businesses",
    "staff_users",
    "facilitators",
    "events",
    "sessions",
    "services",
    "pass_products",
    "videos",
    "plans",
    "questionnaires",
    "customers",
    "participants",
    "additional_users",
    "login_emails",
    "payment_methods",
    "consent_records",
    "payments",
    "customer_passes",
    "bookings",
    "appointments",
    "video_purchases",
    "customer_subscriptions",
    "questionnaire_responses",
    "notes",
    "refunds",
    "messages",
    "account_history",
)
# The column each table's rows are numbered by (the trigger numbers rows in insertion order).
CHRONOLOGY = {
    "customers": "created_at",
    "additional_users": "created_at",
    "payments": "paid_at",
    "customer_passes": "purchased_at",
    "bookings": "booked_at",
    "appointments": "booked_at",
    "video_purchases": "purchased_at",
    "customer_subscriptions": "created_at",
    "questionnaire_responses": "created_at",
    "notes": "created_at",
    "refunds": "created_at",
    "messages": "created_at",
    "account_history": "created_at",
}
HISTORY_DAYS = 425  # about 14 months
FUTURE_DAYS = 56


@dataclass(frozen=True)
class StaffMember:
    id: uuid.UUID
    name: str
    email: str
    role: str


@dataclass(frozen=True)
class BusinessSpec:
    name: str
    slug: str
    time_zone: str
    currency: str
    country: str
    stripe_account_id: str
    customers: int
    catalog: CatalogSpec
    staff: tuple[tuple[str, str, str], ...]  # (display name, email, role)
    families: bool  # customers are mostly parents booking for children


@dataclass
class Participant:
    id: uuid.UUID
    name: str
    is_self: bool


@dataclass
class AdditionalUser:
    id: uuid.UUID
    name: str


@dataclass
class Person:
    """A customer being built, with what their history needs to know about them."""

    row: Row
    participants: list[Participant] = field(default_factory=list)
    additional_users: list[AdditionalUser] = field(default_factory=list)
    passes: list[Row] = field(default_factory=list)
    primary: bool = False
    showcase: bool = False
    paid_by_card: bool = False

    @property
    def id(self) -> uuid.UUID:
        value: uuid.UUID = self.row["id"]
        return value

    @property
    def name(self) -> str:
        return f"{self.row['first_name']} {self.row['last_name']}".strip()

    @property
    def created_at(self) -> datetime:
        value: datetime = self.row["created_at"]
        return value


class DemoContext:
    """Everything one business's builders share."""

    def __init__(self, spec: BusinessSpec, anchor: datetime) -> None:
        self.spec = spec
        self.rng = random.Random(f"demo-data:{spec.slug}")
        self._id_rng = random.Random(f"demo-ids:{spec.slug}")
        self.anchor = anchor
        self.zone = ZoneInfo(spec.time_zone)
        self.tables: dict[str, list[Row]] = {table: [] for table in TABLE_ORDER}
        self.business_id = self.new_id()
        self.staff: list[StaffMember] = []
        self.people: list[Person] = []
        self.emails: set[str] = set()
        self.catalog: CatalogRows = CatalogRows()
        self.with_history: set[uuid.UUID] = set()
        self.seats: dict[uuid.UUID, int] = {}
        self.booked: set[tuple[uuid.UUID, uuid.UUID | None]] = set()

    def new_id(self) -> uuid.UUID:
        return uuid.UUID(int=self._id_rng.getrandbits(128), version=4)

    def add(self, table: str, **values: Any) -> Row:
        row: Row = dict(values)
        if table != "businesses":
            row["business_id"] = self.business_id
        if "id" not in row and table != "login_emails":
            row["id"] = self.new_id()
        if table in CATEGORY_TABLES:
            self.with_history.add(row["customer_id"])
        self.tables[table].append(row)
        return row

    def add_catalog(self) -> None:
        self.catalog = catalog_rows(
            self.business_id, self.spec.currency, self.spec.catalog, lambda _t, _i: self.new_id()
        )
        for table, rows in self.catalog.tables.items():
            self.tables[table].extend(rows)

    # Time helpers. Everything is anchored to `anchor` (midnight UTC of the seeding day) so
    # that one day's runs write the same rows and "future" sessions stay in the future.

    def between(self, start: datetime, end: datetime) -> datetime:
        if end <= start:
            return start
        seconds = int((end - start).total_seconds())
        return start + timedelta(seconds=self.rng.randrange(seconds))

    def days_ago(self, days: float) -> datetime:
        return self.anchor - timedelta(days=days)

    def local(self, day: date, hour: int, minute: int = 0) -> datetime:
        return datetime.combine(day, time(hour, minute), tzinfo=self.zone)

    def staff_member(self, role: str | None = None) -> StaffMember:
        choices = [s for s in self.staff if role is None or s.role == role]
        return self.rng.choice(choices)

    def chance(self, probability: float) -> bool:
        return self.rng.random() < probability


def anchor_now() -> datetime:
    """Midnight UTC today: the seeding day's fixed "now"."""
    today = datetime.now(UTC).date()
    return datetime.combine(today, time(0, 0), tzinfo=UTC)
