"""The JSON API: device-facing telemetry routes and the owner/admin routes."""
from flask import Blueprint

bp = Blueprint("api", __name__)

from webapp.api import device_routes, history_routes, management_routes, notification_routes, webhook_routes  # noqa: E402,F401  (routes register on bp)
