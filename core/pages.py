"""Pages served from the repository's `web/` folder: the demo storefront at `/` and GraphiQL.

Both are plain files (no build step) with every library vendored under `web/*/vendor/`, so they
work offline, and each page is sent with a Content-Security-Policy that lets it load scripts,
styles and connections from this server only.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

WEB = Path(__file__).resolve().parent.parent / "web"

# 'self' covers ws:/wss: to this host too (CSP level 3), so live order status needs no more.
STOREFRONT_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
# GraphiQL's editor sets style attributes and its stylesheet embeds its fonts.
GRAPHIQL_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; form-action 'none'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
_NO_CACHE = {"cache-control": "no-cache"}


def _page(name: str, policy: str) -> HTMLResponse:
    return HTMLResponse((WEB / name).read_text(), headers={"content-security-policy": policy, **_NO_CACHE})


async def storefront_index(request: Request) -> Response:
    return _page("storefront/index.html", STOREFRONT_CSP)


async def checkout_return(request: Request) -> Response:
    """Where checkout sends the shopper back by default (STOREFRONT_URL/checkout/success?order=N):
    the storefront's order page."""
    outcome = "success" if request.url.path.endswith("/success") else "cancel"
    number = request.query_params.get("order", "")
    valid = number.isascii() and number.isdigit() and len(number) < 19
    target = f"/?checkout={outcome}" + (f"&order={number}" if valid else "")
    return RedirectResponse(target, status_code=303)


def graphiql_page() -> Response:
    return _page("graphiql/index.html", GRAPHIQL_CSP)


def storefront_routes() -> list[BaseRoute]:
    return [
        Route("/", storefront_index, methods=["GET"]),
        Route("/checkout/success", checkout_return, methods=["GET"]),
        Route("/checkout/cancel", checkout_return, methods=["GET"]),
        Mount("/storefront", StaticFiles(directory=WEB / "storefront"), name="storefront"),
    ]


def graphiql_routes() -> list[BaseRoute]:
    return [Mount("/graphiql", StaticFiles(directory=WEB / "graphiql"), name="graphiql")]
