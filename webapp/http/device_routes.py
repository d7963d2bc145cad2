"""Which routes are the devices': membership of the `device_api` blueprint, the one marker.

Rate limiting (limited per device, not per address), CSRF protection (none:
a device token is not a cookie), errors (always JSON), the OpenAPI document
(the device token as security) and the fast path (device_api/fast_path.py)
read it; nothing else says which routes devices call.
"""
DEVICE_API = "device_api"


def is_device_endpoint(endpoint):
    return endpoint is not None and endpoint.startswith(DEVICE_API + ".")
