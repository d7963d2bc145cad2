"""ThingsBoard's device HTTP API under /api/v1/{token}/… (the token is our device token), and its provisioning."""
from webapp.transports.thingsboard import handlers  # noqa: F401  (the handlers register on routes)
from webapp.transports.thingsboard.blueprint import bp  # noqa: F401
