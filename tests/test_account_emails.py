"""Password reset, e-mail verification and e-mail change end to end (issue 17): the links come
from the e-mails a real SMTP server (aiosmtpd) received from the job worker."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from core.settings import Settings
from tests.accounts import (
    EMAIL_CHANGE_CONFIRM,
    EMAIL_CHANGE_REQUEST,
    ME_FULL,
    PASSWORD,
    RESET,
    RESET_REQUEST,
    VERIFY,
    VERIFY_REQUEST,
    link_token,
    login,
    me,
    new_email,
    ok_data,
    recipient_of,
    signed_up,
)
from tests.shop import serve
from tests.smtp_server import Inbox, message_id, smtp_server
from tests.support import eventually, sql

NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    with smtp_server() as server:
        yield server


@pytest.fixture
async def mail_client(
    settings: Settings, smtp: tuple[Inbox, int]
) -> AsyncIterator[tuple[httpx.AsyncClient, Inbox]]:
    mailing = settings.model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp[1],
            "smtp_tls": "none",
            "smtp_timeout": 5.0,
            "job_retry_delay": 0.1,
        }
    )
    async with serve(mailing) as running, httpx.AsyncClient(base_url=running.url, timeout=60) as client:
        yield client, smtp[0]


async def mail_of(inbox: Inbox, kind: str, to: str, count: int = 1) -> Any:
    """The newest of the `count` messages of `kind` sent to `to`, once they arrived."""

    def arrived() -> list[Any]:
        found = [m for m in inbox.messages if message_id(m).startswith(f"<{kind}.") and recipient_of(m) == to]
        return found if len(found) >= count else []

    found = await eventually(arrived, timeout=30, message=f"no {kind} e-mail to {to}")
    # Newest by issue, not by arrival: the worker sends jobs concurrently, so two links can arrive
    # in either order. A link's message is keyed by its token's id (domain.account_tokens).
    return sorted(found, key=_token_number)[-1]


def _token_number(message: Any) -> int:
    issued = re.search(r"\.token-(\d+)@", message_id(message))
    return int(issued.group(1)) if issued else 0


async def test_password_reset_through_the_emailed_link(
    mail_client: tuple[httpx.AsyncClient, Inbox], database_url: str
) -> None:
    client, inbox = mail_client
    account = await signed_up(client)
    email = account["user"]["email"]
    stranger = new_email()
    for address in (email, stranger):  # the same answer whether or not there is an account
        answer = await ok_data(client, RESET_REQUEST, {"e": address})
        assert answer["accountPasswordResetRequest"] == {"ok": True, "userErrors": []}
    message = await mail_of(inbox, "password-reset", email)
    assert "1 hour" in message.get_body(("plain",)).get_content()
    token = link_token(message)
    (stored,) = await sql(
        database_url, "SELECT token_hash FROM account_tokens WHERE purpose = 'password_reset'"
    )
    assert token.encode() not in bytes(stored.token_hash)  # only its digest is kept

    weak = await ok_data(client, RESET, {"t": token, "p": "short"})
    assert [e["code"] for e in weak["accountPasswordReset"]["userErrors"]] == ["WEAK_PASSWORD"]
    reset = (await ok_data(client, RESET, {"t": token, "p": NEW_PASSWORD}))["accountPasswordReset"]
    assert reset["userErrors"] == [] and reset["user"] == {"email": email, "emailVerified": True}
    assert await me(client, reset["accessToken"]) is not None  # signed in anew
    assert await me(client, account["accessToken"]) is None  # every earlier session revoked
    again = await ok_data(client, RESET, {"t": token, "p": "yet another passphrase"})
    assert [e["code"] for e in again["accountPasswordReset"]["userErrors"]] == ["INVALID_TOKEN"]
    assert (await login(client, email, NEW_PASSWORD))["userErrors"] == []
    assert (await login(client, email, PASSWORD))["userErrors"][0]["code"] == "INVALID_CREDENTIALS"
    # Nothing was sent to the address without an account.
    await asyncio.sleep(0)
    assert not [m for m in inbox.messages if recipient_of(m) == stranger]


async def test_a_reset_link_expires_and_a_newer_one_replaces_it(
    mail_client: tuple[httpx.AsyncClient, Inbox], database_url: str
) -> None:
    client, inbox = mail_client
    email = (await signed_up(client))["user"]["email"]
    await ok_data(client, RESET_REQUEST, {"e": email})
    older = link_token(await mail_of(inbox, "password-reset", email))
    await ok_data(client, RESET_REQUEST, {"e": email})
    newer = link_token(await mail_of(inbox, "password-reset", email, count=2))
    replaced = await ok_data(client, RESET, {"t": older, "p": NEW_PASSWORD})
    assert [e["code"] for e in replaced["accountPasswordReset"]["userErrors"]] == ["INVALID_TOKEN"]
    await sql(database_url, "UPDATE account_tokens SET expires_at = now() - interval '1 second'")
    expired = await ok_data(client, RESET, {"t": newer, "p": NEW_PASSWORD})
    assert [e["code"] for e in expired["accountPasswordReset"]["userErrors"]] == ["INVALID_TOKEN"]


async def test_reset_requests_are_rate_limited_alike_for_every_address(
    mail_client: tuple[httpx.AsyncClient, Inbox],
) -> None:
    client, _ = mail_client
    email = (await signed_up(client))["user"]["email"]
    for address in (email, new_email()):
        answers = [
            (await ok_data(client, RESET_REQUEST, {"e": address}))["accountPasswordResetRequest"]
            for _ in range(6)
        ]
        assert [a["ok"] for a in answers] == [True] * 5 + [False]
        assert answers[-1]["userErrors"][0]["code"] == "RATE_LIMITED"


async def test_registration_sends_a_verification_link(mail_client: tuple[httpx.AsyncClient, Inbox]) -> None:
    client, inbox = mail_client
    account = await signed_up(client)
    email, token = account["user"]["email"], account["accessToken"]
    assert (await ok_data(client, ME_FULL, token=token))["me"]["emailVerified"] is False
    await ok_data(client, VERIFY_REQUEST, token=token)  # a second link; the newer one counts
    link = link_token(await mail_of(inbox, "account-verification", email, count=2))
    verified = await ok_data(client, VERIFY, {"t": link})
    assert verified["accountEmailVerify"] == {"user": {"emailVerified": True}, "userErrors": []}
    assert (await ok_data(client, ME_FULL, token=token))["me"]["emailVerified"] is True
    done = await ok_data(client, VERIFY_REQUEST, token=token)
    assert [e["code"] for e in done["accountEmailVerificationRequest"]["userErrors"]] == ["ALREADY_VERIFIED"]


async def test_an_email_change_happens_when_the_new_address_confirms(
    mail_client: tuple[httpx.AsyncClient, Inbox],
) -> None:
    client, inbox = mail_client
    account = await signed_up(client)
    old, token = account["user"]["email"], account["accessToken"]
    new = new_email()
    wrong = await ok_data(client, EMAIL_CHANGE_REQUEST, {"e": new, "p": "not the password"}, token=token)
    assert [e["code"] for e in wrong["accountEmailChangeRequest"]["userErrors"]] == ["WRONG_PASSWORD"]
    asked = await ok_data(client, EMAIL_CHANGE_REQUEST, {"e": new, "p": PASSWORD}, token=token)
    assert asked["accountEmailChangeRequest"] == {"ok": True, "userErrors": []}
    notice = await mail_of(inbox, "email-change-notice", old)  # the old address is told
    assert "confirmation link was sent" in notice.get_body(("plain",)).get_content()
    link = link_token(await mail_of(inbox, "email-change", new))
    assert (await me(client, token))["email"] == old  # nothing changed yet
    confirmed = await ok_data(client, EMAIL_CHANGE_CONFIRM, {"t": link})
    assert confirmed["accountEmailChangeConfirm"] == {
        "user": {"email": new, "emailVerified": True},
        "userErrors": [],
    }
    assert (await me(client, token))["email"] == new
    assert (await login(client, new))["userErrors"] == []
    assert (await login(client, old))["userErrors"][0]["code"] == "INVALID_CREDENTIALS"
    reused = await ok_data(client, EMAIL_CHANGE_CONFIRM, {"t": link})
    assert [e["code"] for e in reused["accountEmailChangeConfirm"]["userErrors"]] == ["INVALID_TOKEN"]


async def test_an_email_change_to_a_taken_address_sends_no_link(
    mail_client: tuple[httpx.AsyncClient, Inbox],
) -> None:
    client, inbox = mail_client
    taken = (await signed_up(client))["user"]["email"]
    account = await signed_up(client)
    asked = await ok_data(
        client, EMAIL_CHANGE_REQUEST, {"e": taken, "p": PASSWORD}, token=account["accessToken"]
    )
    assert asked["accountEmailChangeRequest"] == {"ok": True, "userErrors": []}  # same answer
    await mail_of(inbox, "email-change-notice", account["user"]["email"])
    assert not [m for m in inbox.messages if message_id(m).startswith("<email-change.")]
