"""Compiling a trusted query into one SQL statement that returns the response's `data` as JSON
text, and binding a request's variables to it.

The selection is walked once per type, as graphql-core collects it, and every field is looked up
in `mapping`; objects become concatenated JSON text over their row, lists and connections become
correlated subqueries aggregated with `string_agg`. Arguments are not spliced in: each one that
matters is a parameter (`$1` is the request's "now"), bound per request after the same checks
plain execution makes. A request the statement would not answer identically (an argument out of
range, a bad cursor, a tab's search, a member asking for the staff-only list) is refused by
`bind`, and the caller runs it through today's path.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    OperationDefinitionNode,
    get_nullable_type,
    is_abstract_type,
)
from graphql.execution.collect_fields import (
    FieldDetailsList,
    FragmentDetails,
    collect_fields,
    collect_subfields,
)
from graphql.execution.values import VariableValues, get_argument_values, get_variable_values

from loaders import history
from resolvers.profile import CURSOR_KEYS, parse_tab_search
from schema.compiled import directory_sql
from schema.compiled import json_sql as j
from schema.compiled.directory_sql import DirectoryPage, directory_params
from schema.compiled.mapping import (
    QUERY,
    TYPES,
    Children,
    Directory,
    Embedded,
    FieldSql,
    Leaf,
    Lookup,
    SalesChart,
    Tab,
    chart_source,
)
from schema.compiled.pages import PageShape, page_summary
from schema.compiled.plan import NotCompilable
from schema.pagination import COUNT_CAP, list_signature, page_request
from schema.profile import MAX_CHART_MONTHS
from server.auth import Viewer

_NO_VARIABLES = VariableValues({}, {})
# Tab arguments the statement answers only when absent (filters; a search is checked apart).
_UNSUPPORTED_TAB_ARGUMENTS = ("states", "statuses", "actorKinds")
# Each tab's parameters: its cursors' signature, the `after` and `before` keys.
_TAB_PARAMS = ("text", "timestamptz", "uuid", "timestamptz", "uuid")
_DEFAULT_MONTHS = 12
# Statement texts kept per plan (about 25 kB each for the profile).
MAX_SHAPES = 32


# A statement's shape: a PageShape per connection (tabs, the list) and the months of each
# chart, in walk order.
Shape = tuple[PageShape | int, ...]


@dataclass(frozen=True)
class Slot:
    """An argument-bearing field: the parameters it binds start at `first_param`."""

    kind: str  # "customer", "tab", "chart" or "people"
    field_def: GraphQLField
    node: FieldNode
    first_param: int
    customer_slot: int = -1
    tab_name: str = ""
    staff_only: bool = False


@dataclass(frozen=True)
class Forbidden:
    """A staff-only field a member asked for: null in the data, FORBIDDEN at `path` when the
    root customer it is under (`root`, in the order of the root fields) was found."""

    root: int
    path: tuple[str, ...]
    nodes: tuple[FieldNode, ...]


@dataclass(frozen=True)
class Bound:
    """One request's statement and its parameters; with `forbidden`, the statement returns a
    second column saying which root customers were found (members' errors depend on it)."""

    sql: str
    params: list[Any]
    forbidden: tuple[Forbidden, ...] = ()


@dataclass
class SqlPlan:
    """A query operation that runs as one statement (one text per kind of viewer and shape)."""

    schema: GraphQLSchema
    document: DocumentNode
    operation: OperationDefinitionNode
    slots: list[Slot]
    # Statement text (and members' errors) by viewer and shape, built on first use.
    statements: dict[tuple[str, Shape], tuple[str, tuple[Forbidden, ...]]] = field(
        default_factory=dict
    )

    def bind(self, raw_variables: Mapping[str, Any] | None, viewer: Viewer) -> Bound | None:
        """The statement and parameters for these variables and this viewer, or None when
        plain execution must answer (it then reports whatever is wrong as it always does)."""
        role = _role(viewer)
        coerced = get_variable_values(
            self.schema, self.operation.variable_definitions or (), dict(raw_variables or {}), 1
        )
        if not isinstance(coerced, VariableValues):
            return None
        params: list[Any] = [history.now(), viewer.subject_id]
        customers: list[uuid.UUID | None] = []
        shape: list[PageShape | int] = []
        try:
            for slot in self.slots:
                args = get_argument_values(slot.field_def, slot.node, coerced)
                customers.append(None)
                if slot.kind == "customer":
                    customers[-1] = uuid.UUID(str(args["id"]))
                    params.append(customers[-1])
                elif slot.kind == "chart":
                    if not 1 <= args["months"] <= MAX_CHART_MONTHS:
                        return None
                    shape.append(int(args["months"]))
                elif slot.kind == "people":
                    # Staff only: anyone else is refused by plain execution, as it does.
                    if role != "staff":
                        return None
                    page_shape, list_params = directory_params(args)
                    shape.append(page_shape)
                    params += list_params
                elif slot.staff_only and role != "staff":
                    # Refused before its arguments are read, as `_staff_only` does.
                    shape.append(PageShape())
                    params += [None] * len(_TAB_PARAMS)
                else:
                    bound = _tab_params(slot, args, customers[slot.customer_slot])
                    if bound is None:
                        return None
                    tab_shape, tab_params = bound
                    shape.append(tab_shape)
                    params += tab_params
        except (GraphQLError, ValueError, TypeError):
            return None
        sql, forbidden = self.statement(role, tuple(shape))
        return Bound(sql, params, forbidden)

    def statement(self, role: str, shape: Shape) -> tuple[str, tuple[Forbidden, ...]]:
        """The text for this shape, built on first use. At most `MAX_SHAPES` are kept (the
        oldest built goes first): variables choose the shape, so a client must not be able
        to make the process keep one text per page size and cursor combination."""
        built = self.statements.get((role, shape))
        if built is None:
            builder = _Builder(self.schema, self.document, self.operation, shape, role)
            built = builder.root(), tuple(builder.forbidden)
            if len(self.statements) >= MAX_SHAPES:
                del self.statements[next(iter(self.statements))]
            self.statements[role, shape] = built
        return built


def _tab_params(
    slot: Slot, args: dict[str, Any], customer_id: uuid.UUID | None
) -> tuple[PageShape, list[Any]] | None:
    """The tab's shape and parameters as `tab_connection` reads its arguments, or None when
    the statement does not answer them (plain execution then reports what is wrong)."""
    if customer_id is None or any(
        args.get(name) is not None for name in _UNSUPPORTED_TAB_ARGUMENTS
    ):
        return None
    if parse_tab_search(args.get("search")):
        return None
    signature = list_signature("customer-tab", slot.tab_name, str(customer_id), [], None)
    request = page_request(
        signature,
        args.get("first"),
        args.get("after"),
        args.get("last"),
        args.get("before"),
        key_parsers=CURSOR_KEYS,
    )
    after, before = request.after or [None, None], request.before or [None, None]
    shape = PageShape(request.backward, request.after is not None, request.before is not None)
    return replace(shape, size=request.size), [signature, *after, *before]


def compile_sql(
    schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode
) -> SqlPlan:
    """The operation's SQL plan; raises NotCompilable naming the first field it cannot map."""
    builder = _Builder(schema, document, operation, None)
    sql = builder.root()
    plan = SqlPlan(schema, document, operation, builder.slots)
    plan.statements["staff", builder.default_shape()] = sql, ()
    return plan


def _role(viewer: Viewer) -> str:
    """What the statement varies by: staff see everything of their business; a customer
    their own account; an additional user the account they act for, without its card."""
    return "staff" if viewer.is_staff else viewer.role.value


@dataclass(frozen=True)
class _Scope:
    """Where a selection is being built: the row alias and, on the root customer, its slot."""

    alias: str
    customer_slot: int = -1
    path: tuple[str, ...] = ()
    root: int = -1


class _Builder:
    """One walk of the operation for a kind of viewer (`role`); `shape` gives each tab's
    direction, cursors and size (None: the defaults, when compiling)."""

    def __init__(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        shape: Shape | None,
        role: str = "staff",
    ) -> None:
        self.schema = schema
        self.role = role
        self.forbidden: list[Forbidden] = []
        # Which root customers were found, when a member's errors depend on it.
        self.found: list[str] = []
        self.operation = operation
        self.fragments = {
            d.name.value: FragmentDetails(d)
            for d in document.definitions
            if isinstance(d, FragmentDefinitionNode)
        }
        self.shape = shape
        self.slots: list[Slot] = []
        # Each parameter's type, `$1` first: every one is typed once in the statement, so that
        # PostgreSQL knows them all, read or not.
        self.param_types = ["timestamptz", "uuid"]
        self.shaped = 0
        self.aliases = 0

    def root(self) -> str:
        query = self.schema.query_type
        assert query is not None
        grouped = collect_fields(
            self.schema, self.fragments, _NO_VARIABLES, query, self.operation
        ).grouped_field_set
        members = []
        for name, details in grouped.items():
            node = details[0].node
            if node.name.value == "__typename":
                members.append((name, "'\"Query\"'"))
            elif node.name.value == "customer":
                members.append((name, self._root_customer(query, name, details)))
            else:
                field_sql = QUERY.get(node.name.value)
                if not isinstance(field_sql, Directory):
                    raise NotCompilable(f"Query.{node.name.value} has no SQL mapping")
                field_def = query.fields[node.name.value]
                members.append((name, self._people(field_def, details, field_sql)))
        typed = ",".join(f"${i}::{kind}" for i, kind in enumerate(self.param_types, 1))
        found = f", ARRAY[{','.join(self.found)}]::boolean[]" if self.forbidden else ""
        sql = f"SELECT {j.obj(members)}{found} FROM (SELECT {typed}) request"
        # Adjacent literals become one, and the templates' line breaks spaces (no literal here
        # holds a line break or `'||'`): asyncpg keeps prepared statements of at most 15 kB.
        return re.sub(r"\n\s*", " ", sql.replace("'||'", ""))

    def _shape(self, default: PageShape | int) -> PageShape | int:
        """The next connection's or chart's part of the shape (the default when compiling)."""
        self.shaped += 1
        return default if self.shape is None else self.shape[self.shaped - 1]

    def default_shape(self) -> Shape:
        """The shape the compiling walk assumed."""
        return tuple(
            _DEFAULT_MONTHS if s.kind == "chart" else PageShape()
            for s in self.slots
            if s.kind != "customer"
        )

    def _alias(self, prefix: str) -> str:
        self.aliases += 1
        return f"{prefix}{self.aliases}"

    def _slot(
        self,
        kind: str,
        field_def: GraphQLField,
        node: FieldNode,
        types: Sequence[str],
        **kw: Any,
    ) -> Slot:
        """A new argument-bearing field whose parameters have these types."""
        slot = Slot(kind, field_def, node, len(self.param_types) + 1, **kw)
        self.slots.append(slot)
        self.param_types += types
        return slot

    def _root_customer(self, query: GraphQLObjectType, name: str, details: FieldDetailsList) -> str:
        field_def = query.fields["customer"]
        slot = self._slot("customer", field_def, details[0].node, ["uuid"])
        alias = self._alias("c")
        root = len(self.found)
        self.found.append("")
        scope = _Scope(alias, len(self.slots) - 1, (name,), root)
        members = self._members(_object_type(field_def.type), details, TYPES["Customer"], scope)
        param = f"${slot.first_param}::uuid"
        found = f"customers {alias} WHERE {alias}.id = {param}"
        if self.role != "staff":
            found += f" AND {alias}.id = {self._viewer_account()}"
        self.found[root] = f"EXISTS (SELECT 1 FROM {found})"
        return f"coalesce((SELECT {j.obj(members)} FROM {found}), 'null')"

    def _viewer_account(self) -> str:
        """The account a member viewer may see (`$2` is the viewer's id)."""
        if self.role == "customer":
            return "$2::uuid"
        return "(SELECT au.customer_id FROM additional_users au WHERE au.id = $2::uuid)"

    def _members(
        self,
        object_type: GraphQLObjectType,
        details: FieldDetailsList,
        mapping: Mapping[str, FieldSql],
        scope: _Scope,
    ) -> list[tuple[str, str]]:
        grouped = collect_subfields(
            self.schema, self.fragments, _NO_VARIABLES, self.operation, object_type, details
        ).grouped_field_set
        members = []
        for name, field_details in grouped.items():
            node = field_details[0].node
            field_name = node.name.value
            if field_name == "__typename":
                members.append((name, f"'\"{object_type.name}\"'"))
                continue
            field_sql = mapping.get(field_name)
            field_def = object_type.fields.get(field_name)
            if field_sql is None or field_def is None:
                raise NotCompilable(f"{object_type.name}.{field_name} has no SQL mapping")
            if node.arguments and not isinstance(field_sql, Tab | SalesChart):
                raise NotCompilable(f"{object_type.name}.{field_name} takes arguments")
            field_scope = replace(scope, path=(*scope.path, name)) if scope.path else scope
            members.append((name, self._field(field_def, field_details, field_sql, field_scope)))
        return members

    def _field(
        self,
        field_def: GraphQLField,
        details: FieldDetailsList,
        field_sql: FieldSql,
        scope: _Scope,
    ) -> str:
        t = scope.alias
        nullable = not isinstance(field_def.type, GraphQLNonNull)
        if isinstance(field_sql, Leaf):
            text = field_sql.render(field_sql.sql.replace("{t}", t))
            return j.or_null(text) if nullable else text
        if isinstance(field_sql, Embedded):
            members = self._members(_object_type(field_def.type), details, field_sql.fields, scope)
            text = j.obj(members)
            if field_sql.null_when is None or not nullable:
                return text
            return f"CASE WHEN {field_sql.null_when.replace('{t}', t)} THEN 'null' ELSE {text} END"
        if isinstance(field_sql, Lookup):
            if self.role in field_sql.hidden_from:
                return "'null'"
            source = field_sql.source
            if field_sql.account_row and self.role != "staff":
                source += f" WHERE {{a}}.customer_id = {self._viewer_account()}"
            object_type = _object_type(field_def.type)
            text = self._lookup(object_type, details, field_sql.type_name, source, t)
            return j.or_null(text) if nullable else text
        if isinstance(field_sql, Children):
            return self._children(field_def, details, field_sql, t)
        if isinstance(field_sql, SalesChart):
            self._slot("chart", field_def, details[0].node, [])
            source = chart_source(t, str(self._shape(_DEFAULT_MONTHS)))
            object_type = _object_type(field_def.type)
            return self._lookup(object_type, details, "SalesActivity", source, t)
        if isinstance(field_sql, Directory):
            raise NotCompilable("the customer list is read only at the root")
        return self._tab(field_def, details, field_sql, scope)

    def _lookup(
        self,
        object_type: GraphQLObjectType,
        details: FieldDetailsList,
        type_name: str,
        source: str,
        t: str,
    ) -> str:
        alias = self._alias("r")
        members = self._members(object_type, details, TYPES[type_name], _Scope(alias))
        source = source.replace("{a}", alias).replace("{t}", t)
        return f"(SELECT {j.obj(members)} FROM {source})"

    def _children(
        self, field_def: GraphQLField, details: FieldDetailsList, children: Children, t: str
    ) -> str:
        alias = self._alias("r")
        members = self._members(
            _object_type(field_def.type), details, TYPES[children.type_name], _Scope(alias)
        )
        source = children.source.replace("{a}", alias).replace("{t}", t)
        order = children.order.replace("{a}", alias)
        return f"(SELECT {j.array_agg(j.obj(members), order)} FROM {source})"

    def _tab(
        self, field_def: GraphQLField, details: FieldDetailsList, tab: Tab, scope: _Scope
    ) -> str:
        if scope.customer_slot < 0:
            raise NotCompilable(f"{tab.spec.name} is paged only on the root customer")
        slot = self._slot(
            "tab",
            field_def,
            details[0].node,
            _TAB_PARAMS,
            customer_slot=scope.customer_slot,
            tab_name=tab.spec.name,
            staff_only=tab.staff_only,
        )
        shape = self._shape(PageShape())
        assert isinstance(shape, PageShape)
        if tab.staff_only and self.role != "staff":
            nodes = tuple(d.node for d in details)
            self.forbidden.append(Forbidden(scope.root, scope.path, nodes))
            return "'null'"
        counted, paged, row = self._alias("n"), self._alias("p"), self._alias("r")

        def node(node_type: GraphQLOutputType, node_details: FieldDetailsList) -> str:
            mapping = TYPES[tab.type_name]
            return j.obj(self._members(_object_type(node_type), node_details, mapping, _Scope(row)))

        members, edge = self._connection(
            field_def, details, tab.spec.name, shape, _Aliases(counted, paged, row), node
        )
        params = [f"${slot.first_param + i}::{kind}" for i, kind in enumerate(_TAB_PARAMS)]
        page = _Page(tab.spec, shape, scope.alias, row, params)
        return f"(SELECT {members} FROM {page.count(counted)}, {page.lateral(edge, paged)})"

    def _people(self, field_def: GraphQLField, details: FieldDetailsList, people: Directory) -> str:
        """The customer list's connection; each node is the person of its row's kind."""
        slot = self._slot("people", field_def, details[0].node, directory_sql.PARAM_TYPES)
        shape = self._shape(PageShape())
        assert isinstance(shape, PageShape)
        counted, paged, row = self._alias("n"), self._alias("p"), self._alias("r")

        def node(node_type: GraphQLOutputType, node_details: FieldDetailsList) -> str:
            # graphql-core collects the selection again for each runtime type.
            cases = []
            for kind, lookup in people.by_kind.items():
                runtime = self._runtime_type(node_type, lookup.type_name)
                person = self._lookup(runtime, node_details, lookup.type_name, lookup.source, row)
                cases.append(f"WHEN '{kind}' THEN {person}")
            return f"CASE {row}.kind {' '.join(cases)} END"

        members, edge = self._connection(
            field_def, details, "Query.people", shape, _Aliases(counted, paged, row), node
        )
        params = [
            f"${slot.first_param + i}::{kind}" for i, kind in enumerate(directory_sql.PARAM_TYPES)
        ]
        page = DirectoryPage(shape, row, params)
        return f"(SELECT {members} FROM {page.count(counted)}, {page.lateral(edge, paged)})"

    def _runtime_type(self, field_type: GraphQLOutputType, type_name: str) -> GraphQLObjectType:
        """`type_name`, the object type a row becomes, checked to be one `field_type` allows."""
        declared = get_nullable_type(field_type)
        runtime = self.schema.get_type(type_name)
        assert isinstance(runtime, GraphQLObjectType), type_name
        if is_abstract_type(declared):
            allowed = self.schema.is_sub_type(declared, runtime)
        else:
            allowed = declared is runtime
        if not allowed:
            raise NotCompilable(f"{type_name} is not a {declared}")
        return runtime

    def _connection(
        self,
        field_def: GraphQLField,
        details: FieldDetailsList,
        name: str,
        shape: PageShape,
        aliases: _Aliases,
        node: Callable[[GraphQLOutputType, FieldDetailsList], str],
    ) -> tuple[str, str]:
        """A connection's JSON text over its count (`aliases.counted`: `total`) and its page
        (`aliases.paged`: `edges`, `has_more`, `start_cursor`, `end_cursor`), and the JSON
        text of one edge over a page row (`aliases.row`: `page_cursor` and what `node`
        reads), "NULL" when no edges are asked for."""
        counted, paged, row = aliases
        connection = _object_type(field_def.type)
        edges: list[str] = []

        def page_info(info_details: FieldDetailsList) -> str:
            more = f"{paged}.has_more::text"
            values = {
                "hasNextPage": _known(shape.before) if shape.backward else more,
                "hasPreviousPage": more if shape.backward else _known(shape.after),
                "startCursor": j.or_null(j.quoted(f"{paged}.start_cursor")),
                "endCursor": j.or_null(j.quoted(f"{paged}.end_cursor")),
            }
            info_type = _object_type(connection.fields["pageInfo"].type)
            return self._fixed(info_type, info_details, {k: _text(v) for k, v in values.items()})

        def edge(edge_details: FieldDetailsList) -> str:
            if edges:
                raise NotCompilable(f"{name} asks for its edges twice")
            edge_type = _object_type(connection.fields["edges"].type)
            node_type = edge_type.fields["node"].type
            values = {
                "cursor": _text(j.quoted(f"{row}.page_cursor")),
                "node": lambda node_details: node(node_type, node_details),
            }
            edges.append(self._fixed(edge_type, edge_details, values))
            return f"'['||coalesce({paged}.edges,'')||']'"

        members = self._fixed(
            connection,
            details,
            {
                "totalCount": _text(f"least({counted}.total,{COUNT_CAP})::text"),
                "totalCountIsExact": _text(f"({counted}.total<={COUNT_CAP})::text"),
                "pageInfo": page_info,
                "edges": edge,
            },
        )
        return members, edges[0] if edges else "NULL"

    def _fixed(
        self,
        object_type: GraphQLObjectType,
        details: FieldDetailsList,
        values: Mapping[str, Callable[[FieldDetailsList], str]],
    ) -> str:
        """An object of a connection's own types (connection, edge, page info): each selected
        field's JSON text from `values`, given the field's details."""
        grouped = collect_subfields(
            self.schema, self.fragments, _NO_VARIABLES, self.operation, object_type, details
        ).grouped_field_set
        members = []
        for name, field_details in grouped.items():
            field_name = field_details[0].node.name.value
            if field_name == "__typename":
                members.append((name, f"'\"{object_type.name}\"'"))
            elif field_name in values:
                members.append((name, values[field_name](field_details)))
            else:
                raise NotCompilable(f"{object_type.name}.{field_name} has no SQL mapping")
        return j.obj(members)


def _text(sql: str) -> Callable[[FieldDetailsList], str]:
    return lambda _details: sql


class _Aliases(NamedTuple):
    """A connection's aliases: its count, its page summary, and a row of its page."""

    counted: str
    paged: str
    row: str


@dataclass(frozen=True)
class _Page:
    """The SQL of one tab's page for one customer (`customer`: its alias), in `shape`, over
    rows aliased `row`; `params` are the tab's (signature, after and before keys)."""

    spec: history.TabSpec
    shape: PageShape
    customer: str
    row: str
    params: list[str]

    def count(self, alias: str) -> str:
        """The total, read as the tab loader reads it without a search or state filter."""
        return f"({history.tallied_total(self.spec.table, f'{self.customer}.id')}) {alias}"

    def lateral(self, edge: str, alias: str) -> str:
        """The page's edges as JSON text, whether more rows follow, the first and last cursors."""
        row = self.row
        newest, oldest = f"{row}.sort_at DESC,{row}.id DESC", f"{row}.sort_at,{row}.id"
        summary = page_summary(self.rows(edge), row, edge, self.shape.size, newest, oldest)
        return f"LATERAL ({summary}) {alias}"

    def rows(self, edge: str) -> str:
        """Up to size + 1 rows in fetch direction, numbered, each with its cursor (written
        once here), with the columns `edge` reads."""
        spec, shape = self.spec, self.shape
        signature, after_at, after_id, before_at, before_id = self.params
        direction = "ASC" if shape.backward else "DESC"
        order = f"x.{spec.order_column} {direction}, x.id {direction}"
        keys = f"(x.{spec.order_column}, x.id)"
        # Newest first: `after` a row is older than it, `before` it newer.
        window = [f"x.customer_id = {self.customer}.id"]
        if shape.after:
            window.append(f"{keys} < ({after_at}, {after_id})")
        if shape.before:
            window.append(f"{keys} > ({before_at}, {before_id})")
        limit = f"{shape.size} + 1"
        source = spec.limited_source(" AND ".join(window), order, limit)
        return f"""(SELECT {_columns_read(spec.columns, self.row, edge)},
    row_number() OVER (ORDER BY {order}) AS page_n,
    {j.cursor(signature, f"x.{spec.order_column}", "x.id")} AS page_cursor
  FROM {source}
  ORDER BY {order} LIMIT {limit}) {self.row}"""


def _columns_read(select_list: str, row: str, sql: str) -> str:
    """The items of a tab's select list that `sql` reads from `row` (plus its keys)."""
    read = set(re.findall(rf"\b{row}\.(\w+)", sql)) | {"sort_at", "id"}
    items = _split_select(select_list)
    names = history.select_names(select_list)
    return ", ".join(item.strip() for item, name in zip(items, names, strict=True) if name in read)


def _split_select(select_list: str) -> list[str]:
    """A select list's items (commas inside parentheses belong to their item)."""
    items, depth, start = [], 0, 0
    for i, ch in enumerate(select_list):
        depth += (ch == "(") - (ch == ")")
        if ch == "," and depth == 0:
            items.append(select_list[start:i])
            start = i + 1
    return [*items, select_list[start:]]


def _known(present: bool) -> str:
    return "'true'" if present else "'false'"


def _object_type(type_: GraphQLOutputType) -> GraphQLObjectType:
    while isinstance(type_, GraphQLNonNull | GraphQLList):
        type_ = type_.of_type
    if not isinstance(type_, GraphQLObjectType):
        raise NotCompilable(f"{type_} is abstract")
    return type_


__all__: Sequence[str] = ("Bound", "SqlPlan", "compile_sql")
