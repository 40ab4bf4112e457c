"""The customer list (`Query.people`) inside a compiled statement.

Its arguments are read and checked by `resolvers.directory.directory_request`, as the field
reads them. The page and the capped count are the directory's own SECURITY DEFINER functions
(`directory_page`, `directory_count`), called with the arguments plain execution passes them:
every tab, category, search and cursor runs the very statements it runs today, planned inside
the functions with their argument values, so their indexes stay in use under row-level security.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from resolvers.directory import directory_request
from schema.compiled import json_sql as j
from schema.compiled.pages import PageShape, page_summary
from schema.pagination import COUNT_CAP

# The list's parameters: the filter (status, category, terms, digits, number, person id), the
# cursors' signature, and the keys the page lies between (lower, then upper).
FILTER_TYPES = ("text", "text", "text[]", "text", "bigint", "uuid")
PARAM_TYPES = (*FILTER_TYPES, "text", "text", "uuid", "text", "uuid")
_FILTER_PARAMS = len(FILTER_TYPES)
# A directory page row, as `directory_page` returns it, numbered in fetch direction.
_ROW_COLUMNS = "person_id, kind, customer_id, name_key, page_n"


def directory_params(args: Mapping[str, Any]) -> tuple[PageShape, list[Any]]:
    """The page's shape and parameters for `people`'s arguments; raises what the field raises
    for arguments it refuses."""
    request = directory_request(
        args["status"].name,
        args["category"].name,
        args.get("search"),
        descending=args["order"].name == "DESC",
        first=args.get("first"),
        after=args.get("after"),
        last=args.get("last"),
        before=args.get("before"),
    )
    page = request.page
    shape = PageShape(
        page.backward,
        page.after is not None,
        page.before is not None,
        page.size,
        request.descending,
    )
    lower, upper = request.bounds
    return shape, [*request.filter_arguments, request.signature, *lower, *upper]


@dataclass(frozen=True)
class DirectoryPage:
    """The SQL of one page of the list in `shape`, over rows aliased `row`; `params` are the
    statement's parameters for PARAM_TYPES."""

    shape: PageShape
    row: str
    params: Sequence[str]

    def count(self, alias: str) -> str:
        """The count, capped as `directory_page` in resolvers.directory caps it. OFFSET 0
        keeps the subquery whole: pulled up, the call would be copied into each field that
        reads the total, and the count run once per field."""
        filters = ", ".join(self.params[:_FILTER_PARAMS])
        return f"(SELECT directory_count({filters}, {COUNT_CAP + 1}) AS total OFFSET 0) {alias}"

    def lateral(self, edge: str, alias: str) -> str:
        """The page's edges as JSON text, whether more rows follow, the first and last cursors
        (rows arrive in fetch direction: a backward page is listed from its last row)."""
        numbered = f"{self.row}.page_n"
        forward, reverse = numbered, f"{numbered} DESC"
        if self.shape.backward:
            forward, reverse = reverse, forward
        summary = page_summary(self._rows(), self.row, edge, self.shape.size, forward, reverse)
        return f"LATERAL ({summary}) {alias}"

    def _rows(self) -> str:
        """Up to size + 1 rows in fetch direction, each with its cursor; none for a page of
        size 0, which plain execution does not fetch."""
        shape = self.shape
        if shape.size == 0:
            return (
                f"(SELECT NULL::uuid, NULL::text, NULL::uuid, NULL::text, NULL::bigint, "
                f"NULL::text WHERE false) {self.row}({_ROW_COLUMNS}, page_cursor)"
            )
        signature, *bounds = self.params[_FILTER_PARAMS:]
        filters = ", ".join(self.params[:_FILTER_PARAMS])
        fetch_descending = shape.descending != shape.backward
        keys = "'['||to_json(d.name_key)::text||',\"'||d.person_id||'\"]'"
        return f"""(SELECT d.*, {j.keys_cursor(signature, keys)} AS page_cursor
  FROM directory_page({filters}, {", ".join(bounds)}, {str(fetch_descending).lower()},
    {shape.size + 1}) WITH ORDINALITY AS d({_ROW_COLUMNS})) {self.row}"""
