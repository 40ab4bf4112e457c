"""Who may call what. Checked once per root field or object, never per scalar field.

Every root field declares exactly one `RolePermission` subclass, whose `roles` (and `public`)
say who may call it. The declaration is machine-readable on purpose: the permission matrix
test reads it from the schema and fails on a root field without one, so a new field cannot
escape review. To open a field to a new audience, declare a new subclass with its role set
(e.g. `roles = MEMBERS`) rather than checking roles inside the resolver.
"""

from __future__ import annotations

from typing import Any, ClassVar, Final

from graphql import GraphQLField, GraphQLSchema
from strawberry.permission import BasePermission
from strawberry.types import Info
from strawberry.types.field import StrawberryField

from schema.errors import ApiError, ErrorCode
from server.auth import Role, Viewer
from server.context import Context

STAFF: Final = frozenset({Role.OWNER, Role.STAFF})
MEMBERS: Final = frozenset({Role.CUSTOMER, Role.ADDITIONAL_USER})
SIGNED_IN: Final = STAFF | MEMBERS


def authenticated_viewer(info: Info[Context, Any]) -> Viewer:
    context = info.context
    if context.viewer is None:
        message = context.auth_error or "Sign in: send a bearer token in the Authorization header."
        raise ApiError(ErrorCode.UNAUTHENTICATED, message)
    return context.viewer


class RolePermission(BasePermission):
    """Allows the roles in `roles`; anyone at all when `public`. Without a token the answer is
    UNAUTHENTICATED, with a token of another role FORBIDDEN."""

    roles: ClassVar[frozenset[Role]] = frozenset()
    public: ClassVar[bool] = False
    # Words every description of a field with this permission contains, so the documentation
    # says who may call it (checked by the permission matrix test).
    phrase: ClassVar[str] = ""
    message = "Your role may not do this."

    def has_permission(self, source: Any, info: Info[Context, Any], **kwargs: Any) -> bool:
        self.check(info)
        return True

    @classmethod
    def check(cls, info: Info[Context, Any]) -> None:
        if cls.public:
            return
        if authenticated_viewer(info).role not in cls.roles:
            raise ApiError(ErrorCode.FORBIDDEN, cls.message)


class IsPublic(RolePermission):
    """Anyone, with or without a token."""

    public = True
    roles = SIGNED_IN
    phrase = "No token needed."


class IsAuthenticated(RolePermission):
    """Any signed-in viewer: staff, a customer or an additional user."""

    roles = SIGNED_IN
    message = "Sign in first."
    phrase = "a member"


class IsStaff(RolePermission):
    """Owners and staff of the business."""

    roles = STAFF
    phrase = "Staff only."
    message = "Only the business's owners and staff may do this."


# The federation fields Strawberry adds itself, declared here since they have no decorator.
FEDERATION_FIELDS: Final[dict[str, type[RolePermission]]] = {
    "_service": IsPublic,  # the router fetches the SDL without a caller
    "_entities": IsAuthenticated,  # the gateway forwards the caller's token
}


def declared_permission(name: str, field: GraphQLField) -> type[RolePermission] | None:
    """The one permission a root field declares, or None when it declares none (or several)."""
    if name in FEDERATION_FIELDS:
        return FEDERATION_FIELDS[name]
    definition = (field.extensions or {}).get("strawberry-definition")
    if not isinstance(definition, StrawberryField):
        return None
    declared = [p for p in definition.permission_classes if issubclass(p, RolePermission)]
    return declared[0] if len(declared) == 1 else None


def root_fields(schema: GraphQLSchema) -> dict[tuple[str, str], GraphQLField]:
    """Every field of the query and mutation roots, keyed by (root type name, field name)."""
    roots = [t for t in (schema.query_type, schema.mutation_type) if t is not None]
    return {(root.name, name): field for root in roots for name, field in root.fields.items()}
