"""GraphQL calls the benchmark makes itself (set-up, checks, statement counts), over one keep-alive client."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from bench import workloads

JSON = {"content-type": "application/json"}


class GraphQLFailure(RuntimeError):
    pass


def post(client: httpx.Client, body: bytes, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """The `data` of an answer to this exact body; GraphQLFailure on a non-200 or on `errors`."""
    answer = client.post("/graphql", content=body, headers={**JSON, **(headers or {})})
    if answer.status_code != 200:
        raise GraphQLFailure(f"HTTP {answer.status_code}: {answer.text[:300]}")
    document = orjson.loads(answer.content)
    if document.get("errors"):
        raise GraphQLFailure(orjson.dumps(document["errors"]).decode()[:500])
    return document["data"]


def call(client: httpx.Client, query: str, **variables: Any) -> dict[str, Any]:
    return post(client, workloads.body(query, **variables))


def new_cart(client: httpx.Client, variant: str, headers: dict[str, str] | None = None) -> str:
    """A new cart holding one unit of the variant, started with these headers (new carts are rate
    limited per client address, so callers pass each shopper's own X-Forwarded-For); its token."""
    data = post(client, workloads.body(workloads.CART_ADD, variantId=variant), headers)
    return payload(data, "cartLinesAdd")["cart"]["token"]


def payload(data: dict[str, Any], field: str) -> dict[str, Any]:
    """A mutation's payload, GraphQLFailure when it reports userErrors."""
    result = data[field]
    if result.get("userErrors"):
        raise GraphQLFailure(f"{field}: {result['userErrors']}")
    return result


@dataclass(frozen=True)
class Api:
    queries: frozenset[str]
    mutations: frozenset[str]
    introspection: bool

    def has(self, *fields: str) -> bool:
        """Whether the schema has these root fields (assumed so when introspection is off)."""
        return not self.introspection or all(
            field in self.queries or field in self.mutations for field in fields
        )


def api(client: httpx.Client) -> Api:
    try:
        schema = call(client, workloads.SCHEMA_FIELDS)["__schema"]
    except GraphQLFailure:
        return Api(frozenset(), frozenset(), introspection=False)
    mutation_type = schema.get("mutationType") or {"fields": []}
    return Api(
        queries=frozenset(field["name"] for field in schema["queryType"]["fields"]),
        mutations=frozenset(field["name"] for field in mutation_type["fields"]),
        introspection=True,
    )
