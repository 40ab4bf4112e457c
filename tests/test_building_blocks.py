"""Building blocks every later feature uses: the history writer, money, health endpoints."""

from __future__ import annotations

import contextlib

from sqlalchemy import text

from resolvers import account_history
from schema.money import Money, price_of
from server.auth import Role, Viewer
from server.db import Database, create_engine
from tests import factories
from tests.conftest import Api
from tests.database import ClonedDatabase


async def test_history_is_written_in_the_callers_transaction(
    db: ClonedDatabase,
    owner: factories.Owner,
    two_businesses: tuple[factories.BusinessFixture, ...],
) -> None:
    mine, _ = two_businesses
    ada = await factories.customer(owner, mine.id, "Ada", "Lovelace")
    database = Database(create_engine(db.service_url, pool_size=1))
    viewer = Viewer(mine.id, Role.STAFF, mine.staff_id, 1)

    async def change(conn: object, fail: bool) -> None:
        actor = await account_history.actor_for(conn, viewer)  # type: ignore[arg-type]
        before, after = account_history.changed_fields(
            {"first_name": "Ada", "email": "a@x"}, {"first_name": "Augusta", "email": "a@x"}
        )
        await account_history.record(
            conn,  # type: ignore[arg-type]
            business_id=mine.id,
            actor=actor,
            action="customer.updated",
            customer_id=ada["id"],
            customer_name="Augusta Lovelace",
            before=before,
            after=after,
        )
        if fail:
            await conn.execute(text("SELECT 1/0"))  # type: ignore[attr-defined]

    try:
        with contextlib.suppress(Exception):  # the failure is the point
            await database.run_mutation(mine.id, lambda conn: change(conn, True))
        await database.run_mutation(mine.id, lambda conn: change(conn, False))
    finally:
        await database.engine.dispose()
    rows = await owner.c.fetch(
        "SELECT actor_kind, actor_name, action, before, after, number FROM account_history"
    )
    assert [(r["actor_kind"], r["actor_name"], r["action"], r["number"]) for r in rows] == [
        ("STAFF", "Sam Staff", "customer.updated", 1)
    ]
    assert (rows[0]["before"], rows[0]["after"]) == (
        '{"first_name": "Ada"}',
        '{"first_name": "Augusta"}',
    )


def test_money_and_credits() -> None:
    assert Money(amount=1050, currency="GBP").decimal() == "10.50"
    assert Money(amount=-5, currency="EUR").decimal() == "-0.05"
    assert Money(amount=1200, currency="JPY").decimal() == "1200"
    assert price_of(1000, "GBP", 1).money is None and price_of(1000, "GBP", 1).credits == 1
    assert price_of(1000, "GBP", None).money == Money(amount=1000, currency="GBP")


async def test_health_and_readiness(api: Api) -> None:
    assert (await api.http.get("/healthz")).json() == {"status": "ok"}
    ready = await api.http.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ok"


async def test_readiness_fails_when_migrations_are_behind(api: Api, owner: factories.Owner) -> None:
    await owner.c.execute("RESET ROLE")
    await owner.c.execute("UPDATE alembic_version SET version_num = 'older'")
    ready = await api.http.get("/readyz")
    assert ready.status_code == 503
    assert "older" in ready.json()["reason"]


async def test_graphiql_page_is_served_in_development(api: Api) -> None:
    page = await api.http.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "graphiql" in page.text.lower()
