"""GraphiQL that works with no internet.

Strawberry's own page loads React and GraphiQL from a CDN. Ours (`page.html`) loads them from
`/graphiql/<name>`: files of the pinned npm packages in `package.json` here, which
`python3 dev.py install` puts in the running environment (`sys.prefix`/share/graphiql), never
committed. The page keeps the viewer's token in its Headers editor, out of the URL.
"""

from __future__ import annotations

import sys
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

PAGE = Path(__file__).with_name("page.html")
# Kept in step with dev.py's GRAPHIQL_INSTALL (the same folder of the same environment).
NODE_MODULES = Path(sys.prefix) / "share" / "graphiql" / "node_modules"

# The only files served: name in the page -> (file in node_modules, media type).
ASSETS: dict[str, tuple[str, str]] = {
    "react.js": ("react/umd/react.production.min.js", "text/javascript"),
    "react-dom.js": ("react-dom/umd/react-dom.production.min.js", "text/javascript"),
    "graphiql.js": ("graphiql/graphiql.min.js", "text/javascript"),
    "graphiql.css": ("graphiql/graphiql.min.css", "text/css"),
    "plugin-explorer.js": ("@graphiql/plugin-explorer/dist/index.umd.js", "text/javascript"),
    "plugin-explorer.css": ("@graphiql/plugin-explorer/dist/style.css", "text/css"),
}
NOT_INSTALLED = (
    "GraphiQL's files are not installed in this environment ({missing}). "
    "Run `python3 dev.py install` (or `python3 dev.py serve`) from the repository root."
)


def missing_assets() -> list[str]:
    return [name for name, (path, _) in ASSETS.items() if not (NODE_MODULES / path).is_file()]


def page_response() -> Response:
    """The GraphiQL page, or a 503 that says how to install its files."""
    missing = missing_assets()
    if missing:
        return PlainTextResponse(NOT_INSTALLED.format(missing=", ".join(missing)), 503)
    return HTMLResponse(PAGE.read_text(), headers={"Cache-Control": "no-cache"})


async def asset(request: Request) -> Response:
    """GET /graphiql/{name}: one of ASSETS, nothing else from node_modules."""
    entry = ASSETS.get(request.path_params["name"])
    if entry is None:
        return PlainTextResponse("Not found.", 404)
    path, media_type = entry
    if not (NODE_MODULES / path).is_file():
        return PlainTextResponse(NOT_INSTALLED.format(missing=path), 503)
    # The files change only with the lockfile, which changes the whole environment.
    return FileResponse(
        NODE_MODULES / path, media_type=media_type, headers={"Cache-Control": "max-age=3600"}
    )


def routes(*, enabled: bool) -> list[Route]:
    return [Route("/graphiql/{name}", asset)] if enabled else []
