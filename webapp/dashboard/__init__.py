"""The server-rendered htmx dashboard: pages, the fragments they swap, and what the live streams render."""
from webapp.dashboard import (  # noqa: F401  (routes register on bp)
    admin,
    alerts,
    commands,
    devices,
    errors,
    favicon,
    notifications,
    ota,
    provisioning,
    rollouts,
    templating,
    widgets,
)
from webapp.dashboard.blueprint import bp


def init_app(app):
    app.register_blueprint(bp)
    templating.register(app)
