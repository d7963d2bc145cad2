"""Provisioning keys for their owners: make one (the secret shown once), list them, see what each made and refused, revoke."""
from flask import request

from webapp.api.blueprint import bp
from webapp.auth.current_user import api_login_required, current_user
from webapp.core.clock import now_ms
from webapp.http.openapi import operation
from webapp.http.replies import json_response
from webapp.http.request_body import parse_body
from webapp.schemas import (
    ProvisionedDeviceOut,
    ProvisioningKeyCreatedOut,
    ProvisioningKeyCreateIn,
    ProvisioningKeyDetailOut,
    ProvisioningKeyListOut,
    ProvisioningKeyOut,
    ProvisioningRefusalOut,
)
from webapp.services.devices import provisioning

MAX_BODY = 16 * 1024
USER_AUTH = ["session", "apiToken"]
KEY_ERRORS = {401: None, 404: (None, "No such provisioning key (or not one of yours)."), 429: None}


@bp.post("/provisioning-keys")
@api_login_required
@operation(
    "Make a provisioning key",
    tags=["provisioning"],
    description="Boards flashed with the key and secret get a device each from POST /devices/provision. The secret is shown once.",
    body=ProvisioningKeyCreateIn,
    responses={201: ProvisioningKeyCreatedOut, 400: None, 401: None, 413: None, 429: None},
    security=USER_AUTH,
)
def create_provisioning_key():
    body = parse_body(ProvisioningKeyCreateIn, MAX_BODY, request.environ)
    key, secret = provisioning.create_key(current_user(), body.name, body.max_devices, body.expires_at)
    return json_response(ProvisioningKeyCreatedOut.of(key, now_ms(), secret=secret), 201)


@bp.get("/provisioning-keys")
@api_login_required
@operation("List your provisioning keys", tags=["provisioning"], responses={200: ProvisioningKeyListOut, 401: None, 429: None}, security=USER_AUTH)
def list_provisioning_keys():
    now = now_ms()
    return json_response(ProvisioningKeyListOut(keys=[ProvisioningKeyOut.of(key, now) for key in provisioning.visible_keys(current_user())]))


@bp.get("/provisioning-keys/<int:key_id>")
@api_login_required
@operation(
    "A provisioning key, the devices it made and its refusals",
    tags=["provisioning"],
    parameters=[{"name": "key_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
    responses={200: ProvisioningKeyDetailOut, **KEY_ERRORS},
    security=USER_AUTH,
)
def get_provisioning_key(key_id):
    key = provisioning.visible_key(current_user(), key_id)
    return json_response(
        ProvisioningKeyDetailOut.of(
            key,
            now_ms(),
            devices=[ProvisionedDeviceOut.of(made, device) for made, device in provisioning.provisioned_devices(key)],
            refusals=[ProvisioningRefusalOut.of(refusal) for refusal in provisioning.refusals(key)],
        )
    )


@bp.delete("/provisioning-keys/<int:key_id>")
@api_login_required
@operation(
    "Revoke a provisioning key",
    tags=["provisioning"],
    description="Boards presenting it are refused from now on; the devices it made stay.",
    parameters=[{"name": "key_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
    responses={204: None, **KEY_ERRORS},
    security=USER_AUTH,
)
def revoke_provisioning_key(key_id):
    provisioning.revoke_key(provisioning.visible_key(current_user(), key_id))
    return "", 204
