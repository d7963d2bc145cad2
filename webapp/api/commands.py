"""Commands (RPC) for owners: send one to a device, follow its status and reply."""
from flask import request

from webapp.api.blueprint import bp
from webapp.auth.current_user import api_login_required, current_user
from webapp.http.openapi import operation
from webapp.http.replies import json_response
from webapp.http.request_body import parse_body
from webapp.schemas import CommandIn, CommandListOut, CommandOut
from webapp.services.devices import commands
from webapp.services.devices import registry as devices

MAX_BODY = 16 * 1024
USER_AUTH = ["session", "apiToken"]
OWNER_ERRORS = {401: None, 404: None, 429: None}
COMMAND_ID = [{"name": "command_id", "in": "path", "required": True, "schema": {"type": "integer"}}]


@bp.post("/devices/<device_id>/commands")
@api_login_required
@operation(
    "Send a command to a device",
    tags=["commands"],
    description=(
        "The device gets it in `commands` of its next telemetry or poll answer (a waiting long-poll returns at once), or from "
        "ThingsBoard's rpc poll; status goes queued → delivered → answered, or timed_out after `timeout` seconds."
    ),
    body=CommandIn,
    responses={201: CommandOut, 400: None, 413: None, **OWNER_ERRORS},
    security=USER_AUTH,
)
def send_command(device_id):
    device = devices.visible_device(current_user(), device_id)
    body = parse_body(CommandIn, MAX_BODY, request.environ)
    return json_response(CommandOut.of(commands.describe(commands.send_command(device.id, body.method, body.params, body.timeout))), 201)


@bp.get("/devices/<device_id>/commands")
@api_login_required
@operation("The device's latest commands, newest first", tags=["commands"], responses={200: CommandListOut, **OWNER_ERRORS}, security=USER_AUTH)
def list_commands(device_id):
    device = devices.visible_device(current_user(), device_id)
    return json_response(CommandListOut(commands=[CommandOut.of(commands.describe(command)) for command in commands.device_commands(device.id)]))


@bp.get("/devices/<device_id>/commands/<int:command_id>")
@api_login_required
@operation("A command: its status and the device's reply", tags=["commands"], parameters=COMMAND_ID, responses={200: CommandOut, **OWNER_ERRORS}, security=USER_AUTH)
def get_command(device_id, command_id):
    device = devices.visible_device(current_user(), device_id)
    return json_response(CommandOut.of(commands.describe(commands.device_command(device.id, command_id))))
