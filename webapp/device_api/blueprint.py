"""The device API's blueprint (its membership is the device-route marker, http/device_routes.py) and routing table."""
from flask import Blueprint

from webapp.http.device_routes import DEVICE_API
from webapp.http.device_routing import DeviceRoutes

bp = Blueprint(DEVICE_API, __name__)
routes = DeviceRoutes(bp)
