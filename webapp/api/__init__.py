"""The owner and admin JSON API under /api: devices, pins and rules, history, alerts, webhooks, notifications,
provisioning keys, commands, firmware updates.

Authenticated by the dashboard's session or a personal API token.
"""
from webapp.api import alerts, commands, devices, history, notifications, ota, provisioning, webhooks  # noqa: F401  (routes register on bp)
from webapp.api.blueprint import bp  # noqa: F401
