"""The server-rendered htmx dashboard: pages, the fragments they swap, and what the live streams render."""
from flask import Blueprint

bp = Blueprint("dashboard", __name__)


def init_app(app):
    from webapp.dashboard import templating

    app.register_blueprint(bp)
    templating.register(app)


from webapp.dashboard import admin, devices, errors, notifications, widgets  # noqa: E402,F401  (routes register on bp)
