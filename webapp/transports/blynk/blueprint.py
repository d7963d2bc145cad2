"""Blynk's blueprint, a device blueprint (http/device_routes.py), and the shape of its errors."""
from flask import Blueprint

from webapp.http.device_routes import BLYNK
from webapp.http.device_routing import DeviceRoutes
from webapp.http.errors import error_shape
from webapp.http.replies import Reply
from webapp.schemas.blynk import BlynkErrorMessage, BlynkErrorOut

bp = Blueprint(BLYNK, __name__)
routes = DeviceRoutes(bp)

# Blynk answers every refusal 400 with its error object; a rate limit and a server fault keep their status.
KEPT_STATUSES = frozenset({429, 500, 503})


@error_shape(BLYNK)
def blynk_error(error):
    status = error.status if error.status in KEPT_STATUSES else 400
    return Reply(status, BlynkErrorOut(error=BlynkErrorMessage(message=error.message)), list(error.headers.items()))
