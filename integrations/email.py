"""Email content: staff-written templates with merge fields, and the message that goes out.

Templates are written by staff, so they are never given to `str.format` or an f-string (which
would let `{0.__class__}` and friends reach into objects). A template is parsed once into literal
text and references to a FIXED list of merge fields; an unknown field is an error the author
sees. Values are HTML-escaped in HTML parts and stripped of line breaks in the subject.

`{first_name}` is a field; `{{` and `}}` are literal braces; any other brace is literal text.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import html
import json
import re
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.header import Header
from email.message import EmailMessage, Message
from email.policy import Policy, compat32
from email.utils import format_datetime, formataddr, parseaddr
from typing import Any, Final, Protocol

MERGE_FIELDS: Final = (
    "first_name",
    "last_name",
    "full_name",
    "business_name",
    "unsubscribe_url",
    "set_password_url",
    "reset_password_url",
    "verify_email_url",
)
# What staff may write into bulk messages: the account links (password reset, email
# confirmation) are sent only by the service's own emails.
STAFF_MERGE_FIELDS: Final = MERGE_FIELDS[:6]
URL_FIELDS: Final = frozenset(
    {"unsubscribe_url", "set_password_url", "reset_password_url", "verify_email_url"}
)
SUBJECT_MAX: Final = 300

_TOKEN = re.compile(r"\{\{|\}\}|\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}")
_LINE_BREAKS = re.compile(r"[\r\n]+")


class TemplateError(ValueError):
    """A template names fields that are not merge fields."""

    def __init__(self, unknown: list[str], available: tuple[str, ...] = MERGE_FIELDS) -> None:
        names = ", ".join(f"{{{name}}}" for name in unknown)
        allowed = ", ".join(f"{{{name}}}" for name in available)
        super().__init__(f"Unknown merge field {names}; available: {allowed}.")
        self.unknown = unknown


@dataclass(frozen=True)
class Field:
    """A reference to one merge field."""

    name: str


@dataclass(frozen=True)
class Template:
    """Parsed template text: literal strings and merge-field references, in order."""

    parts: tuple[str | Field, ...]

    @classmethod
    def parse(cls, source: str, available: tuple[str, ...] = MERGE_FIELDS) -> Template:
        parts: list[str | Field] = []
        unknown: list[str] = []
        position = 0
        for match in _TOKEN.finditer(source):
            parts.append(source[position : match.start()])
            token, name = match.group(0), match.group(1)
            if name is None:
                parts.append(token[0])
            elif name in available:
                parts.append(Field(name))
            elif name not in unknown:
                unknown.append(name)
            position = match.end()
        if unknown:
            raise TemplateError(unknown, available)
        parts.append(source[position:])
        return cls(tuple(part for part in parts if part != ""))

    @property
    def fields(self) -> frozenset[str]:
        return frozenset(part.name for part in self.parts if isinstance(part, Field))

    def render_text(self, values: Mapping[str, str]) -> str:
        return "".join(
            values.get(part.name, "") if isinstance(part, Field) else part for part in self.parts
        )

    def render_subject(self, values: Mapping[str, str]) -> str:
        """One line, at most SUBJECT_MAX characters: a value with a line break cannot add a
        header."""
        rendered = _LINE_BREAKS.sub(" ", self.render_text(values)).strip()
        return rendered[:SUBJECT_MAX]

    def render_html(self, values: Mapping[str, str]) -> str:
        """For an HTML template: literal parts as written, every value escaped (attribute-safe,
        so `href="{unsubscribe_url}"` works)."""
        return "".join(
            html.escape(values.get(part.name, ""), quote=True) if isinstance(part, Field) else part
            for part in self.parts
        )

    def render_text_as_html(self, values: Mapping[str, str]) -> str:
        """For a plain-text template: everything escaped, blank lines as paragraphs, line breaks
        kept, link fields as links."""
        pieces: list[str] = []
        for part in self.parts:
            if isinstance(part, Field):
                value = html.escape(values.get(part.name, ""), quote=True)
                if part.name in URL_FIELDS and value:
                    value = f'<a href="{value}">{value}</a>'
                pieces.append(value)
            else:
                pieces.append(html.escape(part, quote=False))
        text = "".join(pieces).replace("\r\n", "\n")
        paragraphs = [p for p in re.split(r"\n\s*\n", text) if p.strip()]
        return "\n".join(f"<p>{p.strip().replace(chr(10), '<br>')}</p>" for p in paragraphs)


@dataclass(frozen=True)
class EmailTemplate:
    """What staff write: a subject, a plain-text body and optionally an HTML body (otherwise
    derived from the text)."""

    subject: Template
    text: Template
    html: Template | None = None

    @classmethod
    def parse(cls, subject: str, text: str, html_body: str | None = None) -> EmailTemplate:
        """Raises TemplateError naming every unknown field across the three parts."""
        unknown: list[str] = []
        parsed: list[Template | None] = []
        for source in (subject, text, html_body):
            if source is None:
                parsed.append(None)
                continue
            try:
                parsed.append(Template.parse(source))
            except TemplateError as error:
                unknown.extend(name for name in error.unknown if name not in unknown)
                parsed.append(None)
        if unknown:
            raise TemplateError(unknown)
        subject_t, text_t, html_t = parsed
        assert subject_t is not None and text_t is not None
        return cls(subject_t, text_t, html_t)

    @property
    def fields(self) -> frozenset[str]:
        found = self.subject.fields | self.text.fields
        return found | self.html.fields if self.html is not None else found

    def render(self, values: Mapping[str, str], *, unsubscribe_footer: bool = False) -> Rendered:
        """The three parts with `values` merged in. `unsubscribe_footer` appends the
        unsubscribe link when the template does not place it itself (marketing email)."""
        text = self.text.render_text(values)
        body_html = (
            self.html.render_html(values)
            if self.html is not None
            else self.text.render_text_as_html(values)
        )
        url = values.get("unsubscribe_url", "")
        if unsubscribe_footer and url and "unsubscribe_url" not in self.fields:
            text = f"{text.rstrip()}\n\n--\nUnsubscribe from these emails: {url}\n"
            link = html.escape(url, quote=True)
            body_html += f'\n<p><a href="{link}">Unsubscribe from these emails</a></p>'
        return Rendered(self.subject.render_subject(values), text, body_html)


@dataclass(frozen=True)
class Rendered:
    """A template with one recipient's values merged in."""

    subject: str
    text: str
    html: str


def merge_values(
    *,
    first_name: str,
    last_name: str,
    business_name: str,
    unsubscribe_url: str = "",
    set_password_url: str = "",
    reset_password_url: str = "",
    verify_email_url: str = "",
) -> dict[str, str]:
    """Every merge field's value for one recipient (the only way values are built)."""
    return {
        "first_name": first_name,
        "last_name": last_name,
        "full_name": f"{first_name} {last_name}".strip(),
        "business_name": business_name,
        "unsubscribe_url": unsubscribe_url,
        "set_password_url": set_password_url,
        "reset_password_url": reset_password_url,
        "verify_email_url": verify_email_url,
    }


def build_message(
    *,
    message_id: uuid.UUID,
    from_address: str,
    from_name: str | None,
    to_address: str,
    to_name: str | None,
    subject: str,
    text: str,
    html_body: str | None,
    unsubscribe_url: str | None = None,
) -> EmailMessage:
    """The MIME message: text plus an HTML alternative. Its Message-ID is derived from the
    outbox row, so a receiving server can recognise a copy.

    Headers are written out here, already encoded, as `Verbatim` values: the header registry
    of the SMTP policies parses every header it is given, and again each time the message is
    written, about 5 ms per message here, which made MIME building most of a 50,000-person
    job's CPU (0.3 ms this way). What goes out is a standard message: display names and
    subjects RFC 2047-encoded when not ASCII, bodies 7bit when they can be and
    quoted-printable otherwise."""
    message = EmailMessage(policy=compat32)
    _put(message, "From", _mailbox(from_name, from_address))
    _put(message, "To", _mailbox(to_name, to_address))
    _put(message, "Subject", _header_text(subject))
    _put(message, "Date", format_datetime(datetime.now(UTC)))
    domain = parseaddr(from_address)[1].rpartition("@")[2] or "localhost"
    _put(message, "Message-ID", f"<{message_id}@{domain}>")
    if unsubscribe_url:
        # A URL cannot be folded; a long one is left on one line (RFC 5322 allows 998
        # characters) rather than turned into encoded words no mail client would follow.
        _put(message, "List-Unsubscribe", f"<{unsubscribe_url}>")
        _put(message, "List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
    _put(message, "MIME-Version", "1.0")
    if not html_body:
        _set_text(message, "plain", text)
        return message
    parts: list[Message | str] = [_text_part("plain", text), _text_part("html", html_body)]
    boundary = f"=_{message_id.hex}"
    # Quoted-printable text cannot hold `=_`; 7bit text holds what was written.
    while f"--{boundary}" in text or f"--{boundary}" in html_body:
        boundary = f"=_{uuid.uuid4().hex}"
    _put(message, "Content-Type", f'multipart/alternative;\n boundary="{boundary}"')
    message.set_payload(parts)
    return message


class Verbatim(str):
    """A header value that is written as it is: already encoded and folded (lines joined by
    LF and a space). Having a `name`, it is neither parsed nor refolded by the SMTP policies."""

    name: str

    def fold(self, *, policy: Policy) -> str:
        return f"{self.name}: {policy.linesep.join(self.split(chr(10)))}{policy.linesep}"


# A line break that does not start a continuation line would start a header of its own.
_UNFOLDED_BREAK = re.compile(r"\r\n?(?![ \t])|\r|\n(?![ \t])")


def _put(message: EmailMessage, name: str, value: str) -> None:
    verbatim = Verbatim(_UNFOLDED_BREAK.sub(" ", value))
    verbatim.name = name
    message[name] = verbatim


def _mailbox(name: str | None, address: str) -> str:
    """`Name <address>`, the name quoted or RFC 2047-encoded as it needs (an address that is
    not ASCII goes out as UTF-8, over SMTPUTF8)."""
    address = _LINE_BREAKS.sub(" ", address)
    if not name:
        return address
    name = _LINE_BREAKS.sub(" ", name)
    placeholder = "_@_"
    display = formataddr((name, placeholder), charset="utf-8").removesuffix(f"<{placeholder}>")
    return f"{display}<{address}>"


def _header_text(value: str) -> str:
    """Header text as ASCII, folded at 78 characters (RFC 2047 encoded words when needed)."""
    value = _LINE_BREAKS.sub(" ", value)
    if value.isascii() and len(value) < 60:
        return value
    return Header(value, "utf-8" if not value.isascii() else "us-ascii", 78, "Subject").encode()


def _text_part(subtype: str, content: str) -> EmailMessage:
    part = EmailMessage(policy=compat32)
    _set_text(part, subtype, content)
    return part


# RFC 5322's line limit, without the line break.
_MAX_LINE: Final = 998


def _set_text(part: EmailMessage, subtype: str, content: str) -> None:
    content = content.replace("\r\n", "\n").replace("\r", "\n")
    if not content.endswith("\n"):
        content += "\n"
    _put(part, "Content-Type", f'text/{subtype}; charset="utf-8"')
    if content.isascii() and all(len(line) <= _MAX_LINE for line in content.split("\n")):
        _put(part, "Content-Transfer-Encoding", "7bit")
        part.set_payload(content)
    else:
        _put(part, "Content-Transfer-Encoding", "quoted-printable")
        part.set_payload(binascii.b2a_qp(content.encode(), istext=True).decode("ascii"))


class Links(Protocol):
    """Builds the links merge fields point to."""

    def unsubscribe_url(self, business_id: uuid.UUID, person_id: uuid.UUID) -> str: ...

    def set_password_url(
        self, business_id: uuid.UUID, person_id: uuid.UUID, token_version: int
    ) -> str: ...

    def reset_password_url(
        self, business_id: uuid.UUID, person_id: uuid.UUID, token_version: int
    ) -> str: ...

    def verify_email_url(self, business_id: uuid.UUID, person_id: uuid.UUID, email: str) -> str: ...


UNSUBSCRIBE = "unsubscribe"
SET_PASSWORD = "set-password"
RESET_PASSWORD = "reset-password"
VERIFY_EMAIL = "verify-email"


def email_digest(email: str) -> str:
    """What a verification link says about the address it was sent to (so it verifies that
    address only, not one the person changed to later)."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]


EXPORT = "export"


@dataclass(frozen=True)
class LinkClaims:
    """What a verified link says."""

    purpose: str
    business_id: uuid.UUID
    person_id: uuid.UUID
    # The person's token version when the link was made: a set-password link is spent once
    # the version moves on (setting a password bumps it).
    token_version: int | None
    # For email verification: the digest of the address the link was sent to.
    email_digest: str | None = None
    # What else the link stands for (an export's selection); empty for email links.
    data: Mapping[str, Any] = field(default_factory=dict)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SignedLinks:
    """Links carrying an HMAC-signed token: `{base}/unsubscribe?token=...` (valid a year),
    `{base}/set-password?token=...` (valid a week), `{base}/reset-password?token=...` (valid
    two hours), `{base}/verify-email?token=...` (valid a week) and
    `{base}/exports/people.csv?token=...` (a staff member's CSV download, valid 15 minutes). The
    routes (or the portal pages) that receive them call `verify` with the purpose they serve, so
    a token made for one cannot open another. Password links are spent once the person's token
    version moves on, which setting a password does.

    `secrets` is `LINK_SIGNING_SECRET`: one secret, or several separated by commas to rotate
    them. Links are signed with the first and accepted with any, so a new secret goes first
    and the old one stays listed until the links it signed have expired."""

    LIFETIMES: Final = {
        UNSUBSCRIBE: 365 * 86400,
        SET_PASSWORD: 7 * 86400,
        RESET_PASSWORD: 2 * 3600,
        VERIFY_EMAIL: 7 * 86400,
        EXPORT: 15 * 60,
    }

    def __init__(self, base_url: str, secrets: str) -> None:
        listed = [s.strip() for s in secrets.split(",") if s.strip()]
        if not listed:
            raise ValueError("Links need a signing secret (LINK_SIGNING_SECRET).")
        self.base_url = base_url.rstrip("/")
        self._keys = [
            hashlib.sha256(b"customer-subgraph links\x00" + s.encode()).digest() for s in listed
        ]
        self._key = self._keys[0]

    def _token(
        self,
        purpose: str,
        business_id: uuid.UUID,
        person_id: uuid.UUID,
        version: int | None,
        *,
        digest: str | None = None,
        data: Mapping[str, Any] | None = None,
        expires: int | None = None,
    ) -> str:
        claims: dict[str, Any] = {
            "p": purpose,
            "b": str(business_id),
            "s": str(person_id),
            "v": version,
            "e": expires if expires is not None else int(time.time()) + self.LIFETIMES[purpose],
        }
        if digest is not None:
            claims["m"] = digest
        if data is not None:
            claims["d"] = dict(data)
        body = _b64(json.dumps(claims, separators=(",", ":")).encode())
        signature = _b64(hmac.new(self._key, body.encode(), hashlib.sha256).digest())
        return f"{body}.{signature}"

    def unsubscribe_url(self, business_id: uuid.UUID, person_id: uuid.UUID) -> str:
        token = self._token(UNSUBSCRIBE, business_id, person_id, None)
        return f"{self.base_url}/unsubscribe?token={token}"

    def set_password_url(
        self, business_id: uuid.UUID, person_id: uuid.UUID, token_version: int
    ) -> str:
        token = self._token(SET_PASSWORD, business_id, person_id, token_version)
        return f"{self.base_url}/set-password?token={token}"

    def reset_password_url(
        self, business_id: uuid.UUID, person_id: uuid.UUID, token_version: int
    ) -> str:
        token = self._token(RESET_PASSWORD, business_id, person_id, token_version)
        return f"{self.base_url}/reset-password?token={token}"

    def verify_email_url(self, business_id: uuid.UUID, person_id: uuid.UUID, email: str) -> str:
        token = self._token(VERIFY_EMAIL, business_id, person_id, None, digest=email_digest(email))
        return f"{self.base_url}/verify-email?token={token}"

    def export_url(
        self,
        business_id: uuid.UUID,
        staff_id: uuid.UUID,
        token_version: int,
        data: Mapping[str, Any],
    ) -> tuple[str, datetime]:
        """A CSV download link for a staff member (bound to their token version, so it dies
        with their tokens) and the moment it expires."""
        expires = int(time.time()) + self.LIFETIMES[EXPORT]
        token = self._token(
            EXPORT, business_id, staff_id, token_version, data=data, expires=expires
        )
        return f"{self.base_url}/exports/people.csv?token={token}", datetime.fromtimestamp(
            expires, UTC
        )

    def verify(self, token: str, purpose: str) -> LinkClaims | None:
        """The claims of a genuine, unexpired token made for `purpose`; otherwise None."""
        body, _, signature = token.partition(".")
        # Bytes: a tampered token may carry characters `compare_digest` refuses as text.
        if not signature or not any(
            hmac.compare_digest(
                signature.encode(),
                _b64(hmac.new(key, body.encode(), hashlib.sha256).digest()).encode(),
            )
            for key in self._keys
        ):
            return None
        try:
            claims = json.loads(_unb64(body))
            data = claims.get("d", {})
            if not isinstance(data, dict):
                return None
            found = LinkClaims(
                purpose=str(claims["p"]),
                business_id=uuid.UUID(claims["b"]),
                person_id=uuid.UUID(claims["s"]),
                token_version=None if claims["v"] is None else int(claims["v"]),
                email_digest=None if claims.get("m") is None else str(claims["m"]),
                data=data,
            )
            expires = int(claims["e"])
        except (ValueError, KeyError, TypeError, AttributeError):
            return None
        if found.purpose != purpose or expires < time.time():
            return None
        return found
