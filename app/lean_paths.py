"""Requests answered without strawberry's view, where that is safe and measurably cheaper.

Two handlers, each answering exactly what the standard path would for the requests it takes:
the uncached catalog page (app/lean_page.py) and checkoutCreate (app/lean_checkout.py). This
ASGI app sits where strawberry's view did (inside the answer cache, APQ and every middleware),
reads a plain JSON POST once, checks it as the standard path does (app/lean_request.py) and hands
it to the handler that takes it; every other request, and every one a handler declines, reaches
strawberry's view unchanged (the body replayed).
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from app.lean_checkout import CheckoutMutation
from app.lean_page import CatalogPage
from app.lean_request import known_extensions, plain_request, read_operation
from core.http_guard import read_body
from core.settings import Settings
from graph.library_internals import graphql_core_schema_of


class LeanPaths:
    def __init__(self, app: ASGIApp, schema: Any, settings: Settings) -> None:
        self.app = app
        self.schema = graphql_core_schema_of(schema)
        self.settings = settings
        self.usable = known_extensions(schema.extensions)
        self.page = CatalogPage(self.schema, settings)
        self.checkout = CheckoutMutation(self.schema, settings)

    def _on(self) -> bool:
        settings = self.settings
        page = self.page.usable and settings.catalog_lean_page and settings.catalog_json_in_sql
        return self.usable and (page or (self.checkout.usable and settings.checkout_lean_path))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not (self._on() and plain_request(scope)):
            await self.app(scope, receive, send)
            return
        body, replay = await read_body(scope, receive)
        try:
            operation = read_operation(self.schema, self.settings, body)
            page = prepared = None
            if operation is not None and self.page.takes(operation):
                page = await self.page.answer(scope, operation)
            elif operation is not None and self.checkout.takes(operation):
                prepared = self.checkout.prepare(scope, operation)
        except Exception:  # any doubt before anything ran: the standard path answers (and logs) it
            page = prepared = None
        if page is not None:
            await Response(page, media_type="application/json")(scope, replay, send)
        elif prepared is not None:
            # From here on the checkout runs: it is answered here, never handed to the standard path.
            await (await prepared.run())(scope, replay, send)
        else:
            await self.app(scope, replay, send)
