"""What the seeded businesses sell. The same shapes serve the demo (ids from a seeded random
generator) and the bulk seeder (ids it can recompute in SQL)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from server.seed.connection import Row


@dataclass(frozen=True)
class EventSpec:
    name: str
    description: str
    capacity: int
    minutes: int
    weekday: int  # 0 = Monday; the weekly slot the demo schedules
    hour: int
    price: int  # what a seat usually costs (events carry no price; bookings do)


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    minutes: int
    price: int


@dataclass(frozen=True)
class PassSpec:
    name: str
    uses: int | None  # None: unlimited
    validity_days: int | None
    price: int


@dataclass(frozen=True)
class VideoSpec:
    name: str
    price: int
    credits: int | None
    access_days: int | None  # None: no expiry


@dataclass(frozen=True)
class PlanSpec:
    name: str
    amount: int
    unit: str
    count: int


@dataclass(frozen=True)
class QuestionnaireSpec:
    name: str
    questions: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class CatalogSpec:
    facilitators: tuple[str, ...]
    events: tuple[EventSpec, ...]
    services: tuple[ServiceSpec, ...]
    passes: tuple[PassSpec, ...]
    videos: tuple[VideoSpec, ...]
    plans: tuple[PlanSpec, ...]
    questionnaires: tuple[QuestionnaireSpec, ...]


def question(
    key: str, label: str, kind: str, *, required: bool = True, options: tuple[str, ...] = ()
) -> dict[str, Any]:
    item: dict[str, Any] = {"key": key, "label": label, "type": kind, "required": required}
    if options:
        item["options"] = list(options)
    return item


HEALTH_DECLARATION = QuestionnaireSpec(
    "Health Declaration",
    (
        question("injuries", "Do you have any injuries or medical conditions?", "boolean"),
        question("injury_details", "If so, please describe them", "text", required=False),
        question("emergency_contact", "Emergency contact name and phone", "text"),
        question(
            "heard_about",
            "How did you hear about us?",
            "select",
            required=False,
            options=("Friend", "Instagram", "Google", "Walked past"),
        ),
    ),
)
CLASS_FEEDBACK = QuestionnaireSpec(
    "Class Feedback",
    (
        question(
            "rating", "How would you rate your class?", "select", options=("1", "2", "3", "4", "5")
        ),
        question("comments", "Anything we could do better?", "text", required=False),
    ),
)
CHILD_CONSENT = QuestionnaireSpec(
    "Child Medical & Consent Form",
    (
        question("allergies", "Allergies", "text"),
        question("medication", "Regular medication", "text", required=False),
        question("photo_consent", "May we photograph your child during activities?", "boolean"),
        question("emergency_contact", "Emergency contact name and phone", "text"),
    ),
)

RIVERSIDE = CatalogSpec(
    facilitators=("Aoife Brennan", "Marco Rossi", "Priya Natarajan", "Tomás Ortega"),
    events=(
        EventSpec(
            "Morning Vinyasa Flow", "An energising flow to start the day.", 18, 60, 0, 7, 1500
        ),
        EventSpec(
            "Reformer Pilates", "Small-group reformer class for all levels.", 10, 50, 1, 18, 2200
        ),
        EventSpec(
            "Salsa for Beginners", "No partner needed; just bring comfy shoes.", 24, 75, 2, 19, 1200
        ),
        EventSpec(
            "Sound Bath", "Deep relaxation with gongs and singing bowls.", 20, 60, 4, 20, 1800
        ),
        EventSpec("Barre Sculpt", "Ballet-inspired strength and tone.", 16, 45, 5, 10, 1400),
    ),
    services=(
        ServiceSpec("Private Yoga Lesson", 60, 6500),
        ServiceSpec("Sports Massage", 45, 5500),
        ServiceSpec("Physio Assessment", 30, 4000),
    ),
    passes=(
        PassSpec("10-Class Pass", 10, 90, 12000),
        PassSpec("5-Class Pass", 5, 60, 6500),
        PassSpec("Unlimited Monthly", None, 30, 9900),
        PassSpec("Intro Week Unlimited", None, 7, 2500),
    ),
    videos=(
        VideoSpec("Yoga for Runners", 1200, 1, 30),
        VideoSpec("Core Pilates Series", 2500, 2, None),
        VideoSpec("Breathwork Basics", 600, None, 14),
        VideoSpec("Hip Mobility Masterclass", 800, None, None),
    ),
    plans=(
        PlanSpec("Monthly Membership", 5900, "MONTH", 1),
        PlanSpec("Annual Membership", 59000, "YEAR", 1),
        PlanSpec("Weekly Drop-in Plan", 1500, "WEEK", 1),
    ),
    questionnaires=(HEALTH_DECLARATION, CLASS_FEEDBACK),
)

HARBOUR = CatalogSpec(
    facilitators=("Niamh O'Sullivan", "Ciarán Murphy", "Róisín Kelly"),
    events=(
        EventSpec(
            "Junior Swim Squad",
            "Stroke technique and stamina for ages 7 to 12.",
            12,
            45,
            2,
            17,
            1000,
        ),
        EventSpec(
            "Summer Adventure Camp", "Kayaking, rock-pooling and beach games.", 30, 360, 0, 9, 4500
        ),
        EventSpec("Little Explorers", "Messy play and music for under-fives.", 15, 40, 5, 10, 800),
    ),
    services=(ServiceSpec("1:1 Swim Lesson", 30, 3500),),
    passes=(
        PassSpec("Swim 8-Pack", 8, 120, 9600),
        PassSpec("Camp Week Unlimited", None, 7, 15000),
    ),
    videos=(VideoSpec("Water Safety at Home", 500, 1, 60),),
    plans=(PlanSpec("Squad Monthly", 4500, "MONTH", 1),),
    questionnaires=(CHILD_CONSENT,),
)

SCALE = CatalogSpec(
    facilitators=(
        *RIVERSIDE.facilitators,
        "Dagný Jónsdóttir",
        "Kwame Mensah",
        "Léa Fontaine",
        "Oliver Grant",
    ),
    events=(
        *RIVERSIDE.events,
        EventSpec("HIIT Express", "Thirty minutes, all out.", 40, 30, 0, 12, 900),
        EventSpec("Spin & Stretch", "Indoor cycling, then a long cool-down.", 40, 50, 3, 18, 1300),
        EventSpec(
            "Kettlebell Foundations", "Swing, clean and press with good form.", 40, 45, 6, 9, 1100
        ),
    ),
    services=RIVERSIDE.services,
    passes=RIVERSIDE.passes,
    videos=RIVERSIDE.videos,
    plans=RIVERSIDE.plans,
    questionnaires=RIVERSIDE.questionnaires,
)

IdMaker = Callable[[str, int], uuid.UUID]


@dataclass
class CatalogRows:
    """Catalog rows by table, in insertion order (facilitators and events before sessions)."""

    tables: dict[str, list[Row]] = field(default_factory=dict)

    def ids(self, table: str) -> list[uuid.UUID]:
        return [row["id"] for row in self.tables[table]]


def catalog_rows(
    business_id: uuid.UUID, currency: str, spec: CatalogSpec, make_id: IdMaker
) -> CatalogRows:
    """Rows for every catalog table except sessions. `make_id(table, index)` names each row."""

    def rows(table: str, items: list[Row]) -> list[Row]:
        return [
            {"id": make_id(table, i), "business_id": business_id, **item}
            for i, item in enumerate(items)
        ]

    money = {"currency": currency}
    return CatalogRows(
        {
            "facilitators": rows("facilitators", [{"name": n} for n in spec.facilitators]),
            "events": rows(
                "events", [{"name": e.name, "description": e.description} for e in spec.events]
            ),
            "services": rows(
                "services",
                [
                    {
                        "name": s.name,
                        "duration_minutes": s.minutes,
                        "price_amount": s.price,
                        **money,
                    }
                    for s in spec.services
                ],
            ),
            "pass_products": rows(
                "pass_products",
                [
                    {
                        "name": p.name,
                        "uses": p.uses,
                        "validity_days": p.validity_days,
                        "price_amount": p.price,
                        **money,
                    }
                    for p in spec.passes
                ],
            ),
            "videos": rows(
                "videos",
                [
                    {
                        "name": v.name,
                        "price_amount": v.price,
                        "price_credits": v.credits,
                        "access_days": v.access_days,
                        **money,
                    }
                    for v in spec.videos
                ],
            ),
            "plans": rows(
                "plans",
                [
                    {
                        "name": p.name,
                        "amount": p.amount,
                        "interval_unit": p.unit,
                        "interval_count": p.count,
                        **money,
                    }
                    for p in spec.plans
                ],
            ),
            "questionnaires": rows(
                "questionnaires",
                [{"name": q.name, "questions": list(q.questions)} for q in spec.questionnaires],
            ),
        }
    )
