"""The one schema, assembled at the top: every domain's root fields, the error policy and caches."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import ParserCache
from strawberry.printer import print_schema
from strawberry.tools import merge_types

from graph.errors import MaskUnexpectedErrors, log_unexpected_errors
from graph.limits import OperationLimits
from graph.metrics import OperationMetrics
from graph.shared_events import SharedEventsExecutionContext
from graph.validation_cache import DocumentValidationCache
from resolvers.accounts.mutations import AccountMutation
from resolvers.accounts.queries import AccountQuery
from resolvers.accounts.self_service import AccountSelfServiceMutation
from resolvers.carts.mutations import CartMutation
from resolvers.carts.queries import CartQuery
from resolvers.catalog.mutations import CatalogMutation
from resolvers.catalog.queries import CatalogQuery
from resolvers.jobs.mutations import JobMutation
from resolvers.jobs.queries import JobQuery
from resolvers.orders.mutations import OrderMutation
from resolvers.orders.queries import OrderQuery
from resolvers.orders.subscriptions import OrderSubscription
from resolvers.reviews.mutations import ReviewMutation
from resolvers.reviews.queries import ReviewQuery
from resolvers.totals.mutations import TotalsMutation
from resolvers.totals.queries import TotalsQuery


class StorefrontSchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        log_unexpected_errors(errors)


Query = merge_types(
    "Query",
    (
        CatalogQuery,
        AccountQuery,
        CartQuery,
        OrderQuery,
        JobQuery,
        ReviewQuery,
        TotalsQuery,
    ),
)
Mutation = merge_types(
    "Mutation",
    (
        AccountMutation,
        AccountSelfServiceMutation,
        CartMutation,
        OrderMutation,
        JobMutation,
        ReviewMutation,
        CatalogMutation,
        TotalsMutation,
    ),
)

schema = StorefrontSchema(
    query=Query,
    mutation=Mutation,
    subscription=merge_types("Subscription", (OrderSubscription,)),
    execution_context_class=SharedEventsExecutionContext,
    extensions=[
        OperationMetrics,  # first: it sees the errors as masked (core/metrics.py)
        MaskUnexpectedErrors,
        OperationLimits,
        lambda: ParserCache(maxsize=256),
        DocumentValidationCache,
    ],
)


def schema_sdl() -> str:
    return print_schema(schema) + "\n"
