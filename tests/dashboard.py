"""What a staff member does in the dashboard (/admin) over plain HTTP: sign in (with the CSRF token
the page gives), run an order's row action."""

from __future__ import annotations

import re

import httpx

from tests.accounts import email_key, register
from tests.support import sql

STAFF_PASSWORD = "correct horse battery"


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrftoken" value="([^"]+)"', page)
    assert found, "the page carries no CSRF token"
    return found.group(1)


async def new_staff(client: httpx.AsyncClient, database_url: str, email: str = "boss@example.com") -> str:
    await register(client, email=email, password=STAFF_PASSWORD)
    await sql(database_url, "UPDATE users SET is_staff = true WHERE email_index = :key", key=email_key(email))
    return email


async def dashboard_sign_in(
    client: httpx.AsyncClient, email: str, password: str = STAFF_PASSWORD
) -> httpx.Response:
    page = await client.get("/admin/login")
    return await client.post(
        "/admin/login",
        data={"username": email, "password": password, "csrftoken": csrf_of(page.text)},
    )
