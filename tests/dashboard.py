"""What a staff member does in the dashboard (/admin) over plain HTTP: sign in (with the CSRF token
the page gives), run an order's row action."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from html.parser import HTMLParser
from typing import Any

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


@asynccontextmanager
async def signed_in_staff(
    url: str, database_url: str, email: str = "boss@example.com"
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the server at `url`, signed in to the dashboard as a new staff member `email`."""
    async with httpx.AsyncClient(base_url=url, timeout=30) as staff:
        signed_in = await dashboard_sign_in(staff, await new_staff(staff, database_url, email))
        assert signed_in.status_code == 303, signed_in.text[-2000:]
        yield staff


async def open_page(staff: httpx.AsyncClient, path: str, **params: Any) -> httpx.Response:
    """A dashboard page that must open (200)."""
    page = await staff.get(path, params=params or None)  # None keeps a query written in `path`
    assert page.status_code == 200, (path, page.text[-2000:])
    return page


async def post_form(staff: httpx.AsyncClient, path: str, data: dict[str, str]) -> httpx.Response:
    """Fill in the form the page at `path` shows and send it (with the page's CSRF token)."""
    form = await open_page(staff, path)
    return await staff.post(path, data={**data, "csrftoken": csrf_of(form.text)})


async def row_action(
    staff: httpx.AsyncClient, view: str, name: str, pk: Any, csrf: str, **form: str
) -> httpx.Response:
    """Run a row action (the request the page's button sends)."""
    return await staff.post(
        f"/admin/_api/{view}/row-action", params={"name": name, "pk": pk}, data={**form, "csrftoken": csrf}
    )


def offered_actions(html: str) -> set[str]:
    """The row actions a detail page offers in its header (the buttons' data-sa-name)."""
    header = html.split('class="card-actions"', 1)[1].split('class="card-body"', 1)[0]
    return set(re.findall(r'data-sa-name="([^"]+)"', header))


def listed_actions(html: str) -> dict[str, set[str]]:
    """The row actions a list page offers on each row, by the row's key (its data-sa-pk)."""
    rows = re.findall(r'<tr data-sa-pk="([^"]+)"(.*?)</tr>', html, re.DOTALL)
    return {pk: set(re.findall(r'data-sa-name="([^"]+)"', row)) for pk, row in rows}


class _OrderPage(HTMLParser):
    """The order page's totals table (rows with data-amount) and its lines fields, as text."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[dict[str, Any]] = []
        self.total: int | None = None
        self.lines: dict[str, list[str]] = {}
        self._row: dict[str, Any] | None = None
        self._field: str | None = None
        self._depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        classes = (found.get("class") or "").split()
        if tag == "tr" and "data-amount" in found:
            self._row = {"amount": int(found["data-amount"] or 0), "text": ""}
            if "breakdown-total" in classes:
                self._row["total"] = True
            else:
                self._row["counts"] = found.get("data-counts") == "true"
        elif tag == "div" and "field-lines" in classes:
            self._field, self._depth = found.get("id") or "", 0
            self.lines[self._field] = []
        elif tag == "div" and self._field is not None:
            self._depth += 1
            self.lines[self._field].append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "tr" and self._row is not None:
            self._row["text"] = " ".join(self._row["text"].split())
            if self._row.pop("total", False):
                self.total = self._row["amount"]
            else:
                self.parts.append(self._row)
            self._row = None
        elif tag == "div" and self._field is not None:
            if self._depth == 0:
                self._field = None
            else:
                self._depth -= 1

    def handle_data(self, data: str) -> None:
        if self._row is not None:
            self._row["text"] += " " + data
        if self._field is not None and self._depth:
            self.lines[self._field][-1] += data


def order_page(html: str) -> _OrderPage:
    """The dashboard order page read as a person reads it: `parts` (text, amount in minor units,
    whether it counts towards the total), `total`, and `lines[field]` (an address, the lines)."""
    page = _OrderPage()
    page.feed(html)
    page.close()
    return page
