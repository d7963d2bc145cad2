"""ThingsBoard's blueprint, a device blueprint (http/device_routes.py), and the shape of its errors."""
from flask import Blueprint

from webapp.http.device_routes import THINGSBOARD
from webapp.http.device_routing import DeviceRoutes
from webapp.http.errors import error_shape
from webapp.http.replies import Reply
from webapp.schemas.thingsboard import TbErrorOut

bp = Blueprint(THINGSBOARD, __name__, url_prefix="/api/v1")
routes = DeviceRoutes(bp)


@error_shape(THINGSBOARD)
def thingsboard_error(error):
    """ThingsBoard's statuses: a token it does not know is 401 (ours says 403 invalid_token)."""
    status = 401 if error.code == "invalid_token" else error.status
    return Reply(status, TbErrorOut(status=status, message=error.message), list(error.headers.items()))
