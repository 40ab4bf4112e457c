"""Two businesses seeded for the permission matrix: per business, one "slot" of rows for each
role, so that every role's calls act on rows of their own (a member's slot is their own
account) and a mutation run by one role never disturbs another role's targets."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from server.auth import Role
from tests import factories
from tests import history_factories as hf

ROLES = (Role.OWNER, Role.STAFF, Role.CUSTOMER, Role.ADDITIONAL_USER)


@dataclass(frozen=True)
class Slot:
    """The ids one role's calls point at, by kind (see `KIND_BY_ARGUMENT`)."""

    ids: dict[str, str]
    subject: str  # whom the role's token names


@dataclass(frozen=True)
class BusinessWorld:
    business: factories.BusinessFixture
    slots: dict[Role, Slot]
    catalog: dict[str, str] = field(default_factory=dict)

    def all_ids(self) -> set[str]:
        ids = {str(self.business.id), *self.catalog.values()}
        for slot in self.slots.values():
            ids.update(slot.ids.values())
        return ids


async def _future_session(db: factories.Owner, cat: hf.Catalog) -> uuid.UUID:
    starts = datetime.now(UTC).replace(microsecond=0) + timedelta(days=30)
    row = await db.insert(
        "sessions",
        business_id=cat.business_id,
        event_id=cat.event,
        facilitator_id=cat.facilitator,
        starts_at=starts,
        ends_at=starts + timedelta(hours=1),
        time_zone="Europe/London",
        capacity=20,
    )
    return uuid.UUID(str(row["id"]))


async def _slot(
    db: factories.Owner, cat: hf.Catalog, session: uuid.UUID, role: Role, staff_id: uuid.UUID
) -> Slot:
    now = datetime.now(UTC)
    label = role.value.replace("_", "-")
    customer = await factories.customer(db, cat.business_id, "Matrix", label.title())
    second = await factories.customer(db, cat.business_id, "Second", label.title())
    participant = await factories.participant(db, customer, "Kid")
    helper = await factories.additional_user(db, customer, "Helper")
    booking = await hf.booking(db, customer, replace(cat, session=session), now)
    appointment = await hf.appointment(db, customer, cat, now, starts_at=now + timedelta(days=9))
    card = await db.insert(
        "payment_methods",
        business_id=cat.business_id,
        customer_id=customer["id"],
        stripe_payment_method_id=f"pm_{uuid.uuid4().hex[:12]}",
        brand="visa",
        last4="4242",
        exp_month=4,
        exp_year=2031,
        is_default=True,
    )
    job = await db.insert(
        "jobs",
        business_id=cat.business_id,
        kind="touch",
        payload=json.dumps({}),
        created_by_staff_id=staff_id,
    )
    # An additional user's inbox holds what is addressed to them.
    recipient = (
        {"recipient_additional_user_id": helper["id"]} if role is Role.ADDITIONAL_USER else {}
    )
    message = await db.insert(
        "messages",
        business_id=cat.business_id,
        customer_id=customer["id"],
        customer_name=f"{customer['first_name']} {customer['last_name']}",
        channel="IN_APP",
        purpose="SERVICE",
        subject="Welcome",
        body="About the studio",
        status="SENT",
        **recipient,
    )
    # Each role's own audience, holding its customer: adding that customer again is a no-op.
    audience = await db.insert(
        "campaign_audiences",
        business_id=cat.business_id,
        name=f"Matrix {label}",
        created_by_staff_id=staff_id,
    )
    await db.insert(
        "campaign_audience_members",
        business_id=cat.business_id,
        audience_id=audience["id"],
        customer_id=customer["id"],
        added_by_staff_id=staff_id,
    )
    rows = {
        "customer": customer,
        "audience": audience,
        "message": message,
        "customer2": second,
        "participant": participant,
        "additionalUser": helper,
        "booking": booking,
        "appointment": appointment,
        "pass": await hf.customer_pass(db, customer, cat, now),
        "video": await hf.video_purchase(db, customer, cat, now),
        "subscription": await hf.subscription(db, customer, cat, now),
        "response": await hf.response(db, customer, cat, now),
        "note": await hf.note(db, customer, "Prefers mornings.", now),
        "paymentMethod": card,
        "job": job,
    }
    ids = {kind: str(row["id"]) for kind, row in rows.items()}
    subject = {
        Role.OWNER: None,
        Role.STAFF: None,
        Role.CUSTOMER: ids["customer"],
        Role.ADDITIONAL_USER: ids["additionalUser"],
    }[role]
    return Slot(ids=ids, subject=subject or "")


async def business_world(db: factories.Owner, slug: str) -> BusinessWorld:
    business = await factories.business(db, slug)
    cat = await hf.catalog(db, business.id)
    session = await _future_session(db, cat)
    slots = {role: await _slot(db, cat, session, role, business.staff_id) for role in ROLES}
    slots[Role.OWNER] = Slot(slots[Role.OWNER].ids, str(business.owner_id))
    slots[Role.STAFF] = Slot(slots[Role.STAFF].ids, str(business.staff_id))
    catalog = {
        "business": str(business.id),
        "session": str(session),
        "service": str(cat.service),
        "facilitator": str(cat.facilitator),
        "passProduct": str(cat.ten_pack),
        "videoProduct": str(cat.video),
        "questionnaire": str(cat.questionnaire),
    }
    return BusinessWorld(business=business, slots=slots, catalog=catalog)
