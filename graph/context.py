"""What every resolver receives: the request, the database, settings and the loaders."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.types import Info as StrawberryInfo

from core.settings import Settings
from domain.access import UserRow
from domain.order_events import OrderEventHub
from domain.payments import PaymentProvider
from graph.dataloaders import Loaders


@dataclass
class Context:
    request: Request | WebSocket
    response: Response | WebSocket | None
    engine: AsyncEngine
    read_engine: AsyncEngine
    settings: Settings
    payments: PaymentProvider
    order_events: OrderEventHub
    order_token_secret: str = field(repr=False)
    jwt_secret: str = field(repr=False)
    # Catalog listings: the read replica while it is up and current (core/replica.py), else read_engine.
    catalog_engine: AsyncEngine | None = field(default=None, repr=False)
    # The WebSocket connection_init payload; strawberry sets it when the client sends one.
    connection_params: dict[str, Any] | None = field(default=None, repr=False)
    # The HTTP endpoint writes answers with orjson, so a resolver may hand back JSON text built
    # elsewhere as an orjson.Fragment (graph.catalog.page_json); other callers get plain data.
    json_fragments: bool = field(default=False, repr=False)
    loaders: Loaders = field(init=False)
    # The signed-in user of an HTTP request, looked up once (see graph.auth).
    viewer_lookup: asyncio.Task[UserRow | None] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.read_engine)
        if self.catalog_engine is None:
            self.catalog_engine = self.read_engine

    def fresh_loaders(self) -> None:
        """Forget what was loaded: a WebSocket context lives for many events, each a new read."""
        self.loaders = Loaders(self.read_engine)


Info = StrawberryInfo[Context, None]


@dataclass(frozen=True, slots=True)
class PlainInfo:
    """All that the resolvers and their helpers read of strawberry's Info: its context. Given to a
    resolver's function by a path that runs it without strawberry's executor (app/lean_checkout.py)."""

    context: Context
