"""Which routes are the devices': membership of a device blueprint, the one marker.

The device blueprints are our device API (`device_api`) and the transports
that speak other platforms' device APIs (`thingsboard`, `blynk`,
webapp/transports/). Rate limiting (limited per device, not per address),
CSRF protection (none: a device token is not a cookie), errors (never a
page; each blueprint's own shape, http/errors.py), the OpenAPI document (the
device token as security) and the fast path (device_api/fast_path.py, our
API only) read it; nothing else says which routes devices call.
"""
DEVICE_API = "device_api"
THINGSBOARD = "thingsboard"
BLYNK = "blynk"
DEVICE_BLUEPRINTS = frozenset({DEVICE_API, THINGSBOARD, BLYNK})


def is_device_blueprint(name):
    return name in DEVICE_BLUEPRINTS


def is_device_endpoint(endpoint):
    return endpoint is not None and endpoint.partition(".")[0] in DEVICE_BLUEPRINTS
