"""Reviews and ratings: who may review, editing, staff hiding, the RATING sort, races, statements."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from core.settings import Settings
from graph.ids import pk_of
from tests.accounts import PASSWORD, register, signed_up_token, staff_token
from tests.shop import global_id, received_product, serve, variant_with_stock
from tests.support import StatementCounter, codes, eventually, graphql, sql

SUBMIT = """
mutation($p: ID!, $r: Int!, $b: String!, $t: String) {
  reviewSubmit(productId: $p, rating: $r, body: $b, title: $t) {
    review { id rating title body authorName createdAt updatedAt isHidden }
    userErrors { field code message }
  }
}
"""
HIDE = """
mutation($i: ID!, $h: Boolean!) {
  reviewHide(id: $i, hidden: $h) { review { id isHidden } userErrors { field code } }
}
"""
PRODUCT = """
query($p: ID!, $sort: ReviewSort, $first: Int, $after: String) {
  node(id: $p) { ... on Product {
    rating { average count }
    reviews(first: $first, after: $after, sort: $sort) {
      totalCount pageInfo { hasNextPage endCursor }
      edges { cursor node { id rating title body authorName } }
    }
  } }
}
"""
ELIGIBILITY = """
query($p: ID!) { reviewEligibility(productId: $p) { canReview review { id rating isHidden } } }
"""


async def submit(
    client: httpx.AsyncClient,
    token: str | None,
    product: str,
    rating: int,
    body: str,
    title: str | None = None,
) -> dict[str, Any]:
    answer = await graphql(client, SUBMIT, {"p": product, "r": rating, "b": body, "t": title}, token=token)
    assert "errors" not in answer, answer
    return answer["data"]["reviewSubmit"]


async def product_reviews(client: httpx.AsyncClient, product: str, **variables: Any) -> dict[str, Any]:
    answer = await graphql(client, PRODUCT, {"p": product, **variables})
    assert "errors" not in answer, answer
    return answer["data"]["node"]


async def customer(client: httpx.AsyncClient, name: str) -> str:
    payload = await register(client, name=name)
    assert payload["userErrors"] == [], payload
    return payload["accessToken"]


@pytest.fixture
async def staff(client: httpx.AsyncClient, database_url: str) -> str:
    return await staff_token(client, database_url)


async def test_a_customer_who_received_a_product_reviews_it_and_others_cannot(
    client: httpx.AsyncClient, database_url: str, staff: str
) -> None:
    ada = await customer(client, "Ada King Lovelace")
    product = await received_product(client, database_url, ada, staff)
    stranger = await signed_up_token(client)

    refused = await submit(client, stranger, product, 5, "Never bought it")
    assert (refused["review"], codes(refused)) == (None, ["NOT_PURCHASED"])
    assert (await graphql(client, ELIGIBILITY, {"p": product}, token=stranger))["data"][
        "reviewEligibility"
    ] == {
        "canReview": False,
        "review": None,
    }

    payload = await submit(client, ada, product, 4, "  Solid.\r\nWould buy again. <b>x</b>\x00 ", " Good ")
    assert payload["userErrors"] == []
    review = payload["review"]
    # Plain text as typed (markup stays text), line breaks as \n, control characters dropped, trimmed.
    assert review["body"] == "Solid.\nWould buy again. <b>x</b>"
    assert (review["title"], review["rating"], review["authorName"]) == ("Good", 4, "Ada L.")
    assert review["updatedAt"] is None and review["isHidden"] is False

    shown = await product_reviews(client, product)
    assert shown["rating"] == {"average": 4.0, "count": 1}
    assert shown["reviews"]["totalCount"] == 1
    assert [edge["node"]["id"] for edge in shown["reviews"]["edges"]] == [review["id"]]
    eligibility = (await graphql(client, ELIGIBILITY, {"p": product}, token=ada))["data"]["reviewEligibility"]
    assert eligibility == {"canReview": True, "review": {"id": review["id"], "rating": 4, "isHidden": False}}

    anonymous = await graphql(client, SUBMIT, {"p": product, "r": 5, "b": "hi"})
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    (count,) = await sql(database_url, "SELECT count(*) FROM reviews")
    assert count[0] == 1


async def test_an_order_not_yet_delivered_does_not_count(
    client: httpx.AsyncClient, database_url: str
) -> None:
    token = await signed_up_token(client)
    variant_id, pk, _ = await variant_with_stock(database_url, 20)
    from tests.shop import checkout, new_cart, pay, product_of_variant

    result = await checkout(client, await new_cart(client, variant_id, token=token), token=token, email=None)
    await pay(client, database_url, result["order"]["id"])
    product = await product_of_variant(database_url, pk)
    assert codes(await submit(client, token, product, 5, "Paid, not here yet")) == ["NOT_PURCHASED"]
    await sql(database_url, "UPDATE orders SET status = 'COMPLETED'")
    assert codes(await submit(client, token, product, 5, "Arrived")) == []


async def test_submitting_again_replaces_the_review(
    client: httpx.AsyncClient, database_url: str, staff: str
) -> None:
    token = await customer(client, "Grace Hopper")
    product = await received_product(client, database_url, token, staff)
    first = (await submit(client, token, product, 2, "Meh", "First"))["review"]
    second = (await submit(client, token, product, 5, "Grew on me"))["review"]
    assert second["id"] == first["id"] and second["createdAt"] == first["createdAt"]
    assert (second["rating"], second["body"], second["title"]) == (5, "Grew on me", None)
    assert second["updatedAt"] is not None
    shown = await product_reviews(client, product)
    assert shown["rating"] == {"average": 5.0, "count": 1}
    assert [edge["node"]["body"] for edge in shown["reviews"]["edges"]] == ["Grew on me"]


@pytest.mark.parametrize(
    ("rating", "body", "title", "expected"),
    [
        (0, "ok", None, [("rating", "INVALID_RATING")]),
        (6, "ok", None, [("rating", "INVALID_RATING")]),
        (3, " \n\t ", None, [("body", "REQUIRED")]),
        (3, "x" * 5001, None, [("body", "TOO_LONG")]),
        (3, "ok", "t" * 151, [("title", "TOO_LONG")]),
        (9, "", "t" * 151, [("rating", "INVALID_RATING"), ("title", "TOO_LONG"), ("body", "REQUIRED")]),
    ],
)
async def test_bad_reviews_are_refused_with_stable_codes(
    client: httpx.AsyncClient, database_url: str, rating: int, body: str, title: str | None, expected: list
) -> None:
    token = await signed_up_token(client)
    (row,) = await sql(database_url, "SELECT id FROM products ORDER BY id LIMIT 1")
    payload = await submit(client, token, global_id("Product", row.id), rating, body, title)
    assert [(error["field"][0], error["code"]) for error in payload["userErrors"]] == expected
    assert payload["review"] is None


async def test_an_unknown_product_is_not_found(client: httpx.AsyncClient) -> None:
    token = await signed_up_token(client)
    for product in ("nope", global_id("Product", 10**9), global_id("Category", 1)):
        assert codes(await submit(client, token, product, 3, "ok")) == ["NOT_FOUND"]


async def test_hidden_reviews_vanish_from_the_rating_and_the_list(
    client: httpx.AsyncClient, database_url: str, staff: str
) -> None:
    ann, bob = await customer(client, "Ann"), await customer(client, "Bob Stone")
    product = await received_product(client, database_url, ann, staff)
    assert await received_product(client, database_url, bob, staff) == product
    hidden = (await submit(client, ann, product, 1, "Terrible!!! buy elsewhere"))["review"]
    await submit(client, bob, product, 5, "Lovely")
    assert (await product_reviews(client, product))["rating"] == {"average": 3.0, "count": 2}

    answer = await graphql(client, HIDE, {"i": hidden["id"], "h": True}, token=staff)
    assert answer["data"]["reviewHide"] == {
        "review": {"id": hidden["id"], "isHidden": True},
        "userErrors": [],
    }
    shown = await product_reviews(client, product)
    assert shown["rating"] == {"average": 5.0, "count": 1}
    assert shown["reviews"]["totalCount"] == 1
    assert [edge["node"]["authorName"] for edge in shown["reviews"]["edges"]] == ["Bob S."]
    node = "query($i: ID!) { node(id: $i) { id ... on Review { rating } } }"
    bobs = shown["reviews"]["edges"][0]["node"]["id"]
    assert (await graphql(client, node, {"i": bobs}))["data"]["node"] == {"id": bobs, "rating": 5}
    assert (await graphql(client, "query($i: ID!) { node(id: $i) { id } }", {"i": hidden["id"]}))["data"] == {
        "node": None
    }

    # Editing a hidden review keeps it hidden: staff decide when it is shown again.
    assert (await submit(client, ann, product, 2, "Calmer now"))["review"]["isHidden"] is True
    assert (await product_reviews(client, product))["rating"] == {"average": 5.0, "count": 1}

    await graphql(client, HIDE, {"i": hidden["id"], "h": False}, token=staff)
    assert (await product_reviews(client, product))["rating"] == {"average": 3.5, "count": 2}

    missing = await graphql(client, HIDE, {"i": global_id("Review", 10**9), "h": True}, token=staff)
    assert codes(missing["data"]["reviewHide"]) == ["NOT_FOUND"]


async def test_reviews_sort_and_page(client: httpx.AsyncClient, database_url: str, staff: str) -> None:
    tokens = [await customer(client, f"Reviewer {letter}") for letter in "ABCD"]
    product = ""
    for token in tokens:
        product = await received_product(client, database_url, token, staff)
    for token, rating in zip(tokens, (3, 5, 1, 3), strict=True):
        await submit(client, token, product, rating, f"rated {rating} by {tokens.index(token)}")

    async def walk(sort: str) -> list[str]:
        bodies, after = [], None
        while True:
            page = (await product_reviews(client, product, sort=sort, first=1, after=after))["reviews"]
            assert page["totalCount"] == 4
            bodies += [edge["node"]["body"] for edge in page["edges"]]
            if not page["pageInfo"]["hasNextPage"]:
                return bodies
            after = page["pageInfo"]["endCursor"]

    assert await walk("NEWEST") == ["rated 3 by 3", "rated 1 by 2", "rated 5 by 1", "rated 3 by 0"]
    assert await walk("HIGHEST") == ["rated 5 by 1", "rated 3 by 3", "rated 3 by 0", "rated 1 by 2"]
    assert await walk("LOWEST") == ["rated 1 by 2", "rated 3 by 3", "rated 3 by 0", "rated 5 by 1"]
    wrong = await graphql(client, PRODUCT, {"p": product, "sort": "HIGHEST", "after": "bm9wZQ"})
    assert wrong["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


RATED = """
query($first: Int!, $after: String) {
  products(first: $first, after: $after, sort: RATING) {
    pageInfo { hasNextPage endCursor }
    edges { node { id rating { average count } } }
  }
}
"""


async def test_the_catalog_sorts_by_rating_with_unrated_products_last(
    client: httpx.AsyncClient, database_url: str
) -> None:
    users = [await signed_up_token(client) for _ in range(3)]
    assert users
    user_ids = [row.id for row in await sql(database_url, "SELECT id FROM users ORDER BY id")]
    products = [row.id for row in await sql(database_url, "SELECT id FROM products ORDER BY id LIMIT 5")]
    # Averages 5 (one review), 4.5 (two), 4.33 (three), 4.5 (two) and 2 (three).
    ratings = {
        products[0]: [5],
        products[1]: [5, 4],
        products[2]: [5, 4, 4],
        products[3]: [4, 5],
        products[4]: [1, 2, 3],
    }
    for product, values in ratings.items():
        for user_id, value in zip(user_ids, values, strict=False):
            await sql(
                database_url,
                "INSERT INTO reviews (product_id, user_id, rating, body) VALUES (:p, :u, :r, 'x')",
                p=product,
                u=user_id,
                r=value,
            )
    expected = [
        products[0],
        products[3],
        products[1],
        products[2],
        products[4],
    ]  # 5; 4.5 x2 (id desc); 4.33; 2

    seen: list[dict[str, Any]] = []
    after = None
    while len(seen) < 7:
        body = await graphql(client, RATED, {"first": 2, "after": after})
        page = body["data"]["products"]
        seen += [edge["node"] for edge in page["edges"]]
        after = page["pageInfo"]["endCursor"]
    assert [global_id("Product", pk) for pk in expected] == [node["id"] for node in seen[:5]]
    assert [node["rating"] for node in seen[:5]] == [
        {"average": 5.0, "count": 1},
        {"average": 4.5, "count": 2},
        {"average": 4.5, "count": 2},
        {"average": 4.33, "count": 3},
        {"average": 2.0, "count": 3},
    ]
    assert seen[5]["rating"] == {"average": 0.0, "count": 0}
    # Products without reviews follow, newest id first, and every product comes once.
    (total,) = await sql(database_url, "SELECT count(*) FROM products WHERE is_active")
    while page["pageInfo"]["hasNextPage"]:
        page = (await graphql(client, RATED, {"first": 100, "after": after}))["data"]["products"]
        seen += [edge["node"] for edge in page["edges"]]
        after = page["pageInfo"]["endCursor"]
    assert len({node["id"] for node in seen}) == len(seen) == total[0]


async def test_concurrent_submissions_by_one_customer_leave_one_review(
    client: httpx.AsyncClient, database_url: str, staff: str
) -> None:
    token = await customer(client, "Racy Customer")
    product = await received_product(client, database_url, token, staff)
    answers = await asyncio.gather(
        *(submit(client, token, product, 1 + n % 5, f"take {n}") for n in range(12))
    )
    assert all(answer["userErrors"] == [] for answer in answers)
    rows = await sql(database_url, "SELECT rating FROM reviews")
    assert len(rows) == 1
    (product_row,) = await sql(
        database_url,
        "SELECT p.rating_count, p.rating_sum FROM products p JOIN reviews r ON r.product_id = p.id",
    )
    assert (product_row.rating_count, product_row.rating_sum) == (1, rows[0].rating)


async def test_concurrent_reviews_of_one_product_all_count(
    client: httpx.AsyncClient, database_url: str, staff: str
) -> None:
    tokens = [await customer(client, f"Buyer {n}") for n in range(6)]
    products = {await received_product(client, database_url, token, staff) for token in tokens}
    (product,) = products
    ratings = [5, 4, 3, 5, 1, 2]
    answers = await asyncio.gather(
        *(submit(client, token, product, rating, "ok") for token, rating in zip(tokens, ratings, strict=True))
    )
    assert all(answer["userErrors"] == [] for answer in answers)
    assert (await product_reviews(client, product))["rating"] == {"average": round(20 / 6, 2), "count": 6}
    (row,) = await sql(
        database_url,
        "SELECT p.rating_count = (SELECT count(*) FROM reviews r WHERE r.product_id = p.id) AS count_ok,"
        " p.rating_sum = (SELECT sum(rating) FROM reviews r WHERE r.product_id = p.id) AS sum_ok"
        " FROM products p WHERE p.rating_count > 0",
    )
    assert row.count_ok and row.sum_ok


REVIEWED_PAGE = """
query($first: Int!) {
  products(first: $first, sort: RATING) {
    edges { node { id rating { average count }
      reviews(first: 3, sort: HIGHEST) { totalCount edges { node { rating body authorName } } } } }
  }
}
"""


@pytest.mark.parametrize("first", [2, 40])
async def test_ratings_and_reviews_of_a_page_cost_the_same_statements_at_every_size(
    client: httpx.AsyncClient, database_url: str, sql_statements: StatementCounter, first: int
) -> None:
    await signed_up_token(client)
    await signed_up_token(client)
    await sql(
        database_url,
        "INSERT INTO reviews (product_id, user_id, rating, body)"
        " SELECT p.id, u.id, 1 + (p.id + u.id) % 5, 'fine' FROM (SELECT id FROM products ORDER BY id LIMIT 60) p"
        " CROSS JOIN users u",
    )
    await graphql(client, REVIEWED_PAGE, {"first": first + 1})  # warm the connection pool
    sql_statements.reset()
    body = await graphql(client, REVIEWED_PAGE, {"first": first})
    edges = body["data"]["products"]["edges"]
    assert len(edges) == first
    assert all(len(edge["node"]["reviews"]["edges"]) == 2 for edge in edges)
    assert all(edge["node"]["reviews"]["edges"][0]["node"]["authorName"] == "Ada S." for edge in edges)
    # the page; the ratings; the reviews of every product; their authors' names
    assert sql_statements.count == 4, [statement[:80] for statement in sql_statements.statements]


async def test_review_writes_are_rate_limited_per_customer(settings: Settings, database_url: str) -> None:
    async with serve(settings.model_copy(update={"rate_limit_review": "2/3600"})) as running:
        async with httpx.AsyncClient(base_url=running.url, timeout=30) as client:
            staff = await staff_token(client, database_url)
            token = await customer(client, "Busy Writer")
            product = await received_product(client, database_url, token, staff)
            assert codes(await submit(client, token, product, 3, "one")) == []
            assert codes(await submit(client, token, product, 4, "two")) == []
            refused = await submit(client, token, product, 5, "three")
            assert (refused["review"], codes(refused)) == (None, ["RATE_LIMITED"])
            other = await customer(client, "Calm Writer")
            assert await received_product(client, database_url, other, staff) == product
            assert codes(await submit(client, other, product, 5, "mine")) == []
    rows = await sql(database_url, "SELECT body FROM reviews ORDER BY id")
    assert [row.body for row in rows] == ["two", "mine"]


async def test_a_deleted_account_takes_its_reviews_and_the_rating_follows(
    client: httpx.AsyncClient, database_url: str, staff: str
) -> None:
    leaving = await customer(client, "Lea Ving")
    product = await received_product(client, database_url, leaving, staff)
    assert codes(await submit(client, leaving, product, 1, "not for me")) == []
    assert (await product_reviews(client, product))["rating"]["count"] == 1
    deleted = await graphql(
        client,
        "mutation($p: String!) { accountDelete(password: $p) { ok userErrors { code } } }",
        {"p": PASSWORD},
        token=leaving,
    )
    assert deleted["data"]["accountDelete"] == {"ok": True, "userErrors": []}, deleted
    (row,) = await sql(database_url, "SELECT count(*) AS n FROM reviews")
    assert row.n == 0
    (rated,) = await sql(
        database_url,
        "SELECT rating_count, rating_sum FROM products WHERE id = :p",
        p=pk_of(product, "Product"),
    )
    assert (rated.rating_count, rated.rating_sum) == (0, 0)


async def test_a_renamed_author_is_shown_renamed_in_cached_product_answers(
    client: httpx.AsyncClient, database_url: str, staff: str
) -> None:
    ada = await customer(client, "Ada King")
    product = await received_product(client, database_url, ada, staff)
    assert (await submit(client, ada, product, 5, "Lovely."))["userErrors"] == []
    (row,) = await sql(database_url, "SELECT slug FROM products WHERE id = :id", id=pk_of(product, "Product"))
    shown = "query($s: String!) { product(slug: $s) { reviews(first: 5) { edges { node { authorName } } } } }"

    async def authors() -> list[str]:
        answer = await graphql(client, shown, {"s": row.slug})
        return [edge["node"]["authorName"] for edge in answer["data"]["product"]["reviews"]["edges"]]

    assert await authors() == ["Ada K."]
    assert await authors() == ["Ada K."]  # now from the answer cache
    renamed = await graphql(
        client, 'mutation { accountUpdate(name: "Grace Hopper") { userErrors { code } } }', token=ada
    )
    assert renamed["data"]["accountUpdate"]["userErrors"] == []

    async def renamed_shown() -> bool:
        return await authors() == ["Grace H."]

    await eventually(renamed_shown, message="the cached answer kept the old name")
