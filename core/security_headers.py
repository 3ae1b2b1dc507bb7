"""Security headers on every HTTP response.

API answers forbid everything a browser might do with them (`default-src 'none'`); HTML pages
(GraphiQL with DEBUG, the payment sandbox) only forbid being framed, since GraphiQL runs inline
scripts from a CDN. HSTS is sent only on requests that came over HTTPS, which uvicorn reports
from X-Forwarded-Proto when a trusted proxy (FORWARDED_ALLOW_IPS) terminates TLS.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

API_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'"
PAGE_CONTENT_SECURITY_POLICY = "frame-ancestors 'none'"
HSTS = "max-age=31536000"

_ALWAYS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        over_https = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                headers = MutableHeaders(scope=message)
                for name, value in _ALWAYS.items():
                    headers.setdefault(name, value)
                is_page = headers.get("content-type", "").startswith("text/html")
                headers.setdefault(
                    "Content-Security-Policy",
                    PAGE_CONTENT_SECURITY_POLICY if is_page else API_CONTENT_SECURITY_POLICY,
                )
                if over_https:
                    headers.setdefault("Strict-Transport-Security", HSTS)
            await send(message)

        await self.app(scope, receive, send_with_headers)
