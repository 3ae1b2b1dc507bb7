"""GraphQL types of background jobs (staff)."""
