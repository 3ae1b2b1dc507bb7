"""The demo storefront at `/`: on in the demo (sandbox payments), off in production unless asked
for, under a policy that lets it load and connect to this server only; checkout's default return
URLs lead to its order page."""

from __future__ import annotations

import re

import httpx
import pytest

from app.factory import create_app
from core.pages import STOREFRONT_CSP
from core.settings import Settings
from tests.support import served


async def answer(settings: Settings, path: str) -> httpx.Response:
    async with served(create_app(settings)) as running:
        async with httpx.AsyncClient(base_url=running.url) as http:
            return await http.get(path)


async def test_the_storefront_is_served_in_the_demo_from_this_server_only(client: httpx.AsyncClient) -> None:
    page = await client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.headers["content-security-policy"] == STOREFRONT_CSP
    assert "script-src 'self';" in STOREFRONT_CSP and "connect-src 'self';" in STOREFRONT_CSP
    assets = re.findall(r'(?:src|href)="(storefront/[^"]+)"', page.text)
    assert "storefront/app.js" in assets
    for asset in [*assets, "storefront/vendor/graphql-ws-6.4.2/client.js"]:
        response = await client.get(f"/{asset}")
        assert response.status_code == 200, asset
    module = await client.get("/storefront/app.js")
    assert module.headers["content-type"].split(";")[0] in ("text/javascript", "application/javascript")
    assert "://" not in "".join(re.findall(r'from "([^"]+)"', module.text))  # nothing from elsewhere


async def test_the_storefront_is_off_with_a_real_stripe_key_unless_asked_for(
    settings: Settings, stripe_settings: Settings
) -> None:
    assert (await answer(stripe_settings, "/")).status_code == 404
    assert (await answer(stripe_settings.model_copy(update={"storefront": "on"}), "/")).status_code == 200
    assert (await answer(settings.model_copy(update={"storefront": "off"}), "/")).status_code == 404


@pytest.mark.parametrize(
    ("path", "target"),
    [
        ("/checkout/success?order=1042", "/?checkout=success&order=1042"),
        ("/checkout/cancel?order=7", "/?checkout=cancel&order=7"),
        ("/checkout/success?order=%3Cscript%3E", "/?checkout=success"),
        ("/checkout/success?order=%D9%A3", "/?checkout=success"),  # a digit, but not an ASCII one
        ("/checkout/cancel", "/?checkout=cancel"),
    ],
)
async def test_checkouts_default_return_urls_lead_to_the_order_page(
    client: httpx.AsyncClient, path: str, target: str
) -> None:
    response = await client.get(path)
    assert response.status_code == 303 and response.headers["location"] == target


def test_switches_accept_on_off_and_auto() -> None:
    assert Settings(_env_file=None, storefront="OFF", graphiql="true").storefront == "off"  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="on, off or auto"):
        Settings(_env_file=None, graphiql="sometimes")  # type: ignore[call-arg]
