"""The staff dashboard at /admin (starlette-admin), an entry point like resolvers/ and webhooks/.

Its views are backed by domain functions, not by SQLAlchemy models: lists and pages read through
domain/, and every write is the API's own function (domain.order_actions, domain.catalog_admin).
"""
