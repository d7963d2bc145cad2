"""Devices for their owners and admins: register, list, change, delete, rotate tokens, set pins, manage rules."""
import re

from flask import request

from webapp.api.blueprint import bp
from webapp.auth.current_user import api_login_required, current_user
from webapp.core.errors import InvalidRequest, shown
from webapp.http.openapi import operation
from webapp.http.replies import json_response
from webapp.http.request_body import parse_body
from webapp.schemas import (
    KEY_PATTERN,
    DeviceCreatedOut,
    DeviceCreateIn,
    DeviceListOut,
    DeviceOut,
    DeviceUpdateIn,
    PinIn,
    PinOut,
    RulesIn,
    RulesOut,
    TokenOut,
)
from webapp.services.devices import health, rules, state
from webapp.services.devices import registry as devices

MAX_BODY = 64 * 1024
USER_AUTH = ["session", "apiToken"]
OWNER_ERRORS = {401: None, 404: None, 429: None}
BODY_ERRORS = {400: None, 413: None}


@bp.post("/devices")
@api_login_required
@operation(
    "Register a device",
    tags=["devices"],
    body=DeviceCreateIn,
    responses={201: DeviceCreatedOut, **BODY_ERRORS, 401: None, 403: None, 404: None, 409: (None, "Another device already has the device_token given."), 429: None},
    security=USER_AUTH,
)
def create_device():
    body = parse_body(DeviceCreateIn, MAX_BODY, request.environ)
    owner = devices.owner_for_new_device(current_user(), body.owner_email)
    device, token = devices.create_device(owner, body.name, body.offline_timeout, body.device_token)
    return json_response(DeviceCreatedOut.of(device, state.read_state(device.id), device_token=token), 201)


@bp.get("/devices")
@api_login_required
@operation("List the devices you may see", tags=["devices"], responses={200: DeviceListOut, 401: None, 429: None}, security=USER_AUTH)
def list_devices():
    listed = devices.visible_devices(current_user())
    reports = health.health_of([device.id for device in listed])
    return json_response(DeviceListOut(devices=[DeviceOut.of(device, state.read_state(device.id), reports.get(device.id)) for device in listed]))


@bp.get("/devices/<device_id>")
@api_login_required
@operation("A device and its current state", tags=["devices"], responses={200: DeviceOut, **OWNER_ERRORS}, security=USER_AUTH)
def get_device(device_id):
    device = devices.visible_device(current_user(), device_id)
    return json_response(DeviceOut.of(device, state.read_state(device.id), health.device_health(device.id)))


@bp.patch("/devices/<device_id>")
@api_login_required
@operation("Change a device's settings", tags=["devices"], body=DeviceUpdateIn, responses={200: DeviceOut, **BODY_ERRORS, **OWNER_ERRORS}, security=USER_AUTH)
def update_device(device_id):
    device = devices.visible_device(current_user(), device_id)
    body = parse_body(DeviceUpdateIn, MAX_BODY, request.environ)
    devices.update_device(device, body.model_dump(exclude_unset=True))
    return json_response(DeviceOut.of(device, state.read_state(device.id), health.device_health(device.id)))


@bp.delete("/devices/<device_id>")
@api_login_required
@operation("Delete a device with its state and history", tags=["devices"], responses={204: None, **OWNER_ERRORS}, security=USER_AUTH)
def delete_device(device_id):
    devices.delete_device(devices.visible_device(current_user(), device_id))
    return "", 204


@bp.post("/devices/<device_id>/token")
@api_login_required
@operation(
    "Regenerate the device token",
    tags=["devices"],
    description="The new token is shown once; the old one is refused from the next request on.",
    responses={200: TokenOut, **OWNER_ERRORS},
    security=USER_AUTH,
)
def regenerate_token(device_id):
    device = devices.visible_device(current_user(), device_id)
    token = devices.rotate_device_token(device)
    return json_response(TokenOut(device_id=device.id, device_token=token, token_prefix=device.token_prefix))


@bp.put("/devices/<device_id>/pins/<key>")
@api_login_required
@operation(
    "Set a control pin",
    tags=["devices"],
    description="Sets the desired value; the device gets it from /telemetry/latest (a waiting long-poll returns at once).",
    parameters=[{"name": "key", "in": "path", "required": True, "schema": {"type": "string", "pattern": KEY_PATTERN}}],
    body=PinIn,
    responses={200: PinOut, **BODY_ERRORS, **OWNER_ERRORS},
    security=USER_AUTH,
)
def set_pin(device_id, key):
    device = devices.visible_device(current_user(), device_id)
    _check_key(key)
    body = parse_body(PinIn, MAX_BODY, request.environ)
    view = state.set_desired(device.id, key, body.value)
    return json_response(PinOut(device_id=device.id, key=key, value=body.value, pending=key in view.pending(), data=view.data))


@bp.get("/devices/<device_id>/rules")
@api_login_required
@operation("The device's security rules", tags=["rules"], responses={200: RulesOut, **OWNER_ERRORS}, security=USER_AUTH)
def get_rules(device_id):
    device = devices.visible_device(current_user(), device_id)
    return json_response(RulesOut.of(device, rules.device_rules(device.id)))


@bp.put("/devices/<device_id>/rules")
@api_login_required
@operation(
    "Replace the device's security rules",
    tags=["rules"],
    description="Rule types: allowed_keys, range, source_network. Disable a device with PATCH /api/devices/{id}.",
    body=RulesIn,
    responses={200: RulesOut, **BODY_ERRORS, **OWNER_ERRORS},
    security=USER_AUTH,
)
def replace_rules(device_id):
    device = devices.visible_device(current_user(), device_id)
    body = parse_body(RulesIn, MAX_BODY, request.environ)
    return json_response(RulesOut.of(device, rules.replace_rules(device, body.rules)))


def _check_key(key):
    if not re.fullmatch(KEY_PATTERN, key):
        raise InvalidRequest(f"'{shown(key)}' is not a valid key: a letter or _, then letters, digits, _ . -; at most 64 characters.")
