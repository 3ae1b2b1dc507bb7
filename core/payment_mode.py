"""Whether payments are real (Stripe) or simulated (the local sandbox), decided once at startup.

The sandbox lets anyone mark their own order paid with a POST, so it never switches itself on
in a deployment: `PAYMENT_SANDBOX=auto` (the default) turns it on only for the embedded demo
database (`DATABASE_URL` unset) without a Stripe key. A server with `DATABASE_URL` and no
`STRIPE_SECRET_KEY` refuses to start unless `PAYMENT_SANDBOX=on` says the sandbox is wanted.
"""

from __future__ import annotations

from core.settings import Settings

SIMULATED_WARNING = (
    "PAYMENT SANDBOX ON: payments are simulated, no card is charged and anyone can mark their own"
    " order paid. Set STRIPE_SECRET_KEY for real payments."
)


class PaymentConfigurationError(Exception):
    """The settings do not say plainly whether payments are real or simulated."""


def sandbox_enabled(settings: Settings) -> bool:
    """True for the sandbox, False for Stripe; raises PaymentConfigurationError when unclear."""
    mode = settings.payment_sandbox
    if settings.stripe_secret_key:
        if mode == "on":
            raise PaymentConfigurationError(
                "PAYMENT_SANDBOX=on and STRIPE_SECRET_KEY are both set: choose real or simulated payments."
            )
        return False
    if mode == "on":
        return True
    if mode == "off":
        raise PaymentConfigurationError(
            "PAYMENT_SANDBOX=off needs STRIPE_SECRET_KEY: without it no payment can be taken."
        )
    if settings.database_url:
        raise PaymentConfigurationError(
            "DATABASE_URL is set but STRIPE_SECRET_KEY is not: refusing to start with simulated payments."
            " Set STRIPE_SECRET_KEY, or PAYMENT_SANDBOX=on if this server is a demo or a test."
        )
    return True
