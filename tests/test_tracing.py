"""OpenTelemetry: with OTEL_EXPORTER_OTLP_ENDPOINT set, requests, SQL statements and the Stripe
SDK's calls are traced with the request id as an attribute (here into an in-memory exporter in
place of OTLP's); without it, OpenTelemetry is not even imported."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from app.factory import create_app
from core import tracing
from core.settings import Settings
from tests.shop import checkout, new_cart, variant_with_stock
from tests.support import ROOT, served


async def test_requests_statements_and_stripe_calls_are_traced(
    stripe_settings: Settings, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    exporter = InMemorySpanExporter()
    monkeypatch.setattr(tracing, "otlp_exporter", lambda settings: exporter)
    traced = stripe_settings.model_copy(update={"otel_exporter_otlp_endpoint": "http://127.0.0.1:4318"})
    app = create_app(traced)
    async with served(app) as running, httpx.AsyncClient(base_url=running.url, timeout=60) as http:
        variant_id, _, _ = await variant_with_stock(database_url, 10)
        answer = await http.post(
            "/graphql", json={"query": "query Names { products(first: 1) { edges { node { name } } } }"}
        )
        request_id = answer.headers["x-request-id"]
        await checkout(http, await new_cart(http, variant_id))  # opens a Checkout Session at the stub
        app.state.tracing.provider.force_flush()
        spans = exporter.get_finished_spans()
    scopes = {span.instrumentation_scope.name for span in spans if span.instrumentation_scope}
    assert {"opentelemetry.instrumentation.asgi", "opentelemetry.instrumentation.asyncpg"} <= scopes, scopes
    assert "opentelemetry.instrumentation.httpx" in scopes, scopes
    server_spans = [
        span for span in spans if span.attributes and span.attributes.get("request.id") == request_id
    ]
    assert server_spans, "the request's span carries its request id"
    statements = [span for span in spans if span.instrumentation_scope.name.endswith("asyncpg")]
    trace_of_request = {span.context.trace_id for span in server_spans}
    assert any(span.context.trace_id in trace_of_request for span in statements), (
        "SQL inside the request's trace"
    )
    text = " ".join(str(dict(span.attributes or {})) for span in spans)
    assert "ada@example.com" not in text  # statement values are not recorded


def test_without_an_endpoint_opentelemetry_is_not_imported() -> None:
    code = (
        "import sys; from core.settings import Settings; from app.factory import create_app;"
        "create_app(Settings(_env_file=None, database_url='postgresql://x@127.0.0.1:1/x', payment_sandbox='on'));"
        "print(sorted(m for m in sys.modules if m.startswith('opentelemetry')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip().splitlines()[-1] == "[]", result.stdout
