"""Over-the-air updates for owners: upload images, send one to a device or roll it out over several, follow them (docs/OTA.md)."""
from flask import request

from webapp.api.blueprint import bp
from webapp.auth.current_user import api_login_required, current_user
from webapp.http.openapi import operation
from webapp.http.replies import json_response
from webapp.http.request_body import parse_body
from webapp.http.uploads import takes_upload, upload_fields, uploaded_file
from webapp.schemas import (
    DeviceOtaOut,
    FirmwareIn,
    FirmwareListOut,
    FirmwareOut,
    OtaAssignIn,
    OtaUpdateOut,
    RolloutIn,
    RolloutListOut,
    RolloutOut,
    RolloutUpdateIn,
)
from webapp.services.devices import registry as devices
from webapp.services.ota import images, rollouts, updates

MAX_BODY = 16 * 1024
ROLLOUT_BODY = 512 * 1024
USER_AUTH = ["session", "apiToken"]
OWNER_ERRORS = {401: None, 404: None, 429: None}
ROLLOUT_ID = [{"name": "rollout_id", "in": "path", "required": True, "schema": {"type": "integer"}}]


@bp.post("/firmware")
@api_login_required
@operation(
    "Upload a firmware image",
    tags=["ota"],
    description="An ESP32 app image (its first byte 0xE9) of at most FIRMWARE_MAX_BYTES, as multipart/form-data with `file`, `title` and `version`.",
    upload=("file", FirmwareIn),
    responses={201: FirmwareOut, 400: (None, "Not an ESP32 app image, or a field is missing."), 401: None, 413: (None, "Larger than FIRMWARE_MAX_BYTES."), 429: None},
    security=USER_AUTH,
)
@takes_upload("FIRMWARE_MAX_BYTES")
def upload_firmware():
    fields = upload_fields(FirmwareIn)
    image = images.store_image(current_user(), uploaded_file("file").stream, fields.title, fields.version)
    return json_response(FirmwareOut.of(image), 201)


@bp.get("/firmware")
@api_login_required
@operation("Your firmware images, newest first", tags=["ota"], responses={200: FirmwareListOut, 401: None, 429: None}, security=USER_AUTH)
def list_firmware():
    return json_response(FirmwareListOut(firmware=[FirmwareOut.of(image) for image in images.visible_images(current_user())]))


@bp.post("/devices/<device_id>/ota")
@api_login_required
@operation(
    "Send a firmware image to a device",
    tags=["ota"],
    description="The device is offered it (`ota` in its answers) until it reports the outcome; an update it had in progress is cancelled.",
    body=OtaAssignIn,
    responses={201: OtaUpdateOut, 400: None, 413: None, **OWNER_ERRORS},
    security=USER_AUTH,
)
def assign_firmware(device_id):
    device = devices.visible_device(current_user(), device_id)
    body = parse_body(OtaAssignIn, MAX_BODY, request.environ)
    image = images.visible_image(current_user(), body.firmware_id)
    return json_response(OtaUpdateOut.of(updates.describe(updates.assign(device.id, image))), 201)


@bp.get("/devices/<device_id>/ota")
@api_login_required
@operation("The device's latest update and its update history", tags=["ota"], responses={200: DeviceOtaOut, **OWNER_ERRORS}, security=USER_AUTH)
def device_ota(device_id):
    device = devices.visible_device(current_user(), device_id)
    history = [OtaUpdateOut.of(updates.describe(sent)) for sent in updates.device_updates(device.id)]
    return json_response(DeviceOtaOut(update=history[0] if history else None, history=history))


@bp.delete("/devices/<device_id>/ota")
@api_login_required
@operation(
    "Cancel the device's update in progress",
    tags=["ota"],
    responses={204: None, 401: None, 404: (None, "No such device, or it has no update in progress."), 429: None},
    security=USER_AUTH,
)
def cancel_ota(device_id):
    device = devices.visible_device(current_user(), device_id)
    updates.cancel(device.id)
    return "", 204


@bp.post("/rollouts")
@api_login_required
@operation(
    "Roll a firmware image out over several devices",
    tags=["ota"],
    description=(
        "To the listed devices, or every device you own. `stage_percent` of them (at least one) first; the rest once those have "
        "finished. A failure or rollback pauses the rollout."
    ),
    body=RolloutIn,
    responses={201: RolloutOut, 400: None, 409: (None, "No device to send it to."), 413: None, **OWNER_ERRORS},
    security=USER_AUTH,
)
def start_rollout():
    body = parse_body(RolloutIn, ROLLOUT_BODY, request.environ)
    image = images.visible_image(current_user(), body.firmware_id)
    rollout = rollouts.start_rollout(current_user(), image, body.device_ids, body.stage_percent)
    return json_response(_rollout_out(rollout), 201)


@bp.get("/rollouts")
@api_login_required
@operation("Your rollouts, newest first", tags=["ota"], responses={200: RolloutListOut, 401: None, 429: None}, security=USER_AUTH)
def list_rollouts():
    return json_response(RolloutListOut(rollouts=[_rollout_out(rollout) for rollout in rollouts.visible_rollouts(current_user())]))


@bp.get("/rollouts/<int:rollout_id>")
@api_login_required
@operation("A rollout and each device's update", tags=["ota"], parameters=ROLLOUT_ID, responses={200: RolloutOut, **OWNER_ERRORS}, security=USER_AUTH)
def get_rollout(rollout_id):
    return json_response(_rollout_out(rollouts.visible_rollout(current_user(), rollout_id)))


@bp.patch("/rollouts/<int:rollout_id>")
@api_login_required
@operation(
    "Pause, resume or cancel a rollout",
    tags=["ota"],
    parameters=ROLLOUT_ID,
    body=RolloutUpdateIn,
    responses={200: RolloutOut, 400: None, 409: (None, "Its status does not allow that (done or cancelled)."), 413: None, **OWNER_ERRORS},
    security=USER_AUTH,
)
def update_rollout(rollout_id):
    rollout = rollouts.visible_rollout(current_user(), rollout_id)
    body = parse_body(RolloutUpdateIn, MAX_BODY, request.environ)
    return json_response(_rollout_out(rollouts.move_rollout(rollout, body.status)))


def _rollout_out(rollout):
    return RolloutOut.of(rollout, [updates.describe(sent) for sent in rollouts.rollout_updates(rollout.id)])
