"""Who may call what. Checked once per root field or object, never per scalar field."""

from __future__ import annotations

from typing import Any

from strawberry.permission import BasePermission
from strawberry.types import Info

from schema.errors import ApiError, ErrorCode
from server.auth import Viewer
from server.context import Context


def authenticated_viewer(info: Info[Context, Any]) -> Viewer:
    context = info.context
    if context.viewer is None:
        message = context.auth_error or "Sign in: send a bearer token in the Authorization header."
        raise ApiError(ErrorCode.UNAUTHENTICATED, message)
    return context.viewer


class IsAuthenticated(BasePermission):
    """Any signed-in viewer: staff, a customer or an additional user."""

    message = "Sign in first."

    def has_permission(self, source: Any, info: Info[Context, Any], **kwargs: Any) -> bool:
        authenticated_viewer(info)
        return True


class IsStaff(BasePermission):
    """Owners and staff of the business."""

    message = "Only the business's owners and staff may do this."

    def has_permission(self, source: Any, info: Info[Context, Any], **kwargs: Any) -> bool:
        if not authenticated_viewer(info).is_staff:
            raise ApiError(ErrorCode.FORBIDDEN, self.message)
        return True
