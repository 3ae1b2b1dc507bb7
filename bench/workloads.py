"""The request bodies of the benchmark's workloads: exactly what a storefront sends."""

from __future__ import annotations

CATALOG_PAGE = (
    "query CatalogPage($first: Int!) { products(first: $first) { edges { node {"
    " id name slug description images { url alt } category { name slug }"
    " priceRange { min { amount currency } max { amount currency } }"
    " variants { id sku name price { amount currency } quantityAvailable } } } } }"
)

PRODUCT = (
    "query Product($slug: String!) { product(slug: $slug) { id name slug description images { url alt }"
    " priceRange { min { amount currency } max { amount currency } }"
    " variants { id sku name price { amount currency } quantityAvailable } } }"
)

SEARCH_PAGE = (
    "query Search($first: Int!, $search: String!) { products(first: $first, filter: {search: $search}) {"
    " totalCount edges { node { id name slug description images { url alt } category { name slug }"
    " priceRange { min { amount currency } max { amount currency } }"
    " variants { id sku name price { amount currency } quantityAvailable } } } } }"
)

CART_ADD = (
    "mutation AddToCart($cartToken: String, $variantId: ID!) {"
    " cartLinesAdd(cartToken: $cartToken, lines: [{variantId: $variantId, quantity: 1}]) {"
    " cart { token totalQuantity subtotal { amount currency } } userErrors { code message } } }"
)

CART_READ = (
    "query Cart($token: String) { cart(token: $token) { token totalQuantity subtotal { amount currency }"
    " lines { id quantity unitPrice { amount } lineTotal { amount } priceChanged variant { id sku name } } } }"
)

CHECKOUT = (
    'mutation Checkout($cartToken: String) { checkoutCreate(cartToken: $cartToken, email: "buyer@example.com",'
    ' shippingAddress: {name: "Buyer", line1: "1 Main St", city: "Springfield", postalCode: "12345",'
    ' country: "US"}) { order { id number } checkoutUrl userErrors { code } } }'
)
