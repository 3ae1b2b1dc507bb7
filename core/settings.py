"""Settings from the environment and a `.env` file, named as in shared/spec/operations.md."""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_SANDBOX_MODES = {
    **dict.fromkeys(("on", "true", "1", "yes"), "on"),
    **dict.fromkeys(("off", "false", "0", "no"), "off"),
    "auto": "auto",
}
_RATE_LIMIT = re.compile(r"\s*(\d+)\s*/\s*(\d+)\s*")


@dataclass(slots=True, frozen=True)
class RateLimit:
    """At most `attempts` per fixed window of `seconds`."""

    attempts: int
    seconds: int

    @classmethod
    def parse(cls, text: str) -> RateLimit | None:
        """`"10/60"` is 10 attempts per 60 seconds; `"off"` (or nothing) is no limit."""
        if text.strip().lower() in ("", "off"):
            return None
        match = _RATE_LIMIT.fullmatch(text)
        if match is None or int(match[2]) == 0:
            raise ValueError(f"a rate limit is ATTEMPTS/SECONDS, such as 10/60, or off; got {text!r}")
        return cls(attempts=int(match[1]), seconds=int(match[2]))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str | None = None
    data_dir: Path = Path("./.data")
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    public_url: str | None = None
    storefront_url: str | None = None
    debug: bool = False
    # The demo storefront at `/` and GraphiQL on GET /graphql: on, off, or auto (README: "Pages").
    storefront: str = "auto"
    graphiql: str = "auto"
    log_level: str = "info"
    cors_origins: str = ""
    currency: str = "usd"
    jwt_secret: str | None = Field(default=None, repr=False)
    access_token_ttl: int = 900
    refresh_token_ttl: int = 2_592_000
    stripe_secret_key: str | None = Field(default=None, repr=False)
    stripe_webhook_secret: str | None = Field(default=None, repr=False)
    stripe_api_base: str | None = None
    # on / off / auto: auto is on only for the embedded demo database without a Stripe key.
    payment_sandbox: str = "auto"
    reservation_ttl: int = 1800
    cart_price_lock_ttl: int = 86_400
    forwarded_allow_ips: str = "127.0.0.1"
    bcrypt_rounds: int = 12
    # PostgreSQL connections of the server, shared among its WORKERS: kept open, and opened
    # beyond that for a burst (and closed after it). All 48 are kept by default: a burst of
    # checkouts (200 buyers for 20 units) reopened the 16 overflow connections every time, each
    # costing a fork, a login and asyncpg's type introspection on both sides (issue 18, point 4).
    db_pool_size: int = 48
    db_max_overflow: int = 0
    # Answers of catalog-only queries kept per process (0 turns the cache off).
    catalog_cache_size: int = 256
    # Uncached product pages whose selection PostgreSQL can build as JSON are answered with that
    # JSON (graph/catalog/page_json.py): the same bytes, less CPU. False: always the standard path.
    catalog_json_in_sql: bool = True
    # A `products` page whose whole selection PostgreSQL builds is answered without strawberry's
    # view and executor (app/lean_page.py); same bytes, limits, errors and metrics.
    catalog_lean_page: bool = True
    # checkoutCreate with a plain selection is answered without strawberry's view, executor and
    # argument conversion (app/lean_checkout.py); same bytes, headers, errors and metrics.
    checkout_lean_path: bool = True
    # The largest catalog CSV staff may upload in the dashboard (/admin/catalog-import/upload); every
    # other request body stays under core.http_guard.MAX_BODY_BYTES.
    catalog_upload_max_bytes: int = Field(default=50_000_000, ge=1_000_000, le=1_000_000_000)
    # Automatic Persisted Queries kept per process (core/persisted_queries.py; 0 keeps none).
    persisted_queries_size: int = Field(default=2_000, ge=0)
    # Seconds CDNs and browsers may reuse a GET answer to a catalog-only query (Cache-Control: public).
    catalog_http_max_age: int = Field(default=60, ge=0)
    # Seconds a WebSocket may stay open without its connection_init (both subscription protocols).
    ws_init_timeout: float = 10.0
    # permessage-deflate on WebSockets: off, since events are small and it costs memory per subscriber.
    ws_compression: bool = False
    # What one shopper may hold unpaid (README: "Limits and hardening", domain/holding_limits.py).
    order_max_line_quantity: int = Field(default=99, ge=1)  # units of one item per order
    order_max_units: int = Field(default=100, ge=1)  # units per order
    order_max_open: int = Field(default=10, ge=1)  # unpaid orders per customer, e-mail, client address
    order_max_stock_share: int = Field(default=50, ge=1, le=100)  # % of a variant's units on sale
    order_stock_share_floor: int = Field(default=5, ge=1)  # units any order may take of scarce stock
    # GraphQL abuse limits, checked before execution (README: "Limits and hardening").
    introspection: bool = True
    max_query_length: int = 50_000
    max_query_tokens: int = 3_000
    max_query_depth: int = 10
    max_query_aliases: int = 30
    max_query_cost: int = 5_000
    max_query_fields: int = 1_000  # field selections, each fragment counted at every spread
    max_query_field_repeats: int = 10  # fields sharing one response name at one place
    max_list_items: int = 1_000  # items of any list in a request (list arguments have smaller caps)
    # HTTP connections (core/http_protocol.py): request line and headers, and how long a client
    # may take to send them, its body, or nothing at all between two requests.
    http_max_header_bytes: int = 16_384
    http_max_headers: int = 100
    http_header_timeout: float = 10.0
    http_body_timeout: float = 30.0
    http_keep_alive_timeout: int = 5
    # Rate limits, "ATTEMPTS/SECONDS" or "off", counted in PostgreSQL across every server process.
    rate_limit_login: str = "20/60"  # per client address
    rate_limit_login_email: str = "10/600"  # per e-mail address and client address
    rate_limit_login_account: str = "50/600"  # per e-mail address; waived for a client's first try
    rate_limit_register: str = "20/600"  # per client address
    rate_limit_register_email: str = "5/600"  # per e-mail address
    rate_limit_refresh: str = "60/60"  # per client address
    rate_limit_checkout: str = "60/600"  # per signed-in user, else per client address
    rate_limit_cart: str = "120/600"  # new anonymous carts (cartLinesAdd, no cartToken) per client address
    rate_limit_review: str = "30/3600"  # reviewSubmit per customer: each write drops the catalog cache
    # Background jobs (README: "Background jobs"): a worker inside `serve` (on/off), retries.
    run_worker: str = "on"
    job_max_attempts: int = Field(default=8, ge=1)  # runs of a job before it is held as failed
    job_retry_delay: float = Field(default=2.0, gt=0)  # seconds before the first retry, doubling
    job_heartbeat_timeout: float = Field(default=30.0, gt=0)  # a silent worker's jobs run elsewhere
    # Periodic tasks: ages after which data is purged, and when a payment needs a second look.
    refresh_token_retention: int = 7 * 86_400  # after a token family expired or was revoked
    anonymous_cart_retention: int = 30 * 86_400  # after an anonymous cart's last change
    payment_check_after: int = 600  # seconds an order awaits payment before Stripe is asked
    payment_check_interval: int = Field(default=60, ge=1)  # seconds between those checks
    # Outgoing e-mail (README: "E-mail"): without SMTP_HOST messages are captured in the database.
    shop_name: str = "Storefront"
    smtp_host: str | None = None
    smtp_port: int | None = None  # 25, 587 with starttls, 465 with tls
    smtp_tls: str = "starttls"
    smtp_username: str | None = None
    smtp_password: str | None = Field(default=None, repr=False)
    smtp_timeout: float = 30.0
    mail_from: str | None = None  # default: "SHOP_NAME <shop@HOST of PUBLIC_URL>"
    # Order totals (README: "Shipping, tax and discounts"): whether catalog prices include tax,
    # the seller's country (domestic VAT and EU reverse charge), and Stripe Tax (not built: refused).
    prices_include_tax: bool = False
    shop_country: str = "DE"
    stripe_tax: bool = False
    # Customer accounts and privacy (README: "Customer self-service and privacy", issue 17).
    pii_keys: str | None = Field(default=None, repr=False)  # id:key pairs, keys 32 bytes base64
    pii_active_key: str | None = None  # the id new values are written with (default: the last)
    pii_index_key: str | None = Field(default=None, repr=False)  # blind-index HMAC key
    password_reset_ttl: int = Field(default=3_600, ge=60)  # seconds a reset link works
    email_verification_ttl: int = Field(default=172_800, ge=60)  # seconds a verification link works
    email_change_ttl: int = Field(default=86_400, ge=60)  # seconds an e-mail change link works
    checkout_unverified: bool = True  # whether customers with an unverified e-mail may check out
    rate_limit_account_email: str = "5/3600"  # reset/verification/change e-mails per address
    rate_limit_account_mail: str = "30/3600"  # account e-mails asked per client address
    # Production (README: "Operations", docs/deploy.md). A direct (unpooled) connection for LISTEN
    # and the job queue; defaults to DATABASE_URL.
    database_listen_url: str | None = None
    # A pooler in transaction mode (PgBouncer, Supavisor, RDS Proxy) in front of DATABASE_URL:
    # on / off / auto (auto: on when DATABASE_LISTEN_URL is set and differs from DATABASE_URL).
    database_pooler: str = "auto"
    # A streaming read replica for catalog reads, and how far behind it may be before reads
    # fall back to the primary (seconds).
    database_replica_url: str | None = None
    replica_max_lag: float = Field(default=5.0, gt=0)
    log_format: str = "text"  # text or json
    metrics_token: str | None = Field(default=None, repr=False)  # unset: /metrics answers loopback only
    otel_exporter_otlp_endpoint: str | None = None  # set: OpenTelemetry tracing (OTLP over HTTP)
    shutdown_timeout: float = Field(default=20.0, gt=0)  # seconds in-flight work may take on SIGTERM

    @field_validator(
        "rate_limit_login",
        "rate_limit_login_email",
        "rate_limit_login_account",
        "rate_limit_register",
        "rate_limit_register_email",
        "rate_limit_refresh",
        "rate_limit_checkout",
        "rate_limit_cart",
        "rate_limit_review",
        "rate_limit_account_email",
        "rate_limit_account_mail",
    )
    @classmethod
    def _valid_rate_limit(cls, value: str) -> str:
        RateLimit.parse(value)  # refuse a malformed limit at startup, not at the first login
        return value

    @field_validator("cors_origins")
    @classmethod
    def _valid_origins(cls, value: str) -> str:
        for origin in value.split(","):
            if origin.strip() and browser_origin(origin.strip()) is None:
                raise ValueError(f"CORS_ORIGINS holds origins such as https://shop.example; got {origin!r}")
        return value

    @field_validator("storefront", "graphiql")
    @classmethod
    def _valid_switch(cls, value: str) -> str:
        switch = value.strip().lower()
        if switch not in _SWITCHES:
            raise ValueError(f"expected on, off or auto; got {value!r}")
        return _SWITCHES[switch]

    @field_validator("smtp_tls")
    @classmethod
    def _smtp_tls_mode(cls, value: str) -> str:
        mode = value.strip().lower()
        if mode not in ("none", "starttls", "tls"):
            raise ValueError(f"SMTP_TLS is none, starttls or tls; got {value!r}")
        return mode

    @field_validator("log_format")
    @classmethod
    def _valid_log_format(cls, value: str) -> str:
        fmt = value.strip().lower()
        if fmt not in ("text", "json"):
            raise ValueError(f"LOG_FORMAT is text or json; got {value!r}")
        return fmt

    @field_validator("database_pooler")
    @classmethod
    def _valid_pooler(cls, value: str) -> str:
        switch = _SWITCHES.get(value.strip().lower())
        if switch is None:
            raise ValueError(f"DATABASE_POOLER is on, off or auto; got {value!r}")
        return switch

    @field_validator("run_worker")
    @classmethod
    def _run_worker_switch(cls, value: str) -> str:
        switch = _SWITCHES.get(value.strip().lower())
        if switch not in ("on", "off"):
            raise ValueError(f"RUN_WORKER is on or off; got {value!r}")
        return switch

    @field_validator("payment_sandbox")
    @classmethod
    def _sandbox_mode(cls, value: str) -> str:
        mode = _SANDBOX_MODES.get(value.strip().lower())
        if mode is None:
            raise ValueError(f"PAYMENT_SANDBOX is on, off or auto; got {value!r}")
        return mode

    @field_validator("shop_country")
    @classmethod
    def _country_code(cls, value: str) -> str:
        country = value.strip().upper()
        if len(country) != 2 or not country.isalpha():
            raise ValueError(f"SHOP_COUNTRY is an ISO 3166-1 alpha-2 code such as DE; got {value!r}")
        return country

    @field_validator("stripe_tax")
    @classmethod
    def _stripe_tax_not_built(cls, value: bool) -> bool:
        if value:
            raise ValueError(
                "STRIPE_TAX is not built yet: taxes come from the tax_rates table (README: Shipping, tax and"
                " discounts); leave STRIPE_TAX unset or off"
            )
        return value

    @field_validator("currency")
    @classmethod
    def _lower_currency(cls, value: str) -> str:
        return value.strip().lower()

    def listen_url(self, database_url: str) -> str:
        """The direct connection for LISTEN and the job queue (DATABASE_LISTEN_URL, else `database_url`)."""
        return self.database_listen_url or database_url

    def behind_pooler(self, database_url: str) -> bool:
        """Whether `database_url` goes through a pooler in transaction mode (DATABASE_POOLER)."""
        auto = bool(self.database_listen_url) and self.database_listen_url != database_url
        return switch_on(self.database_pooler, auto=auto)

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def storefront_base_url(self) -> str:
        return (self.storefront_url or self.base_url).rstrip("/")

    @property
    def cors_origin_list(self) -> list[str]:
        return [origin.strip() for origin in self.cors_origins.split(",") if origin.strip()]

    @property
    def browser_origins(self) -> list[str]:
        """Origins whose pages may call the API, over HTTP (CORS) and WebSocket alike:
        CORS_ORIGINS, and the origins of STOREFRONT_URL and PUBLIC_URL."""
        origins = [
            browser_origin(url) for url in (*self.cors_origin_list, self.storefront_base_url, self.base_url)
        ]
        return list(dict.fromkeys(origin for origin in origins if origin))


_SWITCHES = {
    "on": "on",
    "true": "on",
    "1": "on",
    "yes": "on",
    "off": "off",
    "false": "off",
    "0": "off",
    "no": "off",
    "auto": "auto",
}
_DEFAULT_PORTS = {"http": 80, "https": 443}


def switch_on(value: str, auto: bool) -> bool:
    """An on/off/auto setting, with what `auto` means where it is used."""
    return value == "on" or (value == "auto" and auto)


def browser_origin(url: str) -> str | None:
    """`url`'s origin as browsers send it (lower case, no default port); "*" stays "*"."""
    if url == "*":
        return url
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme.lower() not in _DEFAULT_PORTS or not parts.hostname:
        return None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    if port is not None and port != _DEFAULT_PORTS[parts.scheme.lower()]:
        host = f"{host}:{port}"
    return f"{parts.scheme.lower()}://{host}"


@lru_cache
def get_settings() -> Settings:
    return Settings()


def local_secret(settings: Settings, name: str, prefix: str = "") -> str:
    """A secret generated once and kept in DATA_DIR, for settings left unset."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    path = settings.data_dir / name
    if not path.exists():
        # Write aside, then link into place: several workers may race here, and the
        # first link wins while the others read what it wrote.
        staging = path.with_name(f".{name}.{os.getpid()}")
        fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(prefix + secrets.token_urlsafe(48))
        try:
            os.link(staging, path)
        except FileExistsError:
            pass
        finally:
            staging.unlink()
    return path.read_text().strip()
