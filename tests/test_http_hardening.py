"""HTTP around the schema: body limits, malformed bodies, security headers, CORS and HSTS."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from app.factory import create_app
from core.http_guard import MAX_BODY_BYTES
from core.pages import GRAPHIQL_CSP
from core.settings import Settings
from tests.support import served

TYPENAME = b'{"query": "{ __typename }"}'
JSON = {"content-type": "application/json"}


@pytest.fixture
async def running(settings: Settings, request: pytest.FixtureRequest) -> AsyncIterator[str]:
    """A server built from the test's settings with `update` applied (indirect parameter)."""
    update: dict[str, Any] = dict(getattr(request, "param", {}))
    forwarded_allow_ips = update.pop("forwarded_allow_ips", "127.0.0.1")
    app = create_app(settings.model_copy(update=update))
    async with served(app, forwarded_allow_ips=forwarded_allow_ips) as running:
        yield running.url


async def raw_request(url: str, head: bytes, body: bytes = b"") -> tuple[int, dict[str, str], bytes]:
    """Send bytes exactly as given and read the whole answer (the server closes or says how long)."""
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    try:
        writer.write(head + body)
        await writer.drain()
        status_line = await reader.readline()
        headers: dict[str, str] = {}
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            headers[name.strip().lower()] = value.strip()
        answer = await reader.readexactly(int(headers.get("content-length", "0")))
        return int(status_line.split()[1]), headers, answer
    finally:
        writer.close()


def post_head(content_length: int | None = None, chunked: bool = False) -> bytes:
    lines = ["POST /graphql HTTP/1.1", "Host: test", "Content-Type: application/json"]
    if content_length is not None:
        lines.append(f"Content-Length: {content_length}")
    if chunked:
        lines.append("Transfer-Encoding: chunked")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def chunks(body: bytes, size: int) -> bytes:
    pieces = [body[i : i + size] for i in range(0, len(body), size)]
    return b"".join(f"{len(piece):x}\r\n".encode() + piece + b"\r\n" for piece in pieces) + b"0\r\n\r\n"


def padded_query(total_bytes: int) -> bytes:
    """A valid GraphQL request of exactly `total_bytes` bytes: a product looked up by a long slug."""
    head = b'{"query": "query($s: String!) { product(slug: $s) { id } }", "variables": {"s": "'
    tail = b'"}}'
    return head + b"x" * (total_bytes - len(head) - len(tail)) + tail


# ---------------------------------------------------------------- body size


@pytest.fixture
def base_url(client: httpx.AsyncClient) -> str:
    return str(client.base_url)


async def test_a_declared_body_over_the_limit_is_refused_before_it_is_sent(base_url: str) -> None:
    # Only the head is sent: the answer cannot depend on reading the body.
    status, headers, body = await raw_request(base_url, post_head(content_length=MAX_BODY_BYTES + 1))
    assert status == 413 and b"larger than" in body
    assert headers["connection"] == "close"


async def test_a_chunked_body_is_counted_as_it_streams(base_url: str) -> None:
    too_big = padded_query(MAX_BODY_BYTES + 1)
    status, _, body = await raw_request(base_url, post_head(chunked=True), chunks(too_big, 65_536))
    assert status == 413 and b"larger than" in body

    just_fits = padded_query(MAX_BODY_BYTES)
    status, _, body = await raw_request(base_url, post_head(chunked=True), chunks(just_fits, 65_536))
    assert status == 200 and body == b'{"data":{"product":null}}'


async def test_a_body_of_exactly_the_limit_is_served(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", content=padded_query(MAX_BODY_BYTES), headers=JSON)
    assert response.status_code == 200 and response.json() == {"data": {"product": None}}


async def test_a_malformed_content_length_is_a_400(base_url: str) -> None:
    head = post_head().replace(b"\r\n\r\n", b"\r\nContent-Length: 12abc\r\n\r\n")
    status, _, _ = await raw_request(base_url, head)
    assert status == 400


# ---------------------------------------------------------------- malformed requests


@pytest.mark.parametrize(
    ("content", "headers", "reason"),
    [
        (b'{"query": ', JSON, "Unable to parse request body as JSON"),
        (b"", JSON, "Unable to parse request body as JSON"),
        (b'{"query": "\xff\xfe"}', JSON, "Unable to parse request body as JSON"),  # not UTF-8
        (b'{"query": "{ __typename }", "x": "\\ud800"}', JSON, "Unable to parse request body as JSON"),
        (b'{"query": "query($s: String!) { product(slug: $s) { id } }", "variables": {"s": "\\udc80"}}',
         JSON, "Unable to parse request body as JSON"),  # a lone surrogate would reach PostgreSQL
        (b"42", JSON, "must be a JSON object"),
        (b"null", JSON, "must be a JSON object"),
        (b'"{ __typename }"', JSON, "must be a JSON object"),
        (b"true", JSON, "must be a JSON object"),
        (b'[{"query": "{ __typename }"}, {"query": "{ __typename }"}]', JSON, "Batching is not enabled"),
        (b"[]", JSON, "Batching is not enabled"),
        (b'{"query": 5}', JSON, "must be a string"),
        (b'{"query": "{ __typename }", "variables": [1]}', JSON, "must be an object"),
        (b"{}", JSON, "No GraphQL query found"),
        (TYPENAME, {"content-type": "text/plain"}, "Unsupported content type"),
        (TYPENAME, {}, "Unsupported content type"),
        (b"query=%7B__typename%7D", {"content-type": "application/x-www-form-urlencoded"},
         "Unsupported content type"),
        (b"--x\r\n\r\n--x--", {"content-type": "multipart/form-data; boundary=x"}, "Unsupported content type"),
        (b"{ __typename }", {"content-type": "application/graphql"}, "Unsupported content type"),
    ],
)  # fmt: skip
async def test_client_mistakes_are_400s_never_500s(
    client: httpx.AsyncClient, content: bytes, headers: dict[str, str], reason: str
) -> None:
    response = await client.post("/graphql", content=content, headers=headers)
    assert response.status_code == 400, response.text
    assert reason in response.text
    assert "Traceback" not in response.text


async def test_a_lone_surrogate_escape_in_the_query_is_a_syntax_error(client: httpx.AsyncClient) -> None:
    for query in ('{ product(slug: "\\udc80") { id } }', '{ product(slug: "\\ud800x") { id } }'):
        response = await client.post("/graphql", json={"query": query})
        assert response.status_code == 200
        assert response.json()["errors"][0]["message"].startswith("Syntax Error")


async def test_subscriptions_over_http_are_refused_clearly(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", json={"query": "subscription { myOrderUpdates { to } }"})
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == "SUBSCRIPTION_NEEDS_WEBSOCKET"
    assert "WebSocket" in error["message"]


async def test_other_methods_and_paths_are_not_500s(client: httpx.AsyncClient) -> None:
    assert (await client.put("/graphql", content=TYPENAME)).status_code == 405
    assert (await client.delete("/graphql")).status_code == 405
    assert (await client.get("/graphql", headers={"Accept": "application/json"})).status_code == 400
    # Queries may come as GET (issue 18: APQ, CDN caching; tests/test_persisted_queries.py).
    assert (await client.get("/graphql?query={__typename}")).status_code == 200
    assert (await client.get("/graphql?query=mutation{__typename}")).status_code == 405
    assert (await client.get("/nowhere")).status_code == 404


@pytest.mark.parametrize("session", ["cs_x%00y", "%ED%B2%80", "%E2%80%AE", "x" * 5_000])
async def test_odd_sandbox_sessions_are_not_found(client: httpx.AsyncClient, session: str) -> None:
    assert (await client.get(f"/sandbox/checkout/{session}")).status_code == 404
    for action in ("pay", "cancel", "expire"):
        assert (await client.post(f"/sandbox/checkout/{session}/{action}")).status_code == 404


# ---------------------------------------------------------------- security headers


def assert_security_headers(response: httpx.Response, content_security_policy: str) -> None:
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["content-security-policy"] == content_security_policy


async def test_every_answer_carries_the_security_headers(client: httpx.AsyncClient) -> None:
    api = "default-src 'none'; frame-ancestors 'none'"
    responses = [
        await client.post("/graphql", content=TYPENAME, headers=JSON),
        await client.post("/graphql", content=b"nope", headers=JSON),
        await client.get("/healthz"),
        await client.get("/nowhere"),
        await client.post("/webhooks/stripe", content=b"{}"),
    ]
    for response in responses:
        assert_security_headers(response, api)
        assert "strict-transport-security" not in response.headers  # plain HTTP


async def test_hsts_only_over_https_as_a_trusted_proxy_reports_it(client: httpx.AsyncClient) -> None:
    over_https = await client.post(
        "/graphql", content=TYPENAME, headers={**JSON, "X-Forwarded-Proto": "https"}
    )
    assert over_https.headers["strict-transport-security"] == "max-age=31536000"
    over_http = await client.post("/graphql", content=TYPENAME, headers={**JSON, "X-Forwarded-Proto": "http"})
    assert "strict-transport-security" not in over_http.headers


@pytest.mark.parametrize("running", [{"forwarded_allow_ips": "10.9.9.9"}], indirect=True)
async def test_an_untrusted_peer_cannot_claim_https(running: str) -> None:
    async with httpx.AsyncClient(base_url=running) as client:
        response = await client.post(
            "/graphql", content=TYPENAME, headers={**JSON, "X-Forwarded-Proto": "https"}
        )
    assert response.status_code == 200
    assert "strict-transport-security" not in response.headers


async def test_graphiql_runs_under_a_policy_that_allows_only_this_server(client: httpx.AsyncClient) -> None:
    page = await client.get("/graphql", headers={"Accept": "text/html"})
    api = await client.post("/graphql", content=TYPENAME, headers=JSON)
    assert page.status_code == 200 and "graphiql" in page.text.lower()
    assert_security_headers(page, GRAPHIQL_CSP)
    assert "script-src 'self';" in GRAPHIQL_CSP and "connect-src 'self';" in GRAPHIQL_CSP
    assert_security_headers(api, "default-src 'none'; frame-ancestors 'none'")
    for asset in re.findall(r'(?:src|href)="(/graphiql/[^"]+)"', page.text):
        assert (await client.get(asset)).status_code == 200, asset


# ---------------------------------------------------------------- CORS

STOREFRONT = "https://shop.example.test"


def preflight(origin: str, headers: str = "content-type, authorization") -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": headers,
    }


@pytest.mark.parametrize(
    "running", [{"cors_origins": f"{STOREFRONT}, https://admin.example.test"}], indirect=True
)
async def test_cors_answers_only_the_configured_origins(running: str) -> None:
    async with httpx.AsyncClient(base_url=running) as client:
        allowed = await client.options("/graphql", headers=preflight(STOREFRONT))
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == STOREFRONT
        assert set(allowed.headers["access-control-allow-methods"].split(", ")) == {"GET", "POST", "OPTIONS"}
        assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
        assert_security_headers(allowed, "default-src 'none'; frame-ancestors 'none'")

        refused = await client.options("/graphql", headers=preflight("https://evil.example"))
        assert refused.status_code == 400 and "access-control-allow-origin" not in refused.headers
        odd_header = await client.options("/graphql", headers=preflight(STOREFRONT, "x-secret"))
        assert odd_header.status_code == 400

        simple = await client.post("/graphql", content=TYPENAME, headers={**JSON, "Origin": STOREFRONT})
        assert simple.headers["access-control-allow-origin"] == STOREFRONT
        assert "retry-after" in simple.headers["access-control-expose-headers"].lower()
        foreign = await client.post(
            "/graphql", content=TYPENAME, headers={**JSON, "Origin": "https://evil.example"}
        )
        assert foreign.status_code == 200 and "access-control-allow-origin" not in foreign.headers


async def test_without_cors_origins_no_origin_is_allowed(client: httpx.AsyncClient) -> None:
    preflight_answer = await client.options("/graphql", headers=preflight(STOREFRONT))
    assert "access-control-allow-origin" not in preflight_answer.headers
    simple = await client.post("/graphql", content=TYPENAME, headers={**JSON, "Origin": STOREFRONT})
    assert "access-control-allow-origin" not in simple.headers
