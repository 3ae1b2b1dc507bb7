"""The GraphQL documents of the benchmark's workloads and the exact JSON bodies sent for them."""

from __future__ import annotations

import base64
from typing import Any

import orjson

PRODUCT_FIELDS = (
    "id name slug description images { url alt } category { name slug }"
    " priceRange { min { amount currency } max { amount currency } }"
    " variants { id sku name price { amount currency } quantityAvailable }"
)

# 1. A catalog page of 20 products.
CATALOG_PAGE = f"{{ products(first: 20) {{ edges {{ node {{ {PRODUCT_FIELDS} }} }} }} }}"

# 2. One product, by slug, with its variants.
PRODUCT = (
    "query Product($slug: String!) { product(slug: $slug) { id name slug description images { url alt }"
    " priceRange { min { amount currency } max { amount currency } }"
    " variants { id sku name price { amount currency } quantityAvailable } } }"
)

# 3. A search page with a misspelt term, the same fields as 1.
SEARCH_PAGE = (
    '{ products(first: 20, filter: {search: "blutooth speakr"}) { edges { node { '
    + PRODUCT_FIELDS
    + " } } } }"
)

# 4. The cart round trip: add a line to an existing cart, then read the cart.
CART_ADD = (
    "mutation CartAdd($cartToken: String, $variantId: ID!) {"
    " cartLinesAdd(cartToken: $cartToken, lines: [{variantId: $variantId, quantity: 1}]) {"
    " cart { token totalQuantity } userErrors { code message } } }"
)
CART_READ = (
    "query Cart($token: String!) { cart(token: $token) { token"
    " lines { id quantity variant { sku } unitPrice { amount } lineTotal { amount } }"
    " totalQuantity subtotal { amount } } }"
)

# 5. Checkout.
CHECKOUT = (
    # Each buyer its own e-mail: ORDER_MAX_OPEN counts unpaid orders per e-mail address too.
    "mutation Checkout($cartToken: String!, $email: String!) { checkoutCreate(cartToken: $cartToken,"
    ' email: $email, shippingAddress: {name: "Bench Buyer", line1: "1 Main St",'
    ' city: "Springfield", postalCode: "12345", country: "US"}) {'
    " order { id number } checkoutUrl userErrors { code message } } }"
)

SCHEMA_FIELDS = "{ __schema { queryType { fields { name } } mutationType { fields { name } } } }"

# A variable no operation declares: GraphQL ignores it, but it makes every body unique, so the
# server's cache of catalog answers (keyed by query text and variables) cannot answer it.
NONCE_VARIABLE = "nonce"
NONCE_PLACEHOLDER = "__NONCE__"


def body(query: str, **variables: Any) -> bytes:
    """The exact request body: compact JSON, `variables` only when there are some."""
    document: dict[str, Any] = {"query": query}
    if variables:
        document["variables"] = variables
    return orjson.dumps(document)


def nonce_template(query: str, **variables: Any) -> bytes:
    """A body whose NONCE_PLACEHOLDER (a JSON string) the load generator replaces with a number."""
    return body(query, **variables, **{NONCE_VARIABLE: NONCE_PLACEHOLDER}).replace(
        f'"{NONCE_PLACEHOLDER}"'.encode(), NONCE_PLACEHOLDER.encode()
    )


def with_nonce(template: bytes, nonce: int) -> bytes:
    return template.replace(NONCE_PLACEHOLDER.encode(), str(nonce).encode())


def global_id(kind: str, pk: int) -> str:
    """The server's global object id: base64 of `Kind:pk`."""
    return base64.b64encode(f"{kind}:{pk}".encode()).decode()
