"""A per-process cache of whole answers to catalog-only queries.

Storefronts ask the same catalog pages again and again. An answer is kept for the exact
query text, variables and operation name, and only for queries whose root fields read the
catalog (`products`, `product`, `categories`), which no viewer changes. Every write to
products, variants or categories sends `pg_notify('catalog_changed')` from a trigger, in the
writing transaction; each process hears it on its LISTEN connection and drops every answer.
While that connection is down nothing is cached or served from the cache. Checkout never
reads through this cache: it prices and reserves against the locked rows themselves.

Orders move stock all day, and that must not empty the cache (migration 0012): a write that
only changes variants' stock or reservations says `stock:<product id>,...`, and only the
answers that showed one of those products are dropped. Each answer remembers the products it
was built from (the GraphQL layer calls `note_products` as it makes them). A product flipping
in or out of stock, or any other catalog write, still drops everything (filters and counts
depend on them).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from functools import lru_cache, wraps
from typing import TypeVar

import orjson
from graphql import FieldNode, GraphQLSyntaxError, OperationDefinitionNode, OperationType, parse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core import metrics
from core.http_guard import read_body

T = TypeVar("T")

CATALOG_CHANNEL = "catalog_changed"
CACHEABLE_ROOT_FIELDS = frozenset({"products", "product", "categories", "__typename"})
# Larger requests are answered without the cache: their texts would pin memory as cache keys, and
# their parsing here, before the server's own query limits apply, would cost time.
MAX_CACHEABLE_BODY_BYTES = 20_000
MAX_CACHEABLE_QUERY_TOKENS = 3_000

CacheKey = tuple[str, bytes, str | None]
STOCK_PREFIX = "stock:"
# Per-product drops remembered for answers still being computed when they happened.
MAX_REMEMBERED_DROPS = 4_096

# The products the answer being computed shows (set by the middleware around the application).
_shown_products: ContextVar[set[int] | None] = ContextVar("catalog_cache_shown_products", default=None)


def note_products(product_ids: Iterable[int]) -> None:
    """Record that the answer being computed shows these products (their stock, say)."""
    shown = _shown_products.get()
    if shown is not None:
        shown.update(product_ids)


def note_product(product_id: int) -> None:
    shown = _shown_products.get()
    if shown is not None:
        shown.add(product_id)


class CatalogCache:
    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self.generation = 0
        self.available = False
        self._answers: OrderedDict[CacheKey, tuple[int, bytes, frozenset[int]]] = OrderedDict()
        self._by_product: dict[int, set[CacheKey]] = {}
        # Per-product drops: a sequence number, and the latest ones with their products.
        self.drops = 0
        self._recent_drops: deque[tuple[int, frozenset[int]]] = deque(maxlen=MAX_REMEMBERED_DROPS)
        self.hits = 0
        self.misses = 0

    @property
    def enabled(self) -> bool:
        return self.available and self.max_entries > 0

    def invalidate(self) -> None:
        self.generation += 1
        self._answers.clear()
        self._by_product.clear()

    def notified(self, payload: str) -> None:
        """A `catalog_changed` notification: stock of some products, or anything (drop all)."""
        if not payload.startswith(STOCK_PREFIX):
            self.invalidate()
            return
        try:
            products = frozenset(int(part) for part in payload[len(STOCK_PREFIX) :].split(","))
        except ValueError:
            self.invalidate()
            return
        self.invalidate_products(products)

    def invalidate_products(self, products: frozenset[int]) -> None:
        self.drops += 1
        self._recent_drops.append((self.drops, products))
        for product in products:
            for key in self._by_product.pop(product, ()):
                self._forget(key)

    def _forget(self, key: CacheKey) -> None:
        entry = self._answers.pop(key, None)
        if entry is None:
            return
        for product in entry[2]:
            keys = self._by_product.get(product)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._by_product[product]

    def _dropped_since(self, drops: int, products: frozenset[int]) -> bool:
        if drops == self.drops:
            return False
        if not self._recent_drops or self._recent_drops[0][0] > drops + 1:
            return True  # older drops are forgotten: assume the worst
        return any(seq > drops and not products.isdisjoint(dropped) for seq, dropped in self._recent_drops)

    def set_available(self, available: bool) -> None:
        """Caching is safe only while invalidations can be heard."""
        self.available = available
        self.invalidate()

    def get(self, key: CacheKey, *, count: bool = True) -> bytes | None:
        entry = self._answers.get(key)
        if entry is None or entry[0] != self.generation:
            self.misses += count
            return None
        self.hits += count
        self._answers.move_to_end(key)
        return entry[1]

    def put(
        self,
        key: CacheKey,
        generation: int,
        answer: bytes,
        products: frozenset[int] = frozenset(),
        drops: int | None = None,
    ) -> None:
        """Keep an answer computed from data read after `generation` began (and after per-product
        drop number `drops`), unless it has ended or one of its `products` was dropped since."""
        if generation != self.generation or not self.enabled:
            return
        if drops is not None and self._dropped_since(drops, products):
            return
        self._forget(key)
        self._answers[key] = (generation, answer, products)
        for product in products:
            self._by_product.setdefault(product, set()).add(key)
        while len(self._answers) > self.max_entries:
            self._forget(next(iter(self._answers)))

    def __len__(self) -> int:
        return len(self._answers)


MEMO_MAX_QUERY = 8_192  # characters: a longer query text is parsed each time, never kept
MEMO_QUERIES = 256


def memoised_per_query(function: Callable[[str, str | None], T]) -> Callable[[str, str | None], T]:
    """`function(query, operation_name)` remembered for the last MEMO_QUERIES short query texts
    (storefronts repeat a few queries, so each is parsed once), and computed afresh for texts over
    MEMO_MAX_QUERY characters: what is kept stays a few megabytes whatever clients send."""
    memo = lru_cache(maxsize=MEMO_QUERIES)(function)

    @wraps(function)
    def call(query: str, operation_name: str | None) -> T:
        return function(query, operation_name) if len(query) > MEMO_MAX_QUERY else memo(query, operation_name)

    call.cache_info = memo.cache_info  # type: ignore[attr-defined]
    return call


@memoised_per_query
def reads_only_the_catalog(query: str, operation_name: str | None) -> bool:
    try:
        document = parse(query, max_tokens=MAX_CACHEABLE_QUERY_TOKENS)
    except GraphQLSyntaxError:
        return False
    operations = [node for node in document.definitions if isinstance(node, OperationDefinitionNode)]
    if operation_name is not None:
        operations = [node for node in operations if node.name and node.name.value == operation_name]
    if len(operations) != 1 or operations[0].operation is not OperationType.QUERY:
        return False
    selections = operations[0].selection_set.selections
    return all(
        isinstance(node, FieldNode) and node.name.value in CACHEABLE_ROOT_FIELDS for node in selections
    )


class CatalogCacheMiddleware:
    """Answers repeated catalog-only POSTs to /graphql from the cache; stores fresh ones."""

    def __init__(self, app: ASGIApp, cache: CatalogCache, path: str = "/graphql") -> None:
        self.app = app
        self.cache = cache
        self.path = path
        # Answers being computed: a request for one waits for it rather than computing it again
        # (after a drop, the shoppers on a popular page would otherwise all read it at once).
        self._computing: dict[CacheKey, asyncio.Event] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or scope["path"] != self.path
            or not self.cache.enabled
            or not _plain_json(scope)
        ):
            await self.app(scope, receive, send)
            return
        body, replay = await read_body(scope, receive)
        key = _cache_key(body)
        if key is None or not reads_only_the_catalog(key[0], key[2]):
            await self.app(scope, replay, send)
            return
        cached = self.cache.get(key)
        if cached is None and (computing := self._computing.get(key)) is not None:
            await computing.wait()
            # Kept only if no drop touched it while it was computed (CatalogCache.put); else this
            # request computes its own.
            cached = self.cache.get(key, count=False)
        metrics.catalog_cache(cached is not None, key[0], key[2])
        if cached is not None:
            await _send_json(send, cached)
            return
        owner = key not in self._computing  # else one that woke first computes it too: not waited for
        if owner:
            self._computing[key] = asyncio.Event()
        generation, drops = self.cache.generation, self.cache.drops
        captured = _Capture(send)
        shown: set[int] = set()
        token = _shown_products.set(shown)
        try:
            await self.app(scope, replay, captured)
            if captured.status == 200 and captured.complete and b'"errors"' not in captured.body:
                self.cache.put(key, generation, bytes(captured.body), frozenset(shown), drops)
        finally:
            _shown_products.reset(token)
            if owner:
                self._computing.pop(key).set()


def _plain_json(scope: Scope) -> bool:
    """Whether the request says it is JSON in UTF-8, the one kind the cache answers. Any other
    content type goes to the application, which applies its own rules (a 400 for most)."""
    values = [value for name, value in scope["headers"] if name == b"content-type"]
    return len(values) == 1 and _json_in_utf8(values[0])


def json_in_utf8_request(content_type: bytes) -> bool:
    """Whether a Content-Type header's value says JSON in UTF-8 (the one this cache answers)."""
    return _json_in_utf8(content_type)


@lru_cache(maxsize=64)
def _json_in_utf8(content_type: bytes) -> bool:
    media_type, *parameters = content_type.decode("latin-1").lower().split(";")
    if media_type.strip() != "application/json":
        return False
    return all(parameter.strip().replace('"', "") == "charset=utf-8" for parameter in parameters)


def _cache_key(body: bytes) -> CacheKey | None:
    if len(body) > MAX_CACHEABLE_BODY_BYTES:
        return None
    try:
        request = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(request, dict) or not isinstance(request.get("query"), str):
        return None
    operation_name = request.get("operationName")
    variables = request.get("variables") or {}
    if not isinstance(variables, dict) or not isinstance(operation_name, str | None):
        return None
    return request["query"], orjson.dumps(variables, option=orjson.OPT_SORT_KEYS), operation_name


async def _send_json(send: Send, body: bytes) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class _Capture:
    """Passes a response through while keeping a copy of it."""

    def __init__(self, send: Send) -> None:
        self.send = send
        self.status = 0
        self.body = bytearray()
        self.complete = False

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
        elif message["type"] == "http.response.body":
            self.body.extend(message.get("body", b""))
            self.complete = not message.get("more_body", False)
        await self.send(message)
