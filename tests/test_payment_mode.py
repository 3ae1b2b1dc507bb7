"""The payment sandbox never switches itself on in a deployment (issue 12, item 7)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from app.factory import create_app
from core.payment_mode import PaymentConfigurationError, sandbox_enabled
from core.settings import Settings
from tests.shop import checkout, new_cart, variant_with_stock

ROOT = Path(__file__).resolve().parent.parent
SIMULATED = "payments here are simulated"


def _settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("database_url", "stripe_key", "mode", "sandbox"),
    [
        (None, None, "auto", True),  # the zero-config demo
        (None, "sk_test_x", "auto", False),
        ("postgresql://db/shop", "sk_test_x", "auto", False),
        ("postgresql://db/shop", None, "on", True),  # asked for in so many words
        (None, None, "on", True),
        ("postgresql://db/shop", "sk_test_x", "off", False),
    ],
)
def test_when_the_sandbox_is_on(
    database_url: str | None, stripe_key: str | None, mode: str, sandbox: bool
) -> None:
    settings = _settings(database_url=database_url, stripe_secret_key=stripe_key, payment_sandbox=mode)
    assert sandbox_enabled(settings) is sandbox


@pytest.mark.parametrize(
    ("database_url", "stripe_key", "mode"),
    [
        ("postgresql://db/shop", None, "auto"),  # a deployment without a key: refused
        (None, None, "off"),  # no way to take a payment
        ("postgresql://db/shop", "sk_test_x", "on"),  # real and simulated at once
    ],
)
def test_unclear_payment_settings_are_refused(
    database_url: str | None, stripe_key: str | None, mode: str
) -> None:
    settings = _settings(database_url=database_url, stripe_secret_key=stripe_key, payment_sandbox=mode)
    with pytest.raises(PaymentConfigurationError):
        sandbox_enabled(settings)


def test_a_malformed_setting_is_refused_at_startup() -> None:
    with pytest.raises(ValueError, match="PAYMENT_SANDBOX"):
        _settings(payment_sandbox="maybe")
    assert _settings(payment_sandbox=" ON ").payment_sandbox == "on"
    assert _settings().payment_sandbox == "auto"


def test_create_app_refuses_a_deployment_without_a_stripe_key(settings: Settings) -> None:
    with pytest.raises(PaymentConfigurationError, match="STRIPE_SECRET_KEY"):
        create_app(settings.model_copy(update={"payment_sandbox": "auto"}))


def test_serve_with_a_database_and_no_stripe_key_does_not_start(tmp_path: Path) -> None:
    """As an operator runs it: a clear message and a failing exit status, before touching the database."""
    env = {
        key: value for key, value in os.environ.items() if key not in {"STRIPE_SECRET_KEY", "PAYMENT_SANDBOX"}
    }
    env.update(
        {
            "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none",  # never reached
            "DATA_DIR": str(tmp_path / "data"),
            "LOG_LEVEL": "warning",
        }
    )
    finished = subprocess.run(
        [sys.executable, "main.py", "serve", "--port", "1"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert finished.returncode != 0
    assert "not starting" in finished.stderr and "PAYMENT_SANDBOX=on" in finished.stderr
    assert "Traceback" not in finished.stderr
    assert not (tmp_path / "data" / "pgdata").exists()


def test_the_startup_log_says_payments_are_simulated(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        create_app(settings)
    assert "PAYMENT SANDBOX ON: payments are simulated" in caplog.text


async def test_every_sandbox_page_says_payments_are_simulated(
    client: httpx.AsyncClient, database_url: str
) -> None:
    variant_id, _, _ = await variant_with_stock(database_url, 10)
    result = await checkout(client, await new_cart(client, variant_id))
    path = result["checkoutUrl"][result["checkoutUrl"].index("/sandbox/") :]
    pages = [
        await client.get(path),
        await client.get("/sandbox/checkout/cs_sandbox_unknown"),
        await client.post("/sandbox/checkout/cs_sandbox_unknown/pay"),
    ]
    paid = await client.post(f"{path}/pay")
    pages.append(await client.get(path))  # the page of a paid order
    assert paid.status_code == 303
    for page in pages:
        assert SIMULATED in page.text, page.text
        assert page.text.index(SIMULATED) < page.text.index("<h1>"), "said first, before anything else"
