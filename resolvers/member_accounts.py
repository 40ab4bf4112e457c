"""Member accounts: sign up, log in, change or reset a password, verify an email.

Members are customers and additional users; both log in with business, email and password
through the shared login-email namespace. Log-in answers the same for an unknown email as for a
wrong password, after the same work (an argon2 verify against a dummy hash), and is throttled
(`resolvers.login_throttle`). Password links are single-use: they carry the person's token
version, which setting a password moves on (signing out every other device too).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Row, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from integrations.email import (
    RESET_PASSWORD,
    SET_PASSWORD,
    VERIFY_EMAIL,
    EmailTemplate,
    LinkClaims,
    Links,
    SignedLinks,
    email_digest,
)
from resolvers import account_history, consent, customer_contact, login_throttle, outbox
from resolvers.account_history import Actor
from resolvers.account_people import PersonDetails, update_additional_user
from resolvers.mutations import UNIQUE_VIOLATION, business_country
from resolvers.passwords import hash_password_off_loop, verify_password_off_loop
from resolvers.validation import check_password, clean_email, email_key
from schema.errors import ErrorCode, UserError, UserFacingError, user_error
from server.auth import Role, Viewer
from server.db import Database, sqlstate_of

WRONG_CREDENTIALS: Final = "The email or password is not right."
LINK_INVALID: Final = "This link is not valid: it has expired, was already used, or is broken."
CUSTOMER_TABLE: Final = {Role.CUSTOMER: "customers", Role.ADDITIONAL_USER: "additional_users"}

VERIFY_EMAIL_TEMPLATE: Final = EmailTemplate.parse(
    "Confirm your email for {business_name}",
    "Hi {first_name},\n\n"
    "Welcome to {business_name}. Please confirm that this is your email address "
    "(the link works for 7 days):\n\n"
    "{verify_email_url}\n\n"
    "If you did not sign up, you can ignore this email.",
)
RESET_PASSWORD_TEMPLATE: Final = EmailTemplate.parse(
    "Reset your {business_name} password",
    "Hi {first_name},\n\n"
    "Someone (we hope you) asked to reset the password of your {business_name} member account. "
    "Choose a new one here (the link works once, for 2 hours):\n\n"
    "{reset_password_url}\n\n"
    "If you did not ask for this, you can ignore this email: your password stays as it is.",
)


@dataclass(frozen=True)
class Member:
    """A person who may have a portal login, as log-in and password changes need them."""

    role: Role
    id: uuid.UUID
    email: str
    password_hash: str | None
    token_version: int
    # Active, not merged, portal access on (for an additional user: their customer active).
    may_sign_in: bool

    def viewer(self, business_id: uuid.UUID, token_version: int | None = None) -> Viewer:
        version = self.token_version if token_version is None else token_version
        return Viewer(business_id, self.role, self.id, version)


@dataclass(frozen=True)
class SignInResult:
    """A signed-in member, or why not (errors, and the wait when throttled)."""

    viewer: Viewer | None
    errors: list[UserError]
    retry_after_seconds: int | None = None


_MEMBER_COLUMNS = """
    SELECT l.customer_id, l.additional_user_id,
           coalesce(c.email, a.email) AS email,
           coalesce(c.password_hash, a.password_hash) AS password_hash,
           coalesce(c.token_version, a.token_version) AS token_version,
           CASE WHEN l.customer_id IS NOT NULL
                THEN c.status = 'ACTIVE' AND c.merged_into_id IS NULL AND c.app_access_enabled
                ELSE a.app_access_enabled AND b.status = 'ACTIVE' AND b.merged_into_id IS NULL
           END AS may_sign_in
    FROM login_emails l
    LEFT JOIN customers c ON c.business_id = l.business_id AND c.id = l.customer_id
    LEFT JOIN additional_users a
        ON a.business_id = l.business_id AND a.id = l.additional_user_id
    LEFT JOIN customers b ON b.business_id = a.business_id AND b.id = a.customer_id
"""
_MEMBER_BY_EMAIL = text(_MEMBER_COLUMNS + " WHERE l.email_key = :key")
_MEMBER_BY_ID = text(_MEMBER_COLUMNS + " WHERE l.customer_id = :id OR l.additional_user_id = :id")


def _member(row: Row[Any]) -> Member:
    customer_id = row.customer_id
    return Member(
        role=Role.CUSTOMER if customer_id is not None else Role.ADDITIONAL_USER,
        id=customer_id or row.additional_user_id,
        email=row.email,
        password_hash=row.password_hash,
        token_version=row.token_version,
        may_sign_in=bool(row.may_sign_in),
    )


async def member_by_email(conn: AsyncConnection, email: str) -> Member | None:
    row = (await conn.execute(_MEMBER_BY_EMAIL, {"key": email_key(email)})).first()
    return _member(row) if row is not None else None


async def member_by_id(conn: AsyncConnection, person_id: uuid.UUID) -> Member | None:
    row = (await conn.execute(_MEMBER_BY_ID, {"id": person_id})).first()
    return _member(row) if row is not None else None


async def portal_business(db: Database, reference: str) -> uuid.UUID | None:
    """The business a public portal field names, by slug or id (case ignored)."""
    reference = reference.strip()
    if not reference or len(reference) > 100:
        return None
    async with db.engine.connect() as conn:
        found = await conn.execute(text("SELECT portal_business(:ref)"), {"ref": reference})
        value = found.scalar_one_or_none()
    return uuid.UUID(str(value)) if value is not None else None


def unknown_business(field: str) -> UserError:
    return user_error(ErrorCode.NOT_FOUND, field, "No such business.")


async def _password_matches(member: Member | None, password: str) -> bool:
    # argon2 takes tens of milliseconds of CPU: off the event loop, so other requests go on.
    stored = member.password_hash if member is not None else None
    return await verify_password_off_loop(stored, password)


async def check_password_throttled(
    db: Database,
    business_id: uuid.UUID,
    email: str,
    member: Member | None,
    password: str,
    address: str | None,
    field: str,
) -> SignInResult | None:
    """Count one password attempt against the account and the address; None when the password
    is right (the account's count is then cleared), otherwise the refusal."""
    keys = login_throttle.AttemptKeys.of(business_id, email, address)
    wait = await login_throttle.begin_attempt(db, keys)
    if wait:
        message = f"Too many attempts: try again in {wait} seconds."
        error = user_error(ErrorCode.TOO_MANY_ATTEMPTS, None, message)
        return SignInResult(None, [error], wait)
    if not await _password_matches(member, password):
        wrong = user_error(ErrorCode.INVALID_CREDENTIALS, field, WRONG_CREDENTIALS)
        return SignInResult(None, [wrong])
    await login_throttle.attempt_succeeded(db, keys)
    return None


async def log_in(
    db: Database, business_ref: str, email: str, password: str, address: str | None
) -> SignInResult:
    business_id = await portal_business(db, business_ref)
    if business_id is None:
        return SignInResult(None, [unknown_business("input.business")])
    async with db.transaction(business_id) as conn:
        member = await member_by_email(conn, email)
    refused = await check_password_throttled(
        db, business_id, email, member, password, address, "input.password"
    )
    if refused is not None:
        return refused
    assert member is not None  # a right password needs a stored hash
    if not member.may_sign_in:
        return SignInResult(None, [sign_in_refused()])
    return SignInResult(member.viewer(business_id), [])


def sign_in_refused() -> UserError:
    return user_error(
        ErrorCode.SIGN_IN_REFUSED,
        None,
        "This account cannot log in to the member portal: ask the business to restore access.",
    )


# Passwords ---------------------------------------------------------------------------------


async def store_password(
    conn: AsyncConnection,
    business_id: uuid.UUID,
    actor: Actor,
    member: Member,
    password_hash: str,
    *,
    action: str,
) -> int:
    """Set the member's password, moving their token version on (every token and password
    link issued before stops working); records it in the account history. Returns the new
    token version."""
    table = CUSTOMER_TABLE[member.role]
    row = (
        await conn.execute(
            text(
                f"UPDATE {table} SET password_hash = :hash, token_version = token_version + 1,"
                " updated_at = now() WHERE id = :id"
                " RETURNING token_version, first_name, last_name, "
                + ("id" if member.role is Role.CUSTOMER else "customer_id")
                + " AS account_id"
            ),
            {"hash": password_hash, "id": member.id},
        )
    ).one()
    account = await conn.execute(
        text("SELECT first_name || ' ' || last_name FROM customers WHERE id = :id"),
        {"id": row.account_id},
    )
    await account_history.record(
        conn,
        business_id=business_id,
        actor=actor,
        action=action,
        customer_id=row.account_id,
        customer_name=str(account.scalar_one()),
        subject_type="Customer" if member.role is Role.CUSTOMER else "AdditionalUser",
        subject_id=member.id,
        after={"password_changed": True},
    )
    return int(row.token_version)


def _new_password(password: str, field: str) -> None:
    errors: list[UserError] = []
    check_password(password, field, errors)
    if errors:
        raise UserFacingError(*errors)


async def change_password(
    db: Database,
    viewer: Viewer,
    current_password: str,
    new_password: str,
    address: str | None,
) -> SignInResult:
    """Needs the current password (counted like a log-in, so a stolen token cannot guess it);
    answers with the viewer under their new token version."""
    async with db.transaction(viewer.business_id) as conn:
        member = await member_by_id(conn, viewer.subject_id)
    if member is None:
        return SignInResult(None, [sign_in_refused()])
    errors: list[UserError] = []
    check_password(new_password, "input.newPassword", errors)
    if errors:
        return SignInResult(None, errors)
    refused = await check_password_throttled(
        db,
        viewer.business_id,
        member.email,
        member,
        current_password,
        address,
        "input.currentPassword",
    )
    if refused is not None:
        return refused
    password_hash = await hash_password_off_loop(new_password)

    async def work(conn: AsyncConnection) -> int:
        actor = await account_history.actor_for(conn, viewer)
        return await store_password(
            conn, viewer.business_id, actor, member, password_hash, action="password.changed"
        )

    version = await db.run_mutation(viewer.business_id, work)
    return SignInResult(member.viewer(viewer.business_id, version), [])


@dataclass(frozen=True)
class ResetRequestResult:
    errors: list[UserError]
    retry_after_seconds: int | None = None


async def request_password_reset(
    db: Database, links: Links | None, business_ref: str, email: str, address: str | None
) -> ResetRequestResult:
    """Email a reset link when the email belongs to someone who may sign in; the answer is the
    same either way (no errors), so it tells nobody whether an account exists. Requests are
    counted per email and per client address like log-ins (but on counters of their own)."""
    errors: list[UserError] = []
    clean = clean_email(email, "input.email", errors)
    business_id = await portal_business(db, business_ref)
    if business_id is None:
        errors.append(unknown_business("input.business"))
    if errors or business_id is None:
        return ResetRequestResult(errors)
    if links is None:
        raise RuntimeError("Password reset needs link signing (LINK_SIGNING_SECRET).")
    keys = login_throttle.AttemptKeys.of_reset_request(business_id, clean, address)
    wait = await login_throttle.begin_attempt(db, keys)
    if wait:
        message = f"Too many reset requests: try again in {wait} seconds."
        return ResetRequestResult([user_error(ErrorCode.TOO_MANY_ATTEMPTS, None, message)], wait)

    async def work(conn: AsyncConnection) -> None:
        member = await member_by_email(conn, clean)
        if member is None or not member.may_sign_in:
            return
        await outbox.queue_email(
            conn,
            business_id=business_id,
            person_id=member.id,
            template=RESET_PASSWORD_TEMPLATE,
            purpose=outbox.SERVICE,
            links=links,
        )

    await db.run_mutation(business_id, work)
    return ResetRequestResult([])


async def reset_password(
    db: Database, links: Links | None, business_ref: str, token: str, password: str
) -> SignInResult:
    """Set a password from an emailed link (a reset link, or the set-password link of a welcome
    or invitation email): once, before it expires, for someone who may sign in. Proves the
    mailbox, so the email counts as verified."""
    business_id = await portal_business(db, business_ref)
    if business_id is None:
        return SignInResult(None, [unknown_business("input.business")])
    claims = _password_link(links, token)
    if claims is None or claims.business_id != business_id:
        return SignInResult(None, [user_error(ErrorCode.INVALID, "input.token", LINK_INVALID)])
    errors: list[UserError] = []
    check_password(password, "input.password", errors)
    if errors:
        return SignInResult(None, errors)
    password_hash = await hash_password_off_loop(password)

    async def work(conn: AsyncConnection) -> SignInResult:
        member = await _locked_member(conn, claims.person_id)
        if member is None or member.token_version != claims.token_version:
            raise UserFacingError(user_error(ErrorCode.INVALID, "input.token", LINK_INVALID))
        if not member.may_sign_in:
            raise UserFacingError(sign_in_refused())
        actor = await account_history.actor_for(conn, member.viewer(business_id))
        version = await store_password(
            conn, business_id, actor, member, password_hash, action="password.reset"
        )
        await conn.execute(
            text(
                f"UPDATE {CUSTOMER_TABLE[member.role]} SET email_verified_at = now()"
                " WHERE id = :id AND email_verified_at IS NULL"
            ),
            {"id": member.id},
        )
        return SignInResult(member.viewer(business_id, version), [])

    try:
        return await db.run_mutation(business_id, work)
    except UserFacingError as refused:
        return SignInResult(None, refused.errors)


def _password_link(links: Links | None, token: str) -> LinkClaims | None:
    if not isinstance(links, SignedLinks) or len(token) > 2000:
        return None
    return links.verify(token, RESET_PASSWORD) or links.verify(token, SET_PASSWORD)


async def _locked_member(conn: AsyncConnection, person_id: uuid.UUID) -> Member | None:
    """The member, with their row locked (so two uses of one link cannot both succeed)."""
    for table in CUSTOMER_TABLE.values():
        await conn.execute(
            text(f"SELECT 1 FROM {table} WHERE id = :id FOR UPDATE"), {"id": person_id}
        )
    return await member_by_id(conn, person_id)


# Sign-up and email verification ---------------------------------------------------------------


@dataclass(frozen=True)
class SignUp:
    business: str
    first_name: str
    last_name: str
    email: str
    password: str
    mobile: str | None
    marketing_consent: bool
    consent_wording: str | None


async def sign_up(db: Database, links: Links | None, new: SignUp) -> SignInResult:
    """A new app user (a customer with origin PORTAL_SIGNUP), signed in at once; a verification
    email goes out through the outbox. The email must be free in the business's login
    namespace (DUPLICATE otherwise)."""
    business_id = await portal_business(db, new.business)
    if business_id is None:
        return SignInResult(None, [unknown_business("input.business")])
    errors: list[UserError] = []
    check_password(new.password, "input.password", errors)
    wording = consent.clean_wording(new.consent_wording, "input.consentWording", errors)
    if new.marketing_consent and wording is None and not errors:
        errors.append(
            user_error(
                ErrorCode.REQUIRED,
                "input.consentWording",
                "Send the consent wording the member was shown.",
            )
        )
    if errors:
        return SignInResult(None, errors)

    async def work(conn: AsyncConnection) -> SignInResult:
        country = str((await conn.execute(text("SELECT country FROM businesses"))).scalar_one())
        details = customer_contact.NewCustomer(
            new.first_name, new.last_name, new.email, new.mobile, new.password
        )
        actor = Actor("CUSTOMER", None, f"{new.first_name} {new.last_name}".strip()[:200])
        customer_id = await customer_contact.create_customer(
            conn, actor, business_id, country, details, origin="PORTAL_SIGNUP"
        )
        actor = Actor("CUSTOMER", customer_id, actor.name)
        if new.marketing_consent and wording is not None:
            person = consent.ConsentPerson(Role.CUSTOMER, customer_id)
            await consent.set_marketing_consent(
                conn, business_id, actor, person, True, consent.SIGN_UP, wording
            )
        await queue_verification(conn, business_id, customer_id, links)
        return SignInResult(Viewer(business_id, Role.CUSTOMER, customer_id, 1), [])

    try:
        return await db.run_mutation(business_id, work)
    except UserFacingError as refused:
        return SignInResult(None, refused.errors)
    except IntegrityError as error:  # a concurrent sign-up took the email first
        if sqlstate_of(error) == UNIQUE_VIOLATION:
            return SignInResult(None, [customer_contact.duplicate_email("input.email")])
        raise


async def queue_verification(
    conn: AsyncConnection, business_id: uuid.UUID, person_id: uuid.UUID, links: Links | None
) -> None:
    """Ask the person to confirm a (new) login email."""
    await outbox.queue_email(
        conn,
        business_id=business_id,
        person_id=person_id,
        template=VERIFY_EMAIL_TEMPLATE,
        purpose=outbox.SERVICE,
        links=links,
    )


async def verify_email(db: Database, links: SignedLinks, token: str) -> bool:
    """Mark the email a verification link was sent to as verified, if it is still the person's
    login email. True when the link was genuine and matched."""
    claims = links.verify(token, VERIFY_EMAIL) if len(token) <= 2000 else None
    if claims is None or claims.email_digest is None:
        return False
    digest = claims.email_digest

    async def work(conn: AsyncConnection) -> bool:
        member = await member_by_id(conn, claims.person_id)
        if member is None or email_digest(member.email) != digest:
            return False
        await conn.execute(
            text(
                f"UPDATE {CUSTOMER_TABLE[member.role]} SET email_verified_at = now()"
                " WHERE id = :id AND email_verified_at IS NULL"
            ),
            {"id": member.id},
        )
        return True

    return await db.run_mutation(claims.business_id, work)


async def account_of(conn: AsyncConnection, viewer: Viewer) -> uuid.UUID:
    """The customer account a member acts for: their own, or their buyer's."""
    if viewer.role is Role.CUSTOMER:
        return viewer.subject_id
    found = await conn.execute(
        text("SELECT customer_id FROM additional_users WHERE id = :id"), {"id": viewer.subject_id}
    )
    return uuid.UUID(str(found.scalar_one()))


async def update_contact(
    conn: AsyncConnection,
    actor: Actor,
    viewer: Viewer,
    version: int,
    details: PersonDetails,
    links: Links | None,
) -> None:
    """The member's own contact edit, under the same rules as staff edits. A new login email
    loses its verified mark (a trigger clears it) and is sent a fresh confirmation link."""
    table = CUSTOMER_TABLE[viewer.role]
    before = await conn.execute(
        text(f"SELECT email FROM {table} WHERE id = :id"), {"id": viewer.subject_id}
    )
    old_email = before.scalar_one()
    country = await business_country(conn)
    if viewer.role is Role.CUSTOMER:
        change = customer_contact.ContactChange(
            customer_id=viewer.subject_id,
            version=version,
            first_name=details.first_name,
            last_name=details.last_name,
            email=details.email,
            mobile=details.mobile,
        )
        await customer_contact.update_contact(conn, actor, viewer.business_id, country, change)
    else:
        await update_additional_user(
            conn, actor, viewer.business_id, country, viewer.subject_id, version, details
        )
    if details.email is not None and email_key(details.email) != email_key(old_email or ""):
        await queue_verification(conn, viewer.business_id, viewer.subject_id, links)
