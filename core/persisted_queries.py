"""Automatic Persisted Queries (Apollo's protocol) and CDN-friendly GET for /graphql.

A client sends `extensions.persistedQuery = {"version": 1, "sha256Hash": <hex of the query's
UTF-8 bytes>}` without the query; when this process knows the hash, the query is filled in.
When it does not, the answer is the error `PersistedQueryNotFound` (extensions.code
`PERSISTED_QUERY_NOT_FOUND`) and the client sends the query with its hash once, which is checked
(a mismatch is refused with 400) and remembered in a bounded store (least recently used first
out; `PERSISTED_QUERIES_SIZE` entries of at most MAX_QUERY_LENGTH characters, per process).

Queries may come as GET (`?query=...` or `?extensions=...`, with `variables` and `operationName`
as JSON/text), which is what makes them cacheable by a CDN or a browser; mutations and
subscriptions never (405). A GET is handed to the GraphQL endpoint as the equivalent POST, so the
query limits and the catalog answer cache apply alike.

Caching headers go only on answers that do not depend on who asks: a GET of a catalog-only query
(core.catalog_cache.reads_only_the_catalog: products, product, categories) sent without
Authorization, answered 200 without errors, gets `Cache-Control: public, max-age=CATALOG_HTTP_MAX_AGE`
and a strong `ETag` (SHA-256 of the answer's bytes); `If-None-Match` with that tag is answered
304 without a body. Every other GET answer (carts, me, orders, anything sent with
Authorization, errors) says `Cache-Control: private, no-store`. POST answers are left as they are.
"""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
from typing import Any
from urllib.parse import parse_qsl

import orjson
from graphql import GraphQLSyntaxError, OperationDefinitionNode, OperationType, parse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.catalog_cache import memoised_per_query, reads_only_the_catalog
from core.http_guard import BODY, read_body, replay_body
from core.settings import Settings

MAX_QUERY_LENGTH = 20_000  # characters of a query this store keeps
NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
NOT_SUPPORTED = "PERSISTED_QUERY_NOT_SUPPORTED"
HASH_MISMATCH = "PERSISTED_QUERY_HASH_MISMATCH"
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
PRIVATE = b"private, no-store"


class PersistedQueryStore:
    """Query texts by the SHA-256 of their UTF-8 bytes: at most `max_entries`, least recently used out."""

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._queries: OrderedDict[str, str] = OrderedDict()

    def get(self, sha256: str) -> str | None:
        query = self._queries.get(sha256)
        if query is not None:
            self._queries.move_to_end(sha256)
        return query

    def put(self, sha256: str, query: str) -> None:
        if self.max_entries <= 0 or len(query) > MAX_QUERY_LENGTH:
            return
        self._queries[sha256] = query
        self._queries.move_to_end(sha256)
        while len(self._queries) > self.max_entries:
            self._queries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._queries)


class Refused(Exception):
    def __init__(self, status: int, message: str, code: str) -> None:
        super().__init__(message)
        self.status, self.message, self.code = status, message, code


def sha256_hex(query: str) -> str:
    return hashlib.sha256(query.encode("utf-8", "surrogatepass")).hexdigest()


def resolve(request: dict[str, Any], store: PersistedQueryStore) -> dict[str, Any]:
    """The request with its query filled in from the store, or registered there; raises Refused."""
    extensions = request.get("extensions")
    persisted = extensions.get("persistedQuery") if isinstance(extensions, dict) else None
    if persisted is None:
        return request
    if not isinstance(persisted, dict) or persisted.get("version") != 1:
        raise Refused(400, "Only version 1 of persisted queries is supported.", NOT_SUPPORTED)
    sha256 = persisted.get("sha256Hash")
    if not isinstance(sha256, str) or not _SHA256_HEX.fullmatch(sha256):
        raise Refused(400, "persistedQuery.sha256Hash must be 64 lowercase hex digits.", HASH_MISMATCH)
    query = request.get("query")
    if isinstance(query, str):
        if sha256_hex(query) != sha256:
            raise Refused(400, "provided sha does not match query", HASH_MISMATCH)
        store.put(sha256, query)
        return request
    if query is not None:
        raise Refused(400, "The query must be a string.", "BAD_REQUEST")
    known = store.get(sha256)
    if known is None:
        # 200, as Apollo Server answers it: the client resends the query with its hash.
        raise Refused(200, "PersistedQueryNotFound", NOT_FOUND)
    return {**request, "query": known}


@memoised_per_query  # a storefront's GETs repeat a few persisted queries: parse each once
def _operation_type(query: str, operation_name: str | None) -> OperationType | None:
    """The type of the operation a request runs; None when that is for GraphQL to say (bad syntax)."""
    try:  # a GET's query is at most MAX_QUERY_LENGTH characters: bounded work before the server's limits
        document = parse(query, no_location=True)
    except GraphQLSyntaxError:
        return None
    operations = [node for node in document.definitions if isinstance(node, OperationDefinitionNode)]
    if operation_name is not None:
        operations = [node for node in operations if node.name and node.name.value == operation_name]
    if len(operations) != 1:
        return None
    return operations[0].operation


def _from_query_string(scope: Scope) -> dict[str, Any] | None:
    """A GET's GraphQL request (query, variables, operationName, extensions); None for other GETs."""
    raw = scope.get("query_string", b"").decode("latin-1")
    try:
        params = dict(parse_qsl(raw, keep_blank_values=True, errors="strict"))
    except UnicodeDecodeError:
        raise Refused(400, "The query string must be UTF-8.", "BAD_REQUEST") from None
    if "query" not in params and "extensions" not in params:
        return None
    request: dict[str, Any] = {}
    if "query" in params:
        request["query"] = params["query"]
    if params.get("operationName"):
        request["operationName"] = params["operationName"]
    for name in ("variables", "extensions"):
        if params.get(name):
            try:
                request[name] = orjson.loads(params[name])
            except orjson.JSONDecodeError:
                raise Refused(400, f"`{name}` must be JSON.", "BAD_REQUEST") from None
            if not isinstance(request[name], dict):
                raise Refused(400, f"`{name}` must be a JSON object.", "BAD_REQUEST")
    return request


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return value
    return None


def _wants_html(scope: Scope) -> bool:
    """A browser opening the URL (GraphiQL, which may carry ?query= to share), not a GraphQL client."""
    accept = (_header(scope, b"accept") or b"").lower()
    return b"text/html" in accept and b"json" not in accept


def _etag_matches(if_none_match: bytes | None, etag: bytes) -> bool:
    if if_none_match is None:
        return False
    for candidate in if_none_match.split(b","):
        candidate = candidate.strip()
        if candidate == b"*" or candidate.removeprefix(b"W/") == etag:
            return True
    return False


async def _send(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _refuse(send: Send, refused: Refused, extra: tuple[tuple[bytes, bytes], ...] = ()) -> None:
    body = orjson.dumps({"errors": [{"message": refused.message, "extensions": {"code": refused.code}}]})
    headers = [(b"content-type", b"application/json"), (b"cache-control", PRIVATE), *extra]
    await _send(send, refused.status, body, headers)


class PersistedQueries:
    """ASGI wrapper of the GraphQL endpoint: APQ on GET and POST, GET as POST, caching headers."""

    def __init__(self, app: ASGIApp, store: PersistedQueryStore, max_age: int) -> None:
        self.app = app
        self.store = store
        self.max_age = max_age

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
        elif scope["method"] == "GET":
            await self._get(scope, receive, send)
        elif scope["method"] == "POST":
            await self._post(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _post(self, scope: Scope, receive: Receive, send: Send) -> None:
        body, replay = await read_body(scope, receive)
        try:
            request = orjson.loads(body) if b'"persistedQuery"' in body else None
        except orjson.JSONDecodeError:
            request = None
        if not isinstance(request, dict):  # not APQ (or not JSON): the endpoint answers as usual
            await self.app(scope, replay, send)
            return
        try:
            resolved = resolve(request, self.store)
        except Refused as refused:
            await _refuse(send, refused)
            return
        if resolved is not request:
            if replay is receive:
                await receive()  # RequestBodyLimit's replay of the body sent, which this one replaces
            body = orjson.dumps(resolved)
            scope = {**scope, "headers": _json_headers(scope, len(body)), BODY: body}
            replay = replay_body(body, receive)
        await self.app(scope, replay, send)

    async def _get(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            if _wants_html(scope):  # GraphiQL, which reads a shared ?query= itself, in the browser
                await self.app({**scope, "query_string": b""}, receive, send)
                return
            request = _from_query_string(scope)
            if request is None:  # whatever else the endpoint says to a GET
                await self.app(scope, receive, send)
                return
            request = resolve(request, self.store)
            query = request.get("query")
            if not isinstance(query, str):
                raise Refused(400, "A GET must carry `query` or a known persisted query.", "BAD_REQUEST")
            if len(query) > MAX_QUERY_LENGTH:
                raise Refused(
                    400, f"A GET's query is at most {MAX_QUERY_LENGTH} characters: use POST.", "BAD_REQUEST"
                )
            operation_name = request.get("operationName")
            kind = _operation_type(query, operation_name)
            if kind is not None and kind is not OperationType.QUERY:
                raise Refused(
                    405,
                    "GET carries queries only; send mutations and subscriptions with POST.",
                    "METHOD_NOT_ALLOWED",
                )
        except Refused as refused:
            await _refuse(send, refused, ((b"allow", b"GET, POST"),) if refused.status == 405 else ())
            return
        body = orjson.dumps({key: value for key, value in request.items() if key != "extensions"})
        headers = _json_headers(scope, len(body))
        inner = {**scope, "method": "POST", "query_string": b"", "headers": headers, BODY: body}
        captured = _Captured()
        await self.app(inner, replay_body(body, receive), captured)
        public = (
            kind is OperationType.QUERY
            and captured.status == 200
            and _header(scope, b"authorization") is None
            and b'"errors"' not in captured.body
            and reads_only_the_catalog(query, operation_name)
        )
        headers = [
            (name, value)
            for name, value in captured.headers
            if name not in (b"content-length", b"cache-control")
        ]
        if not public:
            await _send(send, captured.status, bytes(captured.body), [*headers, (b"cache-control", PRIVATE)])
            return
        etag = b'"' + hashlib.sha256(captured.body).hexdigest()[:32].encode() + b'"'
        caching = [
            (b"cache-control", b"public, max-age=%d" % self.max_age),
            (b"etag", etag),
            (b"vary", b"Authorization"),
        ]
        if _etag_matches(_header(scope, b"if-none-match"), etag):
            kept = [(name, value) for name, value in headers if name != b"content-type"]
            await send({"type": "http.response.start", "status": 304, "headers": [*kept, *caching]})
            await send({"type": "http.response.body", "body": b""})
            return
        await _send(send, 200, bytes(captured.body), [*headers, *caching])


def _json_headers(scope: Scope, length: int) -> list[tuple[bytes, bytes]]:
    kept = [
        (name, value) for name, value in scope["headers"] if name not in (b"content-type", b"content-length")
    ]
    return [*kept, (b"content-type", b"application/json"), (b"content-length", str(length).encode())]


class _Captured:
    """The endpoint's whole answer, kept to be sent with caching headers (answers here are small)."""

    def __init__(self) -> None:
        self.status = 500
        self.headers: list[tuple[bytes, bytes]] = []
        self.body = bytearray()

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            self.body.extend(message.get("body", b""))


def with_persisted_queries(app: ASGIApp, settings: Settings) -> PersistedQueries:
    return PersistedQueries(
        app, PersistedQueryStore(settings.persisted_queries_size), settings.catalog_http_max_age
    )
