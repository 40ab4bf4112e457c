"""Bearer tokens: who the viewer is.

Tokens are JWTs verified against `JWT_VERIFY_KEYS`, chosen by the header's `kid` and the
claim `iss` (ours, plus the staff identity service's). Claims: `bid` (business), `role`, `sub`
(a staff user's or a person's id), `ver` (the subject's token version: bumping it revokes every
token issued before), `aud`, `iat`, `exp` (at most 60 minutes after `iat`).
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from enum import Enum
from typing import Any

import jwt

MAX_TOKEN_LIFETIME_S = 3600
# How many verified tokens a process remembers (see `TokenService.verify`).
VERIFIED_TOKENS_KEPT = 10_000


class Role(Enum):
    OWNER = "owner"
    STAFF = "staff"
    CUSTOMER = "customer"
    ADDITIONAL_USER = "additional_user"

    @property
    def is_staff(self) -> bool:
        return self in (Role.OWNER, Role.STAFF)


@dataclass(frozen=True)
class Viewer:
    """The authenticated caller."""

    business_id: uuid.UUID
    role: Role
    subject_id: uuid.UUID
    token_version: int

    @property
    def is_staff(self) -> bool:
        return self.role.is_staff


class TokenError(Exception):
    """The token is missing, malformed, expired, or signed by a key we do not trust."""


@dataclass(frozen=True)
class VerifyKey:
    kid: str
    issuer: str
    algorithm: str
    key: Any


@dataclass(frozen=True)
class SigningKey:
    kid: str
    algorithm: str
    key: Any


def _load_key(algorithm: str, material: str, *, private: bool) -> Any:
    if algorithm == "HS256":
        return material.encode()
    if algorithm == "EdDSA":
        from cryptography.hazmat.primitives import serialization

        data = material.encode()
        if private:
            return serialization.load_pem_private_key(data, password=None)
        return serialization.load_pem_public_key(data)
    raise ValueError(f"Unsupported token algorithm {algorithm!r} (use HS256 or EdDSA).")


def parse_verify_keys(raw: str, default_issuer: str) -> dict[tuple[str, str], VerifyKey]:
    """`JWT_VERIFY_KEYS`: a JSON list of `{kid, iss, alg, key}`, or `kid=secret` pairs (HS256,
    our own issuer) separated by commas, for development."""
    keys: dict[tuple[str, str], VerifyKey] = {}
    if not raw.strip():
        return keys
    if raw.lstrip().startswith("["):
        for item in json.loads(raw):
            alg = item.get("alg", "HS256")
            key = VerifyKey(
                item["kid"],
                item.get("iss", default_issuer),
                alg,
                _load_key(alg, item["key"], private=False),
            )
            keys[(key.kid, key.issuer)] = key
        return keys
    for pair in raw.split(","):
        kid, _, secret = pair.partition("=")
        keys[(kid.strip(), default_issuer)] = VerifyKey(
            kid.strip(), default_issuer, "HS256", secret.strip().encode()
        )
    return keys


def parse_signing_key(raw: str) -> SigningKey | None:
    """`JWT_SIGNING_KEY`: JSON `{kid, alg, key}` or `kid=secret` (HS256, development)."""
    if not raw.strip():
        return None
    if raw.lstrip().startswith("{"):
        item = json.loads(raw)
        alg = item.get("alg", "EdDSA")
        return SigningKey(item["kid"], alg, _load_key(alg, item["key"], private=True))
    kid, _, secret = raw.partition("=")
    return SigningKey(kid.strip(), "HS256", secret.strip().encode())


class TokenService:
    """Verifies every incoming token and signs the member tokens this service issues."""

    def __init__(
        self,
        verify_keys: dict[tuple[str, str], VerifyKey],
        signing_key: SigningKey | None,
        issuer: str,
        audience: str,
    ) -> None:
        self._verify_keys = verify_keys
        self._signing_key = signing_key
        self.issuer = issuer
        self.audience = audience
        # Tokens already verified, with their expiry: a client sends the same token on every
        # request, and checking its signature and claims each time cost more than the rest of
        # a small request. Only its expiry changes with time, so that alone is checked again.
        self._verified: dict[str, tuple[Viewer, int]] = {}

    def verify(self, token: str) -> Viewer:
        """The viewer a token names, or TokenError saying why it is refused."""
        known = self._verified.get(token)
        if known is not None:
            viewer, expires = known
            if time.time() < expires:
                return viewer
            del self._verified[token]
            raise TokenError("The token has expired.")
        viewer, expires = self._verify_afresh(token)
        if len(self._verified) >= VERIFIED_TOKENS_KEPT:
            self._verified.clear()
        self._verified[token] = (viewer, expires)
        return viewer

    def _verify_afresh(self, token: str) -> tuple[Viewer, int]:
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError as error:
            raise TokenError("The token is malformed.") from error
        key = self._verify_keys.get((str(header.get("kid")), str(unverified.get("iss"))))
        if key is None:
            raise TokenError("The token is signed by an unknown key or issuer.")
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=[key.algorithm],
                audience=self.audience,
                issuer=key.issuer,
                options={"require": ["exp", "iat", "sub", "aud", "iss", "bid", "role", "ver"]},
            )
        except jwt.ExpiredSignatureError as error:
            raise TokenError("The token has expired.") from error
        except jwt.PyJWTError as error:
            raise TokenError(f"The token is not valid: {error}.") from error
        if int(claims["exp"]) - int(claims["iat"]) > MAX_TOKEN_LIFETIME_S:
            raise TokenError("The token lives longer than 60 minutes.")
        try:
            viewer = Viewer(
                business_id=uuid.UUID(str(claims["bid"])),
                role=Role(claims["role"]),
                subject_id=uuid.UUID(str(claims["sub"])),
                token_version=int(claims["ver"]),
            )
            return viewer, int(claims["exp"])
        except (ValueError, TypeError) as error:
            raise TokenError("The token's claims are malformed.") from error

    def sign(self, viewer: Viewer, lifetime_s: int = MAX_TOKEN_LIFETIME_S) -> str:
        if self._signing_key is None:
            raise RuntimeError("JWT_SIGNING_KEY is not configured.")
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": self.audience,
            "iat": now,
            "exp": now + min(lifetime_s, MAX_TOKEN_LIFETIME_S),
            "sub": str(viewer.subject_id),
            "bid": str(viewer.business_id),
            "role": viewer.role.value,
            "ver": viewer.token_version,
        }
        return jwt.encode(
            claims,
            self._signing_key.key,
            algorithm=self._signing_key.algorithm,
            headers={"kid": self._signing_key.kid},
        )


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()
