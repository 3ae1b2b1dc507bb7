"""Security headers on every HTTP response.

API answers forbid everything a browser might do with them (`default-src 'none'`); the
storefront and GraphiQL set their own policies (core.pages: this server only), and other HTML
pages (the payment sandbox) only forbid being framed. HSTS is sent only on requests that came
over HTTPS, which uvicorn reports from X-Forwarded-Proto when a trusted proxy
(FORWARDED_ALLOW_IPS) terminates TLS.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

API_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'"
PAGE_CONTENT_SECURITY_POLICY = "frame-ancestors 'none'"
HSTS = "max-age=31536000"

_ALWAYS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
)


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
                message["headers"] = with_security_headers(list(message.get("headers", ())), over_https)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def with_security_headers(headers: list[tuple[bytes, bytes]], over_https: bool) -> list[tuple[bytes, bytes]]:
    """`headers` with every security header the application did not set itself (one pass)."""
    present = {name.lower(): value for name, value in headers}
    missing = [(name, value) for name, value in _ALWAYS if name not in present]
    if b"content-security-policy" not in present:
        is_page = present.get(b"content-type", b"").startswith(b"text/html")
        policy = PAGE_CONTENT_SECURITY_POLICY if is_page else API_CONTENT_SECURITY_POLICY
        missing.append((b"content-security-policy", policy.encode()))
    if over_https and b"strict-transport-security" not in present:
        missing.append((b"strict-transport-security", HSTS.encode()))
    return headers + missing
