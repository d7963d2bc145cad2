"""A device's webhooks and their delivery attempts, for its owner."""
from flask import request

from webapp.api.blueprint import bp
from webapp.auth.current_user import api_login_required, current_user
from webapp.http.openapi import operation
from webapp.http.query_args import int_arg
from webapp.http.replies import json_response
from webapp.http.request_body import parse_body
from webapp.schemas import (
    WebhookAttemptOut,
    WebhookAttemptsOut,
    WebhookCreatedOut,
    WebhookCreateIn,
    WebhookListOut,
    WebhookOut,
    WebhookUpdateIn,
)
from webapp.services.devices import registry as devices
from webapp.services.webhooks import registry as webhooks

MAX_BODY = 16 * 1024
USER_AUTH = ["session", "apiToken"]
OWNER_ERRORS = {401: None, 404: None, 429: None}
MAX_ATTEMPTS_LISTED = 200


@bp.post("/devices/<device_id>/webhooks")
@api_login_required
@operation(
    "Add a webhook to a device",
    tags=["webhooks"],
    description=(
        "Each subscribed event is POSTed as JSON, signed with `X-ThingsNXT-Signature: sha256=<HMAC-SHA256 of the body>`. "
        "The secret is returned only in this response. See docs/WEBHOOKS.md."
    ),
    body=WebhookCreateIn,
    responses={201: WebhookCreatedOut, 400: None, 409: (None, "The device has the most webhooks allowed."), 413: None, **OWNER_ERRORS},
    security=USER_AUTH,
)
def create_webhook(device_id):
    device = devices.visible_device(current_user(), device_id)
    body = parse_body(WebhookCreateIn, MAX_BODY, request.environ)
    webhook, secret = webhooks.create_webhook(device, body.url, body.events, body.secret)
    return json_response(WebhookCreatedOut.of(webhook, secret=secret), 201)


@bp.get("/devices/<device_id>/webhooks")
@api_login_required
@operation("A device's webhooks", tags=["webhooks"], responses={200: WebhookListOut, **OWNER_ERRORS}, security=USER_AUTH)
def list_webhooks(device_id):
    device = devices.visible_device(current_user(), device_id)
    return json_response(WebhookListOut(webhooks=[WebhookOut.of(webhook) for webhook in webhooks.device_webhooks(device.id)]))


@bp.get("/devices/<device_id>/webhooks/<int:webhook_id>")
@api_login_required
@operation("One webhook", tags=["webhooks"], responses={200: WebhookOut, **OWNER_ERRORS}, security=USER_AUTH)
def get_webhook(device_id, webhook_id):
    device = devices.visible_device(current_user(), device_id)
    return json_response(WebhookOut.of(webhooks.device_webhook(device.id, webhook_id)))


@bp.patch("/devices/<device_id>/webhooks/<int:webhook_id>")
@api_login_required
@operation(
    "Change a webhook",
    tags=["webhooks"],
    description="Change its URL or events, disable it, or re-enable it after it was disabled for failing.",
    body=WebhookUpdateIn,
    responses={200: WebhookOut, 400: None, 413: None, **OWNER_ERRORS},
    security=USER_AUTH,
)
def update_webhook(device_id, webhook_id):
    device = devices.visible_device(current_user(), device_id)
    webhook = webhooks.device_webhook(device.id, webhook_id)
    body = parse_body(WebhookUpdateIn, MAX_BODY, request.environ)
    return json_response(WebhookOut.of(webhooks.update_webhook(webhook, body.model_dump(exclude_none=True))))


@bp.delete("/devices/<device_id>/webhooks/<int:webhook_id>")
@api_login_required
@operation("Delete a webhook and its delivery log", tags=["webhooks"], responses={204: None, **OWNER_ERRORS}, security=USER_AUTH)
def delete_webhook(device_id, webhook_id):
    device = devices.visible_device(current_user(), device_id)
    webhooks.delete_webhook(webhooks.device_webhook(device.id, webhook_id))
    return "", 204


@bp.get("/devices/<device_id>/webhooks/attempts")
@api_login_required
@operation(
    "Recent delivery attempts of a device's webhooks",
    tags=["webhooks"],
    description="Newest first: every attempt with its HTTP status or error, and where its delivery stands.",
    parameters=[
        {"name": "limit", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ATTEMPTS_LISTED, "default": 50}},
        {"name": "webhook_id", "in": "query", "required": False, "schema": {"type": "integer"}},
    ],
    responses={200: WebhookAttemptsOut, 400: None, **OWNER_ERRORS},
    security=USER_AUTH,
)
def list_attempts(device_id):
    device = devices.visible_device(current_user(), device_id)
    limit = int_arg("limit", 50, 1, MAX_ATTEMPTS_LISTED)
    webhook_id = int_arg("webhook_id", None, 1, 2**63 - 1)
    attempts = webhooks.recent_attempts(device.id, limit, webhook_id)
    return json_response(WebhookAttemptsOut(attempts=[WebhookAttemptOut.of(attempt, delivery) for attempt, delivery in attempts]))
