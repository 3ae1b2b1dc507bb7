"""OpenTelemetry tracing, on when OTEL_EXPORTER_OTLP_ENDPOINT is set; otherwise nothing of
OpenTelemetry is imported.

The maintained instrumentations do the work: ASGI (every HTTP request and WebSocket, with our
request id as the `request.id` attribute), asyncpg (every statement, without its values) and
httpx (the Stripe SDK's calls). Spans go out over OTLP/HTTP in batches; the endpoint and the
rest of the exporter (headers, timeouts) follow the standard OTEL_* environment variables, and
the service is named by OTEL_SERVICE_NAME (default "storefront-api").
"""

from __future__ import annotations

import os
from typing import Any

from starlette.middleware import Middleware

from core.request_id import current_request_id
from core.settings import Settings

SERVICE_NAME = "storefront-api"


def otlp_exporter(settings: Settings) -> Any:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    endpoint = (settings.otel_exporter_otlp_endpoint or "").rstrip("/")
    return OTLPSpanExporter(endpoint=f"{endpoint}/v1/traces")


class Tracing:
    """The tracer provider and the instrumentations of one application."""

    def __init__(self, settings: Settings) -> None:
        from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        name = os.environ.get("OTEL_SERVICE_NAME") or SERVICE_NAME
        self.provider = TracerProvider(resource=Resource.create({"service.name": name}))
        self.provider.add_span_processor(BatchSpanProcessor(otlp_exporter(settings)))
        self._instrumentors = [AsyncPGInstrumentor(), HTTPXClientInstrumentor()]
        for instrumentor in self._instrumentors:
            instrumentor.instrument(tracer_provider=self.provider)

    def middleware(self) -> Middleware:
        from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

        return Middleware(
            OpenTelemetryMiddleware,
            tracer_provider=self.provider,
            server_request_hook=_with_request_id,
            exclude_spans=["receive", "send"],  # one span per request, not one per message
        )

    def shutdown(self) -> None:
        for instrumentor in self._instrumentors:
            instrumentor.uninstrument()
        self.provider.shutdown()  # sends what is left


def _with_request_id(span: Any, scope: dict[str, Any]) -> None:
    if span is not None and span.is_recording():
        span.set_attribute("request.id", current_request_id())


def tracing(settings: Settings) -> Tracing | None:
    return Tracing(settings) if settings.otel_exporter_otlp_endpoint else None
