"""`python -m server <command>`: serve, migrate, seed, token, worker, export-schema."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from types import FrameType

import asyncpg

from server.auth import Role, TokenService, Viewer, parse_signing_key, parse_verify_keys
from server.database_setup import asyncpg_url, ensure_database, with_database
from server.local_postgres import LocalPostgres
from server.settings import REPO_ROOT, Settings, load_settings

EMBEDDED_DATABASE = "customer_subgraph"
DEMO_SLUG = "riverside-studio"


def _exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    # Python skips atexit and finally blocks on a bare SIGTERM: turn it into a normal exit so
    # the embedded PostgreSQL is stopped.
    raise SystemExit(128 + signum)


@contextlib.contextmanager
def database(settings: Settings) -> Iterator[Settings]:
    """Settings with a `database_url`: the given one, or the embedded server's (started here,
    stopped when the block ends, SIGINT and SIGTERM included)."""
    if settings.database_url:
        yield settings
        return
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    server = LocalPostgres(settings.data_dir / "pg")
    admin_url = server.start()
    try:
        url = with_database(admin_url, EMBEDDED_DATABASE)
        asyncio.run(ensure_database(admin_url, EMBEDDED_DATABASE))
        yield replace(settings, database_url=url)
    finally:
        server.stop()


def _tokens(settings: Settings) -> TokenService:
    return TokenService(
        parse_verify_keys(settings.jwt_verify_keys, settings.jwt_issuer),
        parse_signing_key(settings.jwt_signing_key),
        settings.jwt_issuer,
        settings.jwt_audience,
    )


async def _viewer_for(admin_url: str, slug: str, role: Role, subject: uuid.UUID | None) -> Viewer:
    """Find the business and a subject of the role (the first one, unless named)."""
    conn = await asyncpg.connect(asyncpg_url(admin_url))
    try:
        business_id = await conn.fetchval("SELECT id FROM businesses WHERE slug = $1", slug)
        if business_id is None:
            raise SystemExit(f"No business with slug {slug!r}.")
        table, extra = {
            Role.OWNER: ("staff_users", "AND role = 'OWNER'"),
            Role.STAFF: ("staff_users", "AND role = 'STAFF'"),
            Role.CUSTOMER: ("customers", "AND status = 'ACTIVE'"),
            Role.ADDITIONAL_USER: ("additional_users", ""),
        }[role]
        row = await conn.fetchrow(
            f"SELECT id, token_version FROM {table} WHERE business_id = $1 "
            f"AND ($2::uuid IS NULL OR id = $2) {extra} ORDER BY created_at, id LIMIT 1",
            business_id,
            subject,
        )
        if row is None:
            raise SystemExit(f"No {role.value} found in {slug!r}.")
        return Viewer(business_id, role, row["id"], row["token_version"])
    finally:
        await conn.close()


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> None:
    from server.migrate import upgrade

    with database(settings) as s:
        asyncio.run(upgrade(s.database_url))
        print("Database is at the newest migration.")


def cmd_seed(settings: Settings, args: argparse.Namespace) -> None:
    from server.migrate import upgrade

    with database(settings) as s:
        asyncio.run(upgrade(s.database_url))
        if args.scale:
            from server.seed.scale import seed_scale

            result = asyncio.run(
                seed_scale(s.database_url, customers=args.scale, history_per_customer=args.history)
            )
            print(f"Seeded {result.slug}: {result.customers} customers.")
        else:
            from server.seed.demo import seed_demo

            demo = asyncio.run(seed_demo(s.database_url))
            print(f"Demo data ready: {', '.join(demo.slugs)}.")


def cmd_token(settings: Settings, args: argparse.Namespace) -> None:
    with database(settings) as s:
        viewer = asyncio.run(
            _viewer_for(s.database_url, args.business, Role(args.role), args.subject)
        )
        print(_tokens(s).sign(viewer))


def cmd_serve(settings: Settings, args: argparse.Namespace) -> None:
    import uvicorn

    from server import log_redaction
    from server.app import create_app, settle_garbage_collector
    from server.migrate import upgrade

    with database(settings) as s:
        asyncio.run(upgrade(s.database_url))
        if not args.no_demo:
            from server.seed.demo import seed_demo

            asyncio.run(seed_demo(s.database_url))
            viewer = asyncio.run(_viewer_for(s.database_url, DEMO_SLUG, Role.OWNER, None))
            token = _tokens(s).sign(viewer)
            print(
                f"\nGraphiQL: http://{s.host}:{s.port}/graphql\n"
                f"Owner token for {DEMO_SLUG} (60 minutes; `python -m server token` mints more):\n"
                f"{token}\n"
                "In GraphiQL, open Headers and add: "
                '{"Authorization": "Bearer <token>"}\n',
                flush=True,
            )
        if s.web_concurrency > 1:
            # Each process builds its own app from the environment, pointed at this database.
            os.environ["DATABASE_URL"] = s.database_url
            uvicorn.run(
                "server.app:serving_process_app",
                factory=True,
                host=s.host,
                port=s.port,
                workers=s.web_concurrency,
                log_level="info",
                lifespan="on",
            )
            return
        config = uvicorn.Config(
            create_app(s), host=s.host, port=s.port, log_level="info", lifespan="on"
        )
        server = uvicorn.Server(config)
        settle_garbage_collector()
        log_redaction.install()  # after Config has configured logging
        server.run()


def cmd_worker(settings: Settings, args: argparse.Namespace) -> None:
    from server.jobs.worker import run_worker_process

    with database(settings) as s:
        asyncio.run(run_worker_process(s))


def cmd_export_schema(settings: Settings, args: argparse.Namespace) -> None:
    from schema.build import schema

    target = Path(args.output)
    target.write_text(schema.as_str() + "\n")
    print(f"Wrote {target}.")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m server", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="Migrate, load demo data and serve GraphQL.")
    serve.add_argument("--no-demo", action="store_true", help="Do not load the demo data.")
    serve.set_defaults(run=cmd_serve)

    commands.add_parser("migrate", help="Bring the database to the newest migration.").set_defaults(
        run=cmd_migrate
    )

    seed = commands.add_parser("seed", help="Load demo data, or --scale N customers.")
    seed.add_argument("--scale", type=int, default=0, help="Customers for the scale business.")
    seed.add_argument("--history", type=int, default=20, help="History rows per customer.")
    seed.set_defaults(run=cmd_seed)

    token = commands.add_parser("token", help="Mint a development token.")
    token.add_argument("--business", default=DEMO_SLUG, help="Business slug.")
    token.add_argument("--role", default="owner", choices=[r.value for r in Role])
    token.add_argument("--subject", type=uuid.UUID, default=None, help="Whose token (an id).")
    token.set_defaults(run=cmd_token)

    commands.add_parser(
        "worker", help="Run background jobs and send email (until SIGINT or SIGTERM)."
    ).set_defaults(run=cmd_worker)

    export = commands.add_parser("export-schema", help="Write the federation SDL.")
    export.add_argument("--output", default=str(REPO_ROOT / "schema.graphql"))
    export.set_defaults(run=cmd_export_schema)

    args = parser.parse_args(argv)
    settings = load_settings()
    try:
        args.run(settings, args)
    except KeyboardInterrupt:
        sys.exit(130)
