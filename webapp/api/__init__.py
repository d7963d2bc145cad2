"""The owner and admin JSON API under /api: devices, pins and rules, history, alerts, webhooks, notifications.

Authenticated by the dashboard's session or a personal API token.
"""
from webapp.api import alerts, devices, history, notifications, webhooks  # noqa: F401  (routes register on bp)
from webapp.api.blueprint import bp  # noqa: F401
