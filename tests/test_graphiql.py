"""GraphiQL with no internet: the page names only files this app serves, from the pinned npm
packages `dev.py install` put in the environment. (tests/release/graphiql_check.py renders it in
a real browser.)"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager

from server import graphiql
from server.app import create_app
from server.settings import Settings
from tests.conftest import Api

ASSET_MARKERS = {
    "react.js": "react.production.min.js",
    "react-dom.js": "react-dom.production.min.js",
    "graphiql.js": "GraphiQL",
    "graphiql.css": ".graphiql-container",
    "plugin-explorer.js": "GraphiQLPluginExplorer",
    "plugin-explorer.css": "graphiql-explorer",
}


async def test_the_page_loads_only_files_the_app_serves(api: Api) -> None:
    page = await api.http.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200, page.text
    references = re.findall(r'(?:src|href)="([^"]*)"', page.text)
    assert sorted(references) == sorted(["data:,", *(f"/graphiql/{n}" for n in graphiql.ASSETS)])
    for name, marker in ASSET_MARKERS.items():
        asset = await api.http.get(f"/graphiql/{name}")
        assert asset.status_code == 200, (name, asset.text[:200])
        expected_type = "text/css" if name.endswith(".css") else "text/javascript"
        assert asset.headers["content-type"].startswith(expected_type)
        assert marker in asset.text, name


@pytest.mark.parametrize("name", ["package.json", "graphiql.min.js", "..%2Fpackage.json"])
async def test_nothing_else_from_node_modules_is_served(api: Api, name: str) -> None:
    assert (await api.http.get(f"/graphiql/{name}")).status_code == 404


async def test_the_page_says_how_to_install_its_files_when_they_are_missing(
    api: Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(graphiql, "NODE_MODULES", tmp_path)
    page = await api.http.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 503
    assert "python3 dev.py install" in page.text and "graphiql.js" in page.text
    assert (await api.http.get("/graphiql/react.js")).status_code == 503


async def test_no_page_and_no_files_when_graphiql_is_off(settings: Settings) -> None:
    app = create_app(replace(settings, graphiql=False))
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            page = await http.get("/graphql", headers={"Accept": "text/html"})
            assert "GraphiQL" not in page.text
            assert (await http.get("/graphiql/react.js")).status_code == 404
