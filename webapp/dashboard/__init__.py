"""The server-rendered htmx dashboard: pages, the fragments they swap, and what the live streams render."""
from webapp.dashboard import admin, alerts, devices, errors, favicon, notifications, templating, widgets  # noqa: F401  (routes register on bp)
from webapp.dashboard.blueprint import bp


def init_app(app):
    app.register_blueprint(bp)
    templating.register(app)
