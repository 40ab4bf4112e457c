"""Settings, read once from environment variables (each documented in the README)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def _bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw else default


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    return float(raw) if raw else default


def _paths(name: str, default: tuple[Path, ...]) -> tuple[Path, ...]:
    raw = os.environ.get(name)
    if not raw:
        return default
    return tuple(Path(part.strip()) for part in raw.split(",") if part.strip())


@dataclass(frozen=True)
class Settings:
    """Everything the service can be configured with."""

    environment: str = "development"
    # The owner's connection: migrations and seeding. Empty: start the embedded PostgreSQL.
    database_url: str = ""
    # The service role's connection. Empty: derived from `database_url` with the service role.
    app_database_url: str = ""
    data_dir: Path = REPO_ROOT / ".data"
    host: str = "127.0.0.1"
    port: int = 8000
    # Serving processes (`serve`): one per core uses the machine; each has its own pool.
    web_concurrency: int = 1
    debug: bool = False
    jwt_issuer: str = "customer-subgraph"
    jwt_audience: str = "customer-subgraph"
    # "kid=secret" pairs (HS256 in development) or "kid=PEM-path" for Ed25519 keys; comma-separated.
    jwt_signing_key: str = ""
    jwt_verify_keys: str = ""
    pool_size: int = 10
    statement_timeout_ms: int = 5000
    graphiql: bool = True
    introspection: bool = True
    stripe_api_key: str = ""
    stripe_api_base: str = ""
    stripe_webhook_secret: str = ""
    # One Stripe request's limit. A request-path call may take a few of these (send, list,
    # resend), and the reconciler waits for that whole budget before judging a pending call.
    stripe_timeout_s: float = 8.0
    # How old a webhook's signed timestamp may be (replayed captures are refused).
    stripe_webhook_tolerance_s: int = 300
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_username: str = ""
    smtp_password: str = ""
    mail_from: str = "no-reply@example.com"
    # Run the job and outbox worker inside the web process (on unless WORKER_ENABLED=0, e.g. when
    # `python -m server worker` runs it as a process of its own).
    worker_enabled: bool = False
    # Signs unsubscribe and set-password links in emails.
    link_signing_secret: str = ""
    public_base_url: str = "http://127.0.0.1:8000"
    # Text messages: "log" (the default: logs that an SMS would be sent, sends nothing) or
    # "twilio" (the Messages API with the account below; TWILIO_FROM is a number in E.164 or a
    # Messaging Service SID, MG...).
    sms_provider: str = "log"
    twilio_account_sid: str = ""
    twilio_auth_token: str = ""
    twilio_from: str = ""
    twilio_api_base: str = "https://api.twilio.com"
    sms_timeout_s: float = 10.0
    trusted_proxies: tuple[str, ...] = field(default_factory=tuple)
    # Adds `X-SQL-Statements` to GraphQL responses (tests and benchmarks read it).
    statement_count_header: bool = False
    # Folders of trusted documents (`*.graphql`, addressed by SHA-256) compiled at start-up.
    trusted_documents_dirs: tuple[Path, ...] = (REPO_ROOT / "tests" / "queries",)
    # Refuse every document that is not trusted (production front-ends send only those).
    trusted_documents_only: bool = False
    # Serve trusted documents through their compiled plans (off: plain execution for all).
    compiled_documents: bool = True

    @property
    def is_production(self) -> bool:
        return self.environment == "production"


DEV_JWT_SECRET = "development-only-hs256-secret-change-me-0123456789"
DEV_LINK_SECRET = "development-only-link-secret-change-me"


def load_settings() -> Settings:
    """Build settings from the environment."""
    environment = os.environ.get("APP_ENV", "development")
    production = environment == "production"
    default_key = "" if production else f"dev={DEV_JWT_SECRET}"
    return Settings(
        environment=environment,
        database_url=os.environ.get("DATABASE_URL", ""),
        app_database_url=os.environ.get("APP_DATABASE_URL", ""),
        data_dir=Path(os.environ.get("DATA_DIR", str(REPO_ROOT / ".data"))),
        host=os.environ.get("HOST", "127.0.0.1"),
        port=_int("PORT", 8000),
        web_concurrency=max(1, _int("WEB_CONCURRENCY", 1)),
        debug=_bool("DEBUG", False),
        jwt_issuer=os.environ.get("JWT_ISSUER", "customer-subgraph"),
        jwt_audience=os.environ.get("JWT_AUDIENCE", "customer-subgraph"),
        jwt_signing_key=os.environ.get("JWT_SIGNING_KEY", default_key),
        jwt_verify_keys=os.environ.get("JWT_VERIFY_KEYS", default_key),
        pool_size=_int("DB_POOL_SIZE", 10),
        statement_timeout_ms=_int("STATEMENT_TIMEOUT_MS", 5000),
        graphiql=_bool("GRAPHIQL", not production),
        introspection=_bool("INTROSPECTION", not production),
        stripe_api_key=os.environ.get("STRIPE_API_KEY", ""),
        stripe_api_base=os.environ.get("STRIPE_API_BASE", ""),
        stripe_webhook_secret=os.environ.get("STRIPE_WEBHOOK_SECRET", ""),
        stripe_timeout_s=_float("STRIPE_TIMEOUT_S", 8.0),
        stripe_webhook_tolerance_s=_int("STRIPE_WEBHOOK_TOLERANCE_S", 300),
        smtp_host=os.environ.get("SMTP_HOST", ""),
        smtp_port=_int("SMTP_PORT", 25),
        smtp_username=os.environ.get("SMTP_USERNAME", ""),
        smtp_password=os.environ.get("SMTP_PASSWORD", ""),
        mail_from=os.environ.get("MAIL_FROM", "no-reply@example.com"),
        worker_enabled=_bool("WORKER_ENABLED", True),
        link_signing_secret=os.environ.get(
            "LINK_SIGNING_SECRET", "" if production else DEV_LINK_SECRET
        ),
        public_base_url=os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:8000"),
        sms_provider=os.environ.get("SMS_PROVIDER", "log").strip().lower() or "log",
        twilio_account_sid=os.environ.get("TWILIO_ACCOUNT_SID", ""),
        twilio_auth_token=os.environ.get("TWILIO_AUTH_TOKEN", ""),
        twilio_from=os.environ.get("TWILIO_FROM", ""),
        twilio_api_base=os.environ.get("TWILIO_API_BASE", "https://api.twilio.com"),
        sms_timeout_s=_float("SMS_TIMEOUT_S", 10.0),
        statement_count_header=_bool("STATEMENT_COUNT_HEADER", False),
        trusted_documents_dirs=_paths("TRUSTED_DOCUMENTS_DIRS", (REPO_ROOT / "tests" / "queries",)),
        trusted_documents_only=_bool("TRUSTED_DOCUMENTS_ONLY", False),
        compiled_documents=_bool("COMPILED_DOCUMENTS", True),
        trusted_proxies=tuple(
            p.strip() for p in os.environ.get("TRUSTED_PROXIES", "").split(",") if p.strip()
        ),
    )
