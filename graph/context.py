"""What every resolver receives: the request, the database, settings and the loaders."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.types import Info as StrawberryInfo

from core.settings import Settings
from graph.dataloaders import Loaders


@dataclass
class Context:
    request: Request | WebSocket
    response: Response | WebSocket | None
    engine: AsyncEngine
    read_engine: AsyncEngine
    settings: Settings
    loaders: Loaders = field(init=False)

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.read_engine)


Info = StrawberryInfo[Context, None]
