"""The member portal: `me`, the public sign-up, log-in and password-reset fields, and what a
signed-in member changes themselves (contact details, password, marketing consent, questionnaire
answers, messages read). Payment methods are the shared fields of `schema.payment_methods`.

A member is a customer or an additional user. `me.customer` is their account's profile (an
additional user's is their buyer's) with its tabs and chart: notes and account history stay
staff-only and payment methods are hidden from additional users, as on every other read.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncConnection
from strawberry.scalars import JSON
from strawberry.types import Info

from resolvers import consent, member_accounts, member_inbox, questionnaires
from resolvers.account_emails import links_for
from resolvers.account_history import Actor
from resolvers.account_people import PersonDetails
from resolvers.member_accounts import SignInResult
from resolvers.mutations import parse_uuid, run
from schema.errors import ApiError, ErrorCode, UserError, user_error
from schema.pagination import Connection, build_connection, list_signature, page_request
from schema.people import AdditionalUser, Customer, PersonKind, PersonStatus
from schema.permissions import MEMBERS, IsPublic, RolePermission
from schema.profile import Message, QuestionnaireResponse
from server.auth import MAX_TOKEN_LIFETIME_S, Role, Viewer
from server.context import Context

MAX_MARK_READ = 100


class IsMember(RolePermission):
    """A customer or an additional user signed in to the member portal."""

    roles = MEMBERS
    phrase = "Members only."
    message = "Only members (customers and additional users) have this."


def _member(info: Info[Context, Any]) -> Viewer:
    viewer = info.context.viewer
    assert viewer is not None and not viewer.is_staff, "reached only through IsMember"
    return viewer


def _cursor_time(value: str) -> datetime:
    return datetime.fromisoformat(value)


@strawberry.type(
    description="The signed-in member: who they are, their account's profile, and their inbox."
)
class Me:
    kind: PersonKind = strawberry.field(description="CUSTOMER or ADDITIONAL_USER.")
    marketing_consent: bool = strawberry.field(
        description="Whether this member has agreed to marketing messages."
    )
    email_verified: bool = strawberry.field(
        description="Whether this member confirmed their login email (the emailed link)."
    )
    customer: Customer = strawberry.field(
        description="The account's profile, tabs and chart: the member's own, or for an "
        "additional user the customer they act for (without payment methods)."
    )
    additional_user: AdditionalUser | None = strawberry.field(
        description="The additional user themselves, when the member is one."
    )
    viewer: strawberry.Private[Viewer]

    @strawberry.field(description="In-app messages to this member, newest first.")
    async def inbox(
        self,
        info: Info[Context, Any],
        unread_only: Annotated[
            bool, strawberry.argument(description="Only messages not read yet.")
        ] = False,
        first: Annotated[
            int | None, strawberry.argument(description="Page size (default 20, at most 100).")
        ] = None,
        after: Annotated[
            str | None, strawberry.argument(description="Cursor to page forward from.")
        ] = None,
        last: Annotated[
            int | None, strawberry.argument(description="Page size from the end.")
        ] = None,
        before: Annotated[
            str | None, strawberry.argument(description="Cursor to page backward from.")
        ] = None,
    ) -> Connection[Message]:
        signature = list_signature("inbox", str(self.viewer.subject_id), unread_only)
        request = page_request(
            signature, first, after, last, before, key_parsers=(_cursor_time, uuid.UUID)
        )
        rows, total = await member_inbox.inbox_page(
            info.context.reader, self.viewer, unread_only, request
        )
        nodes = [(Message.from_row(row), [row.created_at.isoformat(), str(row.id)]) for row in rows]
        return build_connection(nodes, request, signature, total)

    @strawberry.field(description="How many in-app messages this member has not read.")
    async def unread_message_count(self, info: Info[Context, Any]) -> int:
        return await member_inbox.unread_count(info.context.reader, self.viewer)


async def load_me(info: Info[Context, Any], viewer: Viewer) -> Me | None:
    """`me` for a member viewer; None when they no longer exist."""
    loaders = info.context.loaders
    if viewer.role is Role.CUSTOMER:
        row = await loaders.customer_by_id.load(viewer.subject_id)
        if row is None:
            return None
        return Me(
            kind=PersonKind.CUSTOMER,
            marketing_consent=row.marketing_consent,
            email_verified=row.email_verified_at is not None,
            customer=Customer.from_row(row),
            additional_user=None,
            viewer=viewer,
        )
    user = await loaders.additional_user_by_id.load(viewer.subject_id)
    if user is None:
        return None
    buyer = await loaders.customer_by_id.load(user.customer_id)
    if buyer is None:
        return None
    return Me(
        kind=PersonKind.ADDITIONAL_USER,
        marketing_consent=user.marketing_consent,
        email_verified=user.email_verified_at is not None,
        customer=Customer.from_row(buyer),
        additional_user=AdditionalUser.from_row(user, PersonStatus(buyer.status)),
        viewer=viewer,
    )


@strawberry.type(description="Member portal reads.")
class MemberQueries:
    @strawberry.field(
        description="The signed-in member (a customer or an additional user). Staff get "
        "FORBIDDEN. Members only.",
        permission_classes=[IsMember],
    )
    async def me(self, info: Info[Context, Any]) -> Me | None:
        return await load_me(info, _member(info))


# Inputs and payloads ----------------------------------------------------------------------


@strawberry.input(description="A new member signing up in the portal.")
class MemberSignUpInput:
    business: str = strawberry.field(description="The business's slug (or id).")
    first_name: str = strawberry.field(description="First name (1–100 characters).")
    last_name: str = strawberry.field(description="Last name (1–100 characters).")
    email: str = strawberry.field(
        description="Login email: unique in the business among customers and additional users."
    )
    password: str = strawberry.field(
        description="8–128 characters with an uppercase and a lowercase letter, a number and a "
        "special character; not a common password."
    )
    mobile: str | None = strawberry.field(
        default=None, description="Mobile with country code (optional)."
    )
    marketing_consent: bool = strawberry.field(
        default=False, description="Whether they ticked the marketing box."
    )
    consent_wording: str | None = strawberry.field(
        default=None,
        description="The consent text shown beside the box (required when they ticked it).",
    )


@strawberry.input(description="Log in to the member portal.")
class MemberLogInInput:
    business: str = strawberry.field(description="The business's slug (or id).")
    email: str = strawberry.field(description="Login email (case ignored).")
    password: str = strawberry.field(description="Password.")


@strawberry.input(description="Ask for a password-reset email.")
class MemberRequestPasswordResetInput:
    business: str = strawberry.field(description="The business's slug (or id).")
    email: str = strawberry.field(description="The login email to send the link to.")


@strawberry.input(description="Choose a new password with the token of an emailed link.")
class MemberResetPasswordInput:
    business: str = strawberry.field(description="The business's slug (or id).")
    token: str = strawberry.field(
        description="The `token` parameter of the reset-password (or set-password) link."
    )
    password: str = strawberry.field(description="The new password (the product's rule).")


@strawberry.input(description="Change the password, knowing the current one.")
class MemberChangePasswordInput:
    current_password: str = strawberry.field(description="The password in use now.")
    new_password: str = strawberry.field(description="The new password (the product's rule).")


@strawberry.input(description="The member's own contact details.")
class MemberUpdateContactInput:
    version: int = strawberry.field(
        description="The `version` the form was opened with (of `me.customer`, or of "
        "`me.additionalUser` for an additional user); a stale one is refused with STALE."
    )
    first_name: str | None = strawberry.field(default=None, description="Null keeps it.")
    last_name: str | None = strawberry.field(default=None, description="Null keeps it.")
    email: str | None = strawberry.field(
        default=None, description="New login email (to be confirmed again); null keeps it."
    )
    mobile: str | None = strawberry.field(
        default=None, description="Null keeps it; an empty string removes it."
    )


@strawberry.input(description="The member's marketing choice, with the words they were shown.")
class MemberSetMarketingConsentInput:
    granted: bool = strawberry.field(description="True to receive marketing, false to stop.")
    wording: str = strawberry.field(description="The consent text shown (kept as a record).")


@strawberry.input(description="Answers to a questionnaire assigned to the member's account.")
class MemberQuestionnaireSubmitInput:
    response_id: strawberry.ID = strawberry.field(
        description="The assigned response (`me.customer.questionnaires(statuses: [ASSIGNED])`)."
    )
    answers: JSON = strawberry.field(
        description="An object of question key → answer, of each question's type."
    )


@strawberry.type(description="A signed-in session, or why there is none.")
class MemberSessionPayload:
    token: str | None = strawberry.field(
        description="The bearer token for the member portal (send it as `Authorization: Bearer …`)."
    )
    expires_at: datetime | None = strawberry.field(description="When the token stops working.")
    kind: PersonKind | None = strawberry.field(description="CUSTOMER or ADDITIONAL_USER.")
    person_id: strawberry.ID | None = strawberry.field(description="The member's id.")
    retry_after_seconds: int | None = strawberry.field(
        description="With TOO_MANY_ATTEMPTS: how long to wait before trying again."
    )
    errors: list[UserError] = strawberry.field(description="Empty on success.")


@strawberry.type(description="The answer to a password-reset request.")
class MemberRequestPasswordResetPayload:
    errors: list[UserError] = strawberry.field(
        description="Empty whether or not the email belongs to anyone (only a malformed email, "
        "an unknown business, or too many requests, TOO_MANY_ATTEMPTS, are reported)."
    )
    retry_after_seconds: int | None = strawberry.field(
        default=None,
        description="With TOO_MANY_ATTEMPTS: how long to wait before asking again (more than "
        "5 requests for one email, or 50 from one address, in 15 minutes).",
    )


@strawberry.type(description="The member after a change.")
class MePayload:
    me: Me | None = strawberry.field(description="The member as they are now.")
    errors: list[UserError] = strawberry.field(description="Empty on success.")


@strawberry.type(description="The result of submitting a questionnaire.")
class MemberQuestionnaireSubmitPayload:
    response: QuestionnaireResponse | None = strawberry.field(
        description="The response, now COMPLETED."
    )
    errors: list[UserError] = strawberry.field(description="Empty on success.")


@strawberry.type(description="The result of marking messages read.")
class MemberMessagesMarkReadPayload:
    messages: list[Message] = strawberry.field(description="The messages marked read.")
    unread_message_count: int = strawberry.field(description="Unread messages left.")
    errors: list[UserError] = strawberry.field(
        description="One NOT_FOUND per id that is not a message to this member."
    )


def _session(context: Context, result: SignInResult) -> MemberSessionPayload:
    if result.viewer is None:
        return MemberSessionPayload(
            token=None,
            expires_at=None,
            kind=None,
            person_id=None,
            retry_after_seconds=result.retry_after_seconds,
            errors=result.errors,
        )
    assert context.tokens is not None, "the app wires its token service into the context"
    viewer = result.viewer
    kind = PersonKind.CUSTOMER if viewer.role is Role.CUSTOMER else PersonKind.ADDITIONAL_USER
    return MemberSessionPayload(
        token=context.tokens.sign(viewer),
        expires_at=datetime.now(UTC) + timedelta(seconds=MAX_TOKEN_LIFETIME_S),
        kind=kind,
        person_id=strawberry.ID(str(viewer.subject_id)),
        retry_after_seconds=None,
        errors=[],
    )


async def _me_payload(info: Info[Context, Any], errors: list[UserError]) -> MePayload:
    if errors:
        return MePayload(me=None, errors=errors)
    return MePayload(me=await load_me(info, _member(info)), errors=[])


@strawberry.type(description="Member portal changes.")
class MemberMutations:
    @strawberry.mutation(
        description="Sign up as a new member (an app user) of a business: answers with a token "
        "at once and emails a link to confirm the address. No token needed.",
        permission_classes=[IsPublic],
    )
    async def member_sign_up(
        self, info: Info[Context, Any], input: MemberSignUpInput
    ) -> MemberSessionPayload:
        context = info.context
        new = member_accounts.SignUp(
            business=input.business,
            first_name=input.first_name,
            last_name=input.last_name,
            email=input.email,
            password=input.password,
            mobile=input.mobile,
            marketing_consent=input.marketing_consent,
            consent_wording=input.consent_wording,
        )
        result = await member_accounts.sign_up(context.db, links_for(context.settings), new)
        return _session(context, result)

    @strawberry.mutation(
        description="Log in with business, email and password. A wrong password and an "
        "unknown email get the same answer (INVALID_CREDENTIALS). After 5 failures in 15 "
        "minutes for an account, or 50 for a client address, the answer is TOO_MANY_ATTEMPTS "
        "with `retryAfterSeconds` (30 s, doubling up to 15 minutes) and the password is not "
        "checked. Archived, merged and access-disabled people get SIGN_IN_REFUSED. No token "
        "needed.",
        permission_classes=[IsPublic],
    )
    async def member_log_in(
        self, info: Info[Context, Any], input: MemberLogInInput
    ) -> MemberSessionPayload:
        context = info.context
        result = await member_accounts.log_in(
            context.db, input.business, input.email, input.password, context.client_address
        )
        return _session(context, result)

    @strawberry.mutation(
        description="Email a single-use link (valid 2 hours) to reset the password. The answer "
        "is the same whether or not the email belongs to anyone. No token needed.",
        permission_classes=[IsPublic],
    )
    async def member_request_password_reset(
        self, info: Info[Context, Any], input: MemberRequestPasswordResetInput
    ) -> MemberRequestPasswordResetPayload:
        context = info.context
        result = await member_accounts.request_password_reset(
            context.db,
            links_for(context.settings),
            input.business,
            input.email,
            context.client_address,
        )
        return MemberRequestPasswordResetPayload(
            errors=result.errors, retry_after_seconds=result.retry_after_seconds
        )

    @strawberry.mutation(
        description="Set a new password with the token of an emailed reset (or set-password) "
        "link: once, before it expires. Other devices are signed out; answers with a fresh "
        "token. No token needed.",
        permission_classes=[IsPublic],
    )
    async def member_reset_password(
        self, info: Info[Context, Any], input: MemberResetPasswordInput
    ) -> MemberSessionPayload:
        context = info.context
        result = await member_accounts.reset_password(
            context.db, links_for(context.settings), input.business, input.token, input.password
        )
        return _session(context, result)

    @strawberry.mutation(
        description="Change the password (the current one is needed and counted like a log-in). "
        "Every other device is signed out; answers with a fresh token. Members only.",
        permission_classes=[IsMember],
    )
    async def member_change_password(
        self, info: Info[Context, Any], input: MemberChangePasswordInput
    ) -> MemberSessionPayload:
        context = info.context
        result = await member_accounts.change_password(
            context.db,
            _member(info),
            input.current_password,
            input.new_password,
            context.client_address,
        )
        return _session(context, result)

    @strawberry.mutation(
        description="Update the member's own names, login email and mobile (checked as staff "
        "edits are; a new email must be confirmed again). Members only.",
        permission_classes=[IsMember],
    )
    async def member_update_contact(
        self, info: Info[Context, Any], input: MemberUpdateContactInput
    ) -> MePayload:
        viewer = _member(info)
        context = info.context

        async def work(conn: AsyncConnection, actor: Actor) -> None:
            details = PersonDetails(input.first_name, input.last_name, input.email, input.mobile)
            await member_accounts.update_contact(
                conn, actor, viewer, input.version, details, links_for(context.settings)
            )

        _, errors = await run(context, work)
        return await _me_payload(info, errors)

    @strawberry.mutation(
        description="Agree to or stop marketing messages; each change is recorded with its "
        "time, the source (member portal) and the wording shown. Members only.",
        permission_classes=[IsMember],
    )
    async def member_set_marketing_consent(
        self, info: Info[Context, Any], input: MemberSetMarketingConsentInput
    ) -> MePayload:
        viewer = _member(info)
        errors: list[UserError] = []
        wording = consent.clean_wording(input.wording, "input.wording", errors)
        if wording is None and not errors:
            errors.append(
                user_error(ErrorCode.REQUIRED, "input.wording", "Send the wording shown.")
            )
        if errors or wording is None:
            return MePayload(me=None, errors=errors)
        person = consent.ConsentPerson(viewer.role, viewer.subject_id)

        async def work(conn: AsyncConnection, actor: Actor) -> None:
            await consent.set_marketing_consent(
                conn,
                viewer.business_id,
                actor,
                person,
                input.granted,
                consent.MEMBER_PORTAL,
                wording,
            )

        _, errors = await run(info.context, work)
        return await _me_payload(info, errors)

    @strawberry.mutation(
        description="Answer a questionnaire assigned to the member's account; the answers are "
        "checked against its questions and the response becomes COMPLETED. Members only.",
        permission_classes=[IsMember],
    )
    async def member_questionnaire_submit(
        self, info: Info[Context, Any], input: MemberQuestionnaireSubmitInput
    ) -> MemberQuestionnaireSubmitPayload:
        viewer = _member(info)
        response_id = parse_uuid(input.response_id)
        if response_id is None:
            error = user_error(ErrorCode.NOT_FOUND, "input.responseId", "No such questionnaire.")
            return MemberQuestionnaireSubmitPayload(response=None, errors=[error])

        async def work(conn: AsyncConnection, actor: Actor) -> uuid.UUID:
            account = await member_accounts.account_of(conn, viewer)
            return await questionnaires.submit_answers(
                conn, actor, viewer.business_id, account, response_id, input.answers
            )

        done, errors = await run(info.context, work)
        if done is None:
            return MemberQuestionnaireSubmitPayload(response=None, errors=errors)
        loader = info.context.loaders.questionnaire_response_by_id
        row = await loader.load(done)
        response = QuestionnaireResponse.from_row(row) if row is not None else None
        return MemberQuestionnaireSubmitPayload(response=response, errors=[])

    @strawberry.mutation(
        description=f"Mark in-app messages read (at most {MAX_MARK_READ} ids; the first "
        "reading time is kept). Members only.",
        permission_classes=[IsMember],
    )
    async def member_messages_mark_read(
        self,
        info: Info[Context, Any],
        ids: Annotated[list[strawberry.ID], strawberry.argument(description="Message ids.")],
    ) -> MemberMessagesMarkReadPayload:
        viewer = _member(info)
        if len(ids) > MAX_MARK_READ:
            raise ApiError(ErrorCode.TOO_MANY_IDS, f"At most {MAX_MARK_READ} ids per call.", "ids")
        parsed = [parse_uuid(value) for value in ids]
        wanted = list(dict.fromkeys(p for p in parsed if p is not None))

        async def work(conn: AsyncConnection, actor: Actor) -> set[uuid.UUID]:
            return await member_inbox.mark_read(conn, viewer, wanted)

        marked, errors = await run(info.context, work)
        found = marked or set()
        errors = errors + [
            user_error(ErrorCode.NOT_FOUND, f"ids.{index}", "No such message for you.")
            for index, value in enumerate(parsed)
            if value is None or value not in found
        ]
        loaders = info.context.loaders
        rows = await loaders.message_by_id.load_many(wanted)
        messages = [Message.from_row(row) for row in rows if row is not None and row.id in found]
        unread = await member_inbox.unread_count(info.context.reader, viewer)
        return MemberMessagesMarkReadPayload(
            messages=messages, unread_message_count=unread, errors=errors
        )
