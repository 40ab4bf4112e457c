"""The README's Quickstart keeps the shape the quickstart release check reads: a first shell
command that serves, and a first GraphQL query that validates against the schema."""

from __future__ import annotations

from graphql import parse, validate

from schema.build import schema
from tests.release.quickstart import first_command, first_query
from tests.release.service import REPO_ROOT

README = (REPO_ROOT / "README.md").read_text()


def test_the_first_quickstart_command_runs_a_script_of_this_repository() -> None:
    interpreter, script, *arguments = first_command(README)
    assert interpreter.startswith("python3") and (REPO_ROOT / script).is_file()
    assert "serve" in arguments


def test_the_first_query_is_valid_against_the_schema() -> None:
    query = first_query(README)
    assert "customers" in query
    assert validate(schema._schema, parse(query)) == []
