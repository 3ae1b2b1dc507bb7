"""Customer self-service (issue 17): profile, password change, address book, sessions."""

from __future__ import annotations

import httpx

from core.settings import Settings
from tests.accounts import (
    ACCOUNT_UPDATE,
    ADDRESS_CREATE,
    ADDRESS_DELETE,
    ADDRESS_SET_DEFAULT,
    ADDRESS_UPDATE,
    HOME,
    LOGIN,
    ME_FULL,
    PASSWORD,
    PASSWORD_CHANGE,
    SESSION_REVOKE,
    SESSIONS_REVOKE_ALL,
    login,
    me,
    ok_data,
    refresh,
    signed_up,
)
from tests.shop import ADDRESS, MINE, checkout, new_cart, serve, variant_with_stock
from tests.support import error_codes, graphql, sql
from tests.ws_client import GraphQLWebSocket

NEW_PASSWORD = "a much longer passphrase"


async def test_the_name_can_be_changed_and_must_be_printable(client: httpx.AsyncClient) -> None:
    token = (await signed_up(client))["accessToken"]
    changed = await ok_data(client, ACCOUNT_UPDATE, {"n": "  Ada King "}, token=token)
    assert changed["accountUpdate"] == {"user": {"name": "Ada King"}, "userErrors": []}
    refused = await ok_data(client, ACCOUNT_UPDATE, {"n": "bad\x00name"}, token=token)
    assert [e["code"] for e in refused["accountUpdate"]["userErrors"]] == ["INVALID_NAME"]
    assert (await me(client, token))["name"] == "Ada King"
    anonymous = await graphql(client, ACCOUNT_UPDATE, {"n": "x"})
    assert error_codes(anonymous) == ["UNAUTHENTICATED"]


async def test_a_password_change_needs_the_current_one_and_signs_every_other_session_out(
    server, client: httpx.AsyncClient
) -> None:
    first = await signed_up(client)
    email = first["user"]["email"]
    second = await login(client, email)
    other = await GraphQLWebSocket.open(server.url, token=second["accessToken"])
    try:
        await other.subscribe(MINE)
        wrong = await ok_data(
            client, PASSWORD_CHANGE, {"c": "not my password", "n": NEW_PASSWORD}, token=first["accessToken"]
        )
        assert [e["code"] for e in wrong["accountPasswordChange"]["userErrors"]] == ["WRONG_PASSWORD"]
        weak = await ok_data(
            client, PASSWORD_CHANGE, {"c": PASSWORD, "n": "short"}, token=first["accessToken"]
        )
        assert weak["accountPasswordChange"]["userErrors"][0] == {
            "field": ["newPassword"],
            "message": weak["accountPasswordChange"]["userErrors"][0]["message"],
            "code": "WEAK_PASSWORD",
        }
        changed = await ok_data(
            client, PASSWORD_CHANGE, {"c": PASSWORD, "n": NEW_PASSWORD}, token=first["accessToken"]
        )
        assert changed["accountPasswordChange"]["userErrors"] == []
        # The other login ends, with its live subscription; this one goes on.
        ended = await other.next_payload()
        assert ended["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    finally:
        await other.close()
    assert await me(client, second["accessToken"]) is None
    assert (await refresh(client, second["refreshToken"]))["userErrors"][0]["code"] == "INVALID_TOKEN"
    assert (await me(client, first["accessToken"]))["email"] == email
    assert (await login(client, email))["userErrors"][0]["code"] == "INVALID_CREDENTIALS"
    assert (await login(client, email, NEW_PASSWORD))["userErrors"] == []


async def test_the_address_book(client: httpx.AsyncClient, database_url: str) -> None:
    token = (await signed_up(client))["accessToken"]
    first = (await ok_data(client, ADDRESS_CREATE, {"a": HOME}, token=token))["accountAddressCreate"]
    assert first["userErrors"] == []
    # The first address is the default of both kinds.
    assert first["address"]["isDefaultShipping"] and first["address"]["isDefaultBilling"]
    second = (await ok_data(client, ADDRESS_CREATE, {"a": ADDRESS, "s": True}, token=token))[
        "accountAddressCreate"
    ]
    assert second["address"]["isDefaultShipping"] and not second["address"]["isDefaultBilling"]
    assert second["address"]["address"]["country"] == "GB"  # normalised like checkout's
    book = (await ok_data(client, ME_FULL, token=token))["me"]["addresses"]
    assert [(a["isDefaultShipping"], a["isDefaultBilling"]) for a in book] == [(False, True), (True, False)]

    moved = await ok_data(
        client, ADDRESS_SET_DEFAULT, {"id": second["address"]["id"], "t": "BILLING"}, token=token
    )
    assert moved["accountAddressSetDefault"]["address"]["isDefaultBilling"]
    updated = await ok_data(
        client,
        ADDRESS_UPDATE,
        {"id": first["address"]["id"], "a": {**HOME, "line1": "8 Compiler Lane"}},
        token=token,
    )
    assert updated["accountAddressUpdate"]["address"]["address"]["line1"] == "8 Compiler Lane"
    bad = await ok_data(client, ADDRESS_CREATE, {"a": {**HOME, "country": "XX"}}, token=token)
    assert [e["code"] for e in bad["accountAddressCreate"]["userErrors"]] == ["INVALID_ADDRESS"]
    assert bad["accountAddressCreate"]["userErrors"][0]["field"] == ["input", "country"]

    deleted = await ok_data(client, ADDRESS_DELETE, {"id": first["address"]["id"]}, token=token)
    assert deleted["accountAddressDelete"]["userErrors"] == []
    again = await ok_data(client, ADDRESS_DELETE, {"id": first["address"]["id"]}, token=token)
    assert [e["code"] for e in again["accountAddressDelete"]["userErrors"]] == ["NOT_FOUND"]
    book = (await ok_data(client, ME_FULL, token=token))["me"]["addresses"]
    assert [a["address"]["name"] for a in book] == ["Ada Lovelace"]
    (row,) = await sql(database_url, "SELECT address FROM customer_addresses")
    assert "Lovelace" not in row.address and row.address.startswith("v1.")


async def test_the_address_book_has_a_cap(client: httpx.AsyncClient, database_url: str) -> None:
    from domain.self_service import MAX_ADDRESSES

    token = (await signed_up(client))["accessToken"]
    await ok_data(client, ADDRESS_CREATE, {"a": HOME}, token=token)
    (row,) = await sql(database_url, "SELECT user_id, address FROM customer_addresses")
    await sql(
        database_url,
        "INSERT INTO customer_addresses (user_id, address) SELECT :u, :a FROM generate_series(2, :n)",
        u=row.user_id,
        a=row.address,
        n=MAX_ADDRESSES,
    )
    full = await ok_data(client, ADDRESS_CREATE, {"a": HOME}, token=token)
    assert [e["code"] for e in full["accountAddressCreate"]["userErrors"]] == ["TOO_MANY_ADDRESSES"]


async def test_sessions_are_listed_with_where_they_came_from_and_can_be_revoked(
    client: httpx.AsyncClient,
) -> None:
    first = await signed_up(client)
    email = first["user"]["email"]
    body = await client.post(
        "/graphql",
        json={"query": LOGIN, "variables": {"email": email, "password": PASSWORD}},
        headers={"user-agent": "PhoneApp/2.1"},
    )
    second = body.json()["data"]["login"]
    third = await login(client, email)
    renewed = await refresh(client, third["refreshToken"])  # the same session, used again

    sessions = (await ok_data(client, ME_FULL, token=first["accessToken"]))["me"]["sessions"]
    assert len(sessions) == 3
    assert [s["current"] for s in sessions].count(True) == 1
    assert {s["clientAddress"] for s in sessions} == {"127.0.0.1"}
    assert "PhoneApp/2.1" in {s["userAgent"] for s in sessions}
    phone = next(s for s in sessions if s["userAgent"] == "PhoneApp/2.1")
    revoked = await ok_data(client, SESSION_REVOKE, {"id": phone["id"]}, token=first["accessToken"])
    assert revoked["accountSessionRevoke"] == {"ok": True, "userErrors": []}
    assert await me(client, second["accessToken"]) is None
    assert await me(client, renewed["accessToken"]) is not None

    # Another customer cannot revoke it; a made-up id is NOT_FOUND alike.
    stranger = (await signed_up(client))["accessToken"]
    mine = next(s for s in sessions if s["current"])
    for token, session_id in ((stranger, mine["id"]), (first["accessToken"], "U2Vzc2lvbjpub3BlCg==")):
        refused = await ok_data(client, SESSION_REVOKE, {"id": session_id}, token=token)
        assert [e["code"] for e in refused["accountSessionRevoke"]["userErrors"]] == ["NOT_FOUND"]
    assert await me(client, first["accessToken"]) is not None

    kept = await ok_data(client, SESSIONS_REVOKE_ALL, {}, token=first["accessToken"])
    assert kept["accountSessionsRevokeAll"]["ok"]
    assert await me(client, renewed["accessToken"]) is None
    assert [
        s["current"] for s in (await ok_data(client, ME_FULL, token=first["accessToken"]))["me"]["sessions"]
    ] == [True]
    await ok_data(client, SESSIONS_REVOKE_ALL, {"k": False}, token=first["accessToken"])
    assert await me(client, first["accessToken"]) is None


CHECKOUT_SAVED = """mutation($t: String, $a: AddressInput, $id: ID) {
  checkoutCreate(cartToken: $t, shippingAddress: $a, shippingAddressId: $id) {
    order { shippingAddress { name line1 country } } userErrors { field code } } }"""


async def test_checkout_can_ship_to_a_saved_address(client: httpx.AsyncClient, database_url: str) -> None:
    token = (await signed_up(client))["accessToken"]
    saved = (await ok_data(client, ADDRESS_CREATE, {"a": HOME}, token=token))["accountAddressCreate"][
        "address"
    ]
    stranger = (await signed_up(client))["accessToken"]
    variant_id, _, _ = await variant_with_stock(database_url, 10)

    cart = await new_cart(client, variant_id, token=stranger)
    theirs = await ok_data(client, CHECKOUT_SAVED, {"t": cart, "id": saved["id"]}, token=stranger)
    assert theirs["checkoutCreate"]["userErrors"] == [
        {"field": ["shippingAddressId"], "code": "ADDRESS_NOT_FOUND"}
    ]
    neither = await ok_data(client, CHECKOUT_SAVED, {"t": cart}, token=stranger)
    assert [e["code"] for e in neither["checkoutCreate"]["userErrors"]] == ["INVALID_ADDRESS"]

    mine = await ok_data(
        client,
        CHECKOUT_SAVED,
        {"t": await new_cart(client, variant_id, token=token), "id": saved["id"]},
        token=token,
    )
    assert mine["checkoutCreate"]["userErrors"] == []
    assert mine["checkoutCreate"]["order"]["shippingAddress"] == {
        "name": "Grace Hopper",
        "line1": "7 Compiler Lane",
        "country": "US",
    }


async def test_unverified_customers_may_be_kept_from_checking_out(
    settings: Settings, database_url: str
) -> None:
    strict = settings.model_copy(update={"checkout_unverified": False})
    async with serve(strict) as running, httpx.AsyncClient(base_url=running.url, timeout=60) as client:
        token = (await signed_up(client))["accessToken"]
        variant_id, _, _ = await variant_with_stock(database_url, 10)
        refused = await checkout(client, await new_cart(client, variant_id, token=token), token=token)
        assert [e["code"] for e in refused["userErrors"]] == ["EMAIL_NOT_VERIFIED"]
        await sql(database_url, "UPDATE users SET email_verified_at = now()")
        assert (await checkout(client, await new_cart(client, variant_id, token=token), token=token))[
            "userErrors"
        ] == []
        guest = await checkout(client, await new_cart(client, variant_id))
        assert guest["userErrors"] == []  # guests check out anyway
