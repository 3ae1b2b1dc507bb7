"""The dashboard's assembly: starlette-admin with staff sign-in, CSRF, its views, mounted at /admin."""

from __future__ import annotations

import logging
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette_admin.base import BaseAdmin

from core.settings import Settings
from dashboard.auth import SESSION_MAX_AGE, StaffAuth
from dashboard.catalog import ProductView, VariantView
from dashboard.console import Console
from dashboard.imports import PATH as IMPORT_PATH
from dashboard.imports import CatalogImportView
from dashboard.orders import OrderView
from dashboard.taxonomy import AttributeView, CategoryView
from dashboard.totals import DiscountCodeView, ShippingMethodView, ShippingZoneView, TaxRateView

PATH = "/admin"
UPLOAD_PATH = f"{PATH}{IMPORT_PATH}/upload"  # its body cap is CATALOG_UPLOAD_MAX_BYTES
TEMPLATES = Path(__file__).resolve().parent / "templates"
# starlette-admin's pages carry inline scripts and styles (no nonces); everything else comes from this
# server. Product images may live on any HTTPS host. Only /admin is sent this policy.
ADMIN_CSP = (
    "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: https:; font-src 'self' data:; connect-src 'self'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)

# starlette-admin logs the e-mail address of every sign-in attempt and the address of every
# anonymous visitor; personal data never reaches our logs.
logging.getLogger("starlette_admin").setLevel(logging.WARNING)
logging.getLogger("starlette_admin.auth").setLevel(logging.ERROR)


class AdminPolicy:
    """Sends ADMIN_CSP with every dashboard response (core.security_headers adds the rest)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_policy(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (name, value)
                    for name, value in message.get("headers", ())
                    if name != b"content-security-policy"
                ]
                headers.append((b"content-security-policy", ADMIN_CSP.encode()))
                headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_policy)


def mount_dashboard(app: Starlette, secret: str, settings: Settings) -> BaseAdmin:
    """Build the dashboard on `app` (its lifespan opens the engine the views use)."""
    console = Console(app)
    admin = BaseAdmin(
        title="Storefront staff",
        base_url=PATH,
        route_name="admin",
        templates_dir=str(TEMPLATES),
        auth_provider=StaffAuth(console),
        secret_key=secret,
        middlewares=[
            Middleware(AdminPolicy),
            Middleware(
                SessionMiddleware,
                secret_key=secret,
                session_cookie="storefront_admin",
                max_age=SESSION_MAX_AGE,
                path=PATH,
                same_site="lax",
                https_only=settings.base_url.startswith("https:"),
            ),
        ],
    )
    admin.add_view(OrderView(console))
    admin.add_view(ProductView(console))
    admin.add_view(VariantView(console))
    admin.add_view(CategoryView(console))
    admin.add_view(AttributeView(console))
    admin.add_view(CatalogImportView(console, settings.catalog_upload_max_bytes))
    admin.add_view(ShippingZoneView(console))
    admin.add_view(ShippingMethodView(console))
    admin.add_view(TaxRateView(console))
    admin.add_view(DiscountCodeView(console))
    admin.mount_to(app)
    return admin
