"""Staff notes: any staff member adds, edits and deletes them; the note and account history
record who; members never see them."""

from __future__ import annotations

import json
import uuid
from typing import Any

from tests import factories
from tests.conftest import Api
from tests.history_actions_support import (
    categories,
    codes,
    history_actions,
    owner_token,
    race,
    setup,
    staff,
)

NOTE_FIELDS = "id number content authorName authorId updatedByName updatedById updatedAt"
CREATE = f"""
mutation($c: ID!, $text: String!) {{ noteCreate(customerId: $c, content: $text) {{
  note {{ {NOTE_FIELDS} customer {{ category }} }} errors {{ code field message }} }} }}
"""
UPDATE = f"""
mutation($id: ID!, $text: String!, $at: DateTime) {{
  noteUpdate(id: $id, content: $text, updatedAt: $at) {{
    note {{ {NOTE_FIELDS} }} errors {{ code field message }} }} }}
"""
DELETE = """
mutation($id: ID!) { noteDelete(id: $id) {
  deletedId customer { fullName notes { totalCount } } errors { code field message } } }
"""
TAB = """
query($id: ID!) { customer(id: $id) { notes { totalCount edges { node { content } } } } }
"""
ENTITY = "query($reps: [_Any!]!) { _entities(representations: $reps) { ... on Note { id } } }"


async def _note(api: Api, token: str, customer: Any, text: str) -> dict[str, Any]:
    result = (await api.data(CREATE, {"c": str(customer["id"]), "text": text}, token))["noteCreate"]
    assert result["errors"] == []
    note: dict[str, Any] = result["note"]
    return note


async def test_a_note_records_its_author_and_every_change_in_account_history(
    api: Api, owner: factories.Owner, two_businesses: tuple[factories.BusinessFixture, ...]
) -> None:
    biz, _, _ = await setup(owner, two_businesses)
    lead = await factories.customer(owner, biz.id, "Lee", "Lead")
    note = await _note(api, staff(api, biz), lead, "  Prefers the window spot.\n ")
    assert {k: v for k, v in note.items() if k not in ("id", "updatedAt")} == {
        "number": 1,
        "content": "Prefers the window spot.",
        "authorName": "Sam Staff",
        "authorId": str(biz.staff_id),
        "updatedByName": None,
        "updatedById": None,
        "customer": {"category": "LEAD"},  # notes are not purchase history
    }
    await categories(owner)

    edited = (
        await api.data(
            UPDATE,
            {"id": note["id"], "text": "Prefers the back row.", "at": note["updatedAt"]},
            owner_token(api, biz),
        )
    )["noteUpdate"]
    assert edited["errors"] == []
    assert (
        edited["note"]["content"],
        edited["note"]["authorName"],
        edited["note"]["updatedByName"],
        edited["note"]["updatedById"],
    ) == ("Prefers the back row.", "Sam Staff", "Olivia Owner", str(biz.owner_id))
    assert edited["note"]["updatedAt"] > note["updatedAt"]

    # Saving the same text changes nothing and records nothing.
    same = (
        await api.data(
            UPDATE, {"id": note["id"], "text": " Prefers the back row. "}, staff(api, biz)
        )
    )["noteUpdate"]
    assert same["note"]["updatedAt"] == edited["note"]["updatedAt"]

    deleted = (await api.data(DELETE, {"id": note["id"]}, staff(api, biz)))["noteDelete"]
    assert deleted == {
        "deletedId": note["id"],
        "customer": {"fullName": "Lee Lead", "notes": {"totalCount": 0}},
        "errors": [],
    }
    assert await history_actions(owner, uuid.UUID(note["id"])) == [
        ("note.created", "STAFF", "Sam Staff"),
        ("note.updated", "STAFF", "Olivia Owner"),
        ("note.deleted", "STAFF", "Sam Staff"),
    ]
    entries = await owner.c.fetch(
        "SELECT before, after FROM account_history WHERE subject_id = $1 ORDER BY number",
        uuid.UUID(note["id"]),
    )
    assert [
        (json.loads(e["before"] or "null"), json.loads(e["after"] or "null")) for e in entries
    ] == [
        (None, {"number": 1, "content": "Prefers the window spot."}),
        (
            {"number": 1, "content": "Prefers the window spot."},
            {"number": 1, "content": "Prefers the back row."},
        ),
        ({"number": 1, "content": "Prefers the back row."}, None),
    ]
    again = (await api.data(DELETE, {"id": note["id"]}, staff(api, biz)))["noteDelete"]
    assert (again["deletedId"], codes(again["errors"])) == (None, [("NOT_FOUND", "id")])


async def test_content_is_trimmed_to_one_to_ten_thousand_characters(
    api: Api, owner: factories.Owner, two_businesses: tuple[factories.BusinessFixture, ...]
) -> None:
    biz, _, _ = await setup(owner, two_businesses)
    ada = await factories.customer(owner, biz.id)
    token = staff(api, biz)
    longest = await _note(api, token, ada, "  " + "x" * 10_000 + "  ")
    assert len(longest["content"]) == 10_000
    for text, expected in (
        ("   \n\t ", [("REQUIRED", "content")]),
        ("", [("REQUIRED", "content")]),
        ("x" * 10_001, [("TOO_LONG", "content")]),
    ):
        created = (await api.data(CREATE, {"c": str(ada["id"]), "text": text}, token))["noteCreate"]
        assert (codes(created["errors"]), created["note"]) == (expected, None)
        updated = (await api.data(UPDATE, {"id": longest["id"], "text": text}, token))["noteUpdate"]
        assert (codes(updated["errors"]), updated["note"]) == (expected, None)
    assert await owner.c.fetchval("SELECT count(*) FROM notes") == 1


async def test_refusals_name_the_argument(
    api: Api, owner: factories.Owner, two_businesses: tuple[factories.BusinessFixture, ...]
) -> None:
    biz, _, _ = await setup(owner, two_businesses)
    other = two_businesses[1]
    theirs = await _note(api, staff(api, other), await factories.customer(owner, other.id), "Hi")
    token = staff(api, biz)
    stranger = await factories.customer(owner, other.id)
    created = (await api.data(CREATE, {"c": str(stranger["id"]), "text": "x"}, token))["noteCreate"]
    assert codes(created["errors"]) == [("NOT_FOUND", "customerId")]
    updated = (await api.data(UPDATE, {"id": theirs["id"], "text": "x"}, token))["noteUpdate"]
    assert codes(updated["errors"]) == [("NOT_FOUND", "id")]
    deleted = (await api.data(DELETE, {"id": theirs["id"]}, token))["noteDelete"]
    assert codes(deleted["errors"]) == [("NOT_FOUND", "id")]
    assert (await api.post(DELETE, {"id": "nope"}, token))["errors"][0]["extensions"] == {
        "code": "INVALID_ARGUMENT",
        "field": "id",
    }
    # The other business's note is untouched.
    assert await owner.c.fetchval("SELECT content FROM notes") == "Hi"


async def test_members_never_see_or_change_notes(
    api: Api, owner: factories.Owner, two_businesses: tuple[factories.BusinessFixture, ...]
) -> None:
    biz, _, _ = await setup(owner, two_businesses)
    ada = await factories.customer(owner, biz.id)
    helper = await factories.additional_user(owner, ada)
    note = await _note(api, staff(api, biz), ada, "Owes for last month.")
    for member in (
        api.token(biz.id, "customer", ada["id"]),
        api.token(biz.id, "additional_user", helper["id"]),
    ):
        for query, variables in (
            (CREATE, {"c": str(ada["id"]), "text": "x"}),
            (UPDATE, {"id": note["id"], "text": "x"}),
            (DELETE, {"id": note["id"]}),
        ):
            body = await api.post(query, variables, member)
            assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        tab = await api.post(TAB, {"id": str(ada["id"])}, member)
        assert tab["data"]["customer"]["notes"] is None
        assert [e["extensions"]["code"] for e in tab["errors"]] == ["FORBIDDEN"]
        reps = [{"__typename": "Note", "id": note["id"]}]
        assert (await api.data(ENTITY, {"reps": reps}, member))["_entities"] == [None]
    shown = (await api.data(TAB, {"id": str(ada["id"])}, staff(api, biz)))["customer"]["notes"]
    assert shown == {"totalCount": 1, "edges": [{"node": {"content": "Owes for last month."}}]}


async def test_concurrent_edits_from_one_version_and_concurrent_deletes_apply_once(
    api: Api, owner: factories.Owner, two_businesses: tuple[factories.BusinessFixture, ...]
) -> None:
    biz, _, _ = await setup(owner, two_businesses)
    ada = await factories.customer(owner, biz.id)
    token = staff(api, biz)
    note = await _note(api, token, ada, "First")
    edits = [{"id": note["id"], "text": f"Edit {i}", "at": note["updatedAt"]} for i in range(6)]
    results = await race(api, UPDATE, edits, token, "noteUpdate")
    winners = [r for r in results if r["errors"] == []]
    assert len(winners) == 1
    assert {c for r in results for c in codes(r["errors"])} == {("STALE", "updatedAt")}
    assert await owner.c.fetchval("SELECT content FROM notes") == winners[0]["note"]["content"]

    deletes = await race(api, DELETE, [{"id": note["id"]}] * 6, token, "noteDelete")
    assert len([d for d in deletes if d["errors"] == []]) == 1
    assert {c for d in deletes for c in codes(d["errors"])} == {("NOT_FOUND", "id")}
    assert [a for a, _, _ in await history_actions(owner, uuid.UUID(note["id"]))] == [
        "note.created",
        "note.updated",
        "note.deleted",
    ]
