"""The GraphQL endpoint: strawberry's ASGI view with our context, JSON codec and IDE page."""

from __future__ import annotations

import orjson
from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from core.pages import graphiql_page
from graph.context import Context
from graph.websocket import LegacyGraphQLWSHandler, TextFrameWebSocketAdapter, TransportWSHandler


class GraphQLApp(GraphQL[Context, None]):
    websocket_adapter_class = TextFrameWebSocketAdapter
    graphql_ws_handler_class = LegacyGraphQLWSHandler
    graphql_transport_ws_handler_class = TransportWSHandler

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        return request_context(request, response)

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    async def render_graphql_ide(self, request: Request) -> Response:
        return graphiql_page()  # vendored assets, so it works offline and under a strict CSP

    def decode_json(self, data: str | bytes) -> object:
        # json.loads fails on invalid UTF-8 with an error strawberry does not catch (a 500) and lets
        # lone surrogates ("\udc80") through to the database; orjson refuses both with a 400.
        return orjson.loads(data)

    def parse_json(self, data: str | bytes) -> object:
        parsed = super().parse_json(data)
        if not isinstance(parsed, dict | list):
            raise HTTPException(400, "The request body must be a JSON object.")
        return parsed


def request_context(request: Request | WebSocket, response: Response | WebSocket) -> Context:
    """The resolvers' context of a request (strawberry's view, and app/lean_checkout.py)."""
    state = request.app.state
    return Context(
        request=request,
        response=response,
        engine=state.engine,
        read_engine=state.read_engine,
        catalog_engine=state.replica.catalog_engine() if state.replica else state.read_engine,
        settings=state.settings,
        jwt_secret=state.jwt_secret,
        payments=state.payments,
        order_events=state.order_events,
        order_token_secret=state.order_token_secret,
        json_fragments=not isinstance(request, WebSocket),
    )
