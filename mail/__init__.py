"""E-mail to customers: Jinja2 templates (HTML and plain text) and the SMTP transport.

Imports nothing of ours but core: domain.notifications decides what is sent and when.
"""
