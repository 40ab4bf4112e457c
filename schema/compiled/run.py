"""Running a compiled operation for one request."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from types import SimpleNamespace
from typing import Any, TypeGuard, cast

import orjson
from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import GraphQLError, GraphQLSchema, located_error
from strawberry.execution import optimized_is_awaitable
from strawberry.types import ExecutionResult, Info

from schema.compiled.executor import PlanExecutor
from schema.compiled.plan import OperationPlan
from schema.compiled.sql_plan import Bound, Forbidden
from schema.profile import _staff_only as staff_only
from server.context import Context

# Strawberry's faster check, the one its own execution passes to graphql-core.
_is_awaitable = cast("Callable[[Any], TypeGuard[Awaitable[Any]]]", optimized_is_awaitable)


async def execute_plan(
    schema: GraphQLSchema,
    plan: OperationPlan,
    context: Any,
    variables: dict[str, Any] | None,
    operation_name: str | None,
    root_value: Any = None,
) -> ExecutionResult:
    """What Strawberry's `Schema.execute` answers for this operation, without parsing,
    validating or collecting selections again (the plan did that once)."""
    try:
        executor = PlanExecutor.build(
            schema,
            plan.document,
            root_value,
            context,
            variables,
            operation_name,
            is_awaitable=_is_awaitable,
        )
        if isinstance(executor, list):
            return ExecutionResult(data=None, errors=executor)
        assert isinstance(executor, PlanExecutor)
        executor.plan = plan
        result = executor.execute_operation()
        if _is_awaitable(result):
            result = await result
    except Exception as error:
        located = (
            error
            if isinstance(error, GraphQLError)
            else GraphQLError(str(error), original_error=error)
        )
        return ExecutionResult(data=None, errors=[located])
    assert isinstance(result, GraphQLExecutionResult)
    return ExecutionResult(data=result.data, errors=result.errors)


async def execute_sql(context: Context, bound: Bound) -> ExecutionResult | None:
    """The response of a one-statement plan: PostgreSQL writes `data` as JSON text, which goes
    out as it is (orjson embeds a Fragment without parsing it), with the FORBIDDEN errors of
    staff-only fields a member asked for. None when a non-null field read NULL (the text is
    then NULL): only today's path reports that as plain execution does."""
    if not bound.forbidden:
        data = await context.reader.fetchval_raw(bound.sql, *bound.params)
        errors: list[GraphQLError] = []
    else:
        (row,) = await context.reader.fetch_raw(bound.sql, *bound.params)
        data, found = row[0], row[1]
        errors = [_forbidden(context, f) for f in bound.forbidden if found[f.root]]
    if data is None:
        return None
    return ExecutionResult(
        data=cast("dict[str, Any]", orjson.Fragment(data)), errors=errors or None
    )


def _forbidden(context: Context, forbidden: Forbidden) -> GraphQLError:
    """The error the field's own check raises for this viewer, where graphql-core puts it."""
    try:
        staff_only(cast("Info[Context, Any]", SimpleNamespace(context=context)))
    except GraphQLError as error:
        return located_error(error, list(forbidden.nodes), list(forbidden.path))
    raise AssertionError("a staff-only field was refused to staff")
