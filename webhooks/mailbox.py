"""The local mailbox: the e-mails this server captured (SMTP_HOST unset), for the demo only.

Served only while the payment sandbox is on (a demo, never a deployment), like the sandbox's own
pages; every page says first, loudly, that these messages were not sent. A message's HTML part
is served on its own, under a policy that runs no script and loads nothing, and shown framed.
"""

from __future__ import annotations

import html
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from domain.notifications import captured_message, captured_messages

MAX_LISTED = 200
NOT_SENT_BANNER = (
    "<p role='alert' style='background: #b00020; color: white; padding: 0.75em; font-weight: bold'>"
    "Demo mailbox: these e-mails were NOT sent. No SMTP server is configured (SMTP_HOST), so this "
    "server keeps them here instead. Never use this in production."
    "</p>"
)
# The HTML part of a message: shown framed by the mailbox page only, without scripts or requests.
MESSAGE_HTML_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'; sandbox"
)


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title></head>"
        "<body style='font-family: sans-serif; max-width: 60em; margin: 2em auto'>"
        f"{NOT_SENT_BANNER}<h1>{html.escape(title)}</h1>{body}</body></html>",
        status,
    )


async def mailbox(request: Request) -> Response:
    messages = await captured_messages(request.app.state.read_engine, MAX_LISTED)
    rows = "".join(
        f"<tr><td>{message.created_at:%Y-%m-%d %H:%M:%S}</td><td>{html.escape(message.recipient)}</td>"
        f"<td><a href='/mailbox/{message.id}'>{html.escape(message.subject)}</a></td>"
        f"<td>{html.escape(message.status)}</td></tr>"
        for message in messages
    )
    body = (
        "<p><a href='/'>Back to the storefront</a></p>"
        "<table cellpadding='6'><tr><th>When</th><th>To</th><th>Subject</th><th>Status</th></tr>"
        f"{rows}</table>"
        if messages
        else "<p>No e-mail yet: place an order in the storefront and its confirmation shows here.</p>"
    )
    return _page("Mailbox", body)


async def _message(request: Request) -> Any:
    raw = request.path_params["message"]
    if not raw.isdigit() or len(raw) > 18:
        return None
    return await captured_message(request.app.state.read_engine, int(raw))


async def message_page(request: Request) -> Response:
    message = await _message(request)
    if message is None:
        return _page("No such message", "<p><a href='/mailbox'>Back to the mailbox</a></p>", 404)
    body = (
        "<p><a href='/mailbox'>Back to the mailbox</a></p>"
        f"<p><strong>To:</strong> {html.escape(message.recipient)}<br>"
        f"<strong>Message-ID:</strong> {html.escape(message.message_id)}<br>"
        f"<strong>Status:</strong> {html.escape(message.status)}</p>"
        f"<iframe src='/mailbox/{message.id}/html' sandbox title='HTML part' "
        "style='width: 100%; height: 40em; border: 1px solid #ccc'></iframe>"
        f"<h2>Plain text</h2><pre style='white-space: pre-wrap'>{html.escape(message.text_body)}</pre>"
    )
    return _page(message.subject, body)


async def message_html(request: Request) -> Response:
    message = await _message(request)
    if message is None:
        return Response("Not found", 404, media_type="text/plain")
    return HTMLResponse(
        message.html_body,
        headers={"content-security-policy": MESSAGE_HTML_POLICY, "x-frame-options": "SAMEORIGIN"},
    )


routes = [
    Route("/mailbox", mailbox, methods=["GET"]),
    Route("/mailbox/{message}", message_page, methods=["GET"]),
    Route("/mailbox/{message}/html", message_html, methods=["GET"]),
]
