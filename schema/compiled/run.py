"""Running a compiled operation for one request."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeGuard, cast

import orjson
from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import GraphQLError, GraphQLSchema
from strawberry.execution import optimized_is_awaitable
from strawberry.types import ExecutionResult

from schema.compiled.executor import PlanExecutor
from schema.compiled.plan import OperationPlan
from schema.compiled.sql_plan import Bound
from server.db import ReadTransaction

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


async def execute_sql(reader: ReadTransaction, bound: Bound) -> ExecutionResult | None:
    """The response of a one-statement plan: PostgreSQL writes `data` as JSON text, which goes
    out as it is (orjson embeds a Fragment without parsing it). None when a non-null field read
    NULL (the text is then NULL): only today's path reports that as plain execution does."""
    data = await reader.fetchval_raw(bound.sql, *bound.params)
    if data is None:
        return None
    return ExecutionResult(data=cast("dict[str, Any]", orjson.Fragment(data)), errors=None)
