"""Business rules, between the GraphQL layer and the repositories."""
