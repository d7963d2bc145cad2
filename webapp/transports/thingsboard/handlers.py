"""ThingsBoard's device HTTP API: telemetry, attributes, their updates, RPC both ways, provisioning.

Requests as the ThingsBoard documentation and its Python client
(tb-mqtt-client's TBHTTPDevice) send them; answers as ThingsBoard gives
them, an empty body where it sends none. Client attributes are the device's
reported state, shared attributes its control pins (the pins people toggle).
An update on offer (docs/OTA.md) shows as the fw_* shared attributes, its
image is served by `GET …/firmware` in ThingsBoard's chunks, and the
device's `fw_state` readings move the update on.
"""
from flask import current_app
from werkzeug.wrappers import Request

from webapp.core.errors import InvalidProvisioningKey, InvalidRequest, ProvisioningKeyExpired, ProvisioningKeyUsedUp
from webapp.core.ids import parse_id
from webapp.http.client_address import client_address
from webapp.http.replies import Reply, Streamed
from webapp.http.request_body import parse_body
from webapp.schemas.thingsboard import (
    TbAttributeChangesOut,
    TbAttributesIn,
    TbAttributesOut,
    TbClientRpcIn,
    TbProvisionIn,
    TbProvisionOut,
    TbRpcReplyIn,
    TbRpcRequestOut,
    TbTelemetryIn,
    TbTime,
)
from webapp.services.devices import provisioning
from webapp.services.ingest import device_requests
from webapp.services.ingest import telemetry as ingest
from webapp.transports.thingsboard.blueprint import routes

# ThingsBoard's answer to a long-poll that saw nothing; its client polls again.
TIMED_OUT = Reply(408)
OK = Reply(200)
# ThingsBoard's fw_state values → our update states (services/ota/updates.py).
FW_STATES = {"DOWNLOADING": "downloading", "DOWNLOADED": "verifying", "VERIFIED": "verifying", "UPDATING": "applied", "UPDATED": "booted", "FAILED": "failed"}


@routes.route("POST", "/<token>/telemetry")
def post_telemetry(environ, token):
    """`{"k": v}`, `{"ts": ms, "values": {…}}` or an array of those; timed readings are idempotent on (device, ts)."""
    config = current_app.config
    records = parse_body(TbTelemetryIn, config["MAX_BATCH_BODY_BYTES"], environ).records()
    if len(records) > config["MAX_BATCH_RECORDS"]:
        raise InvalidRequest(f"At most {config['MAX_BATCH_RECORDS']} readings per request.")
    ingest.ingest_records(token, [(ts, data, None) for ts, data in records], client_address(environ))
    reported = _firmware_state(records)
    if reported is not None:
        device_requests.follow_firmware_state(token, *reported, client_address(environ))
    return OK


@routes.route("POST", "/<token>/attributes")
def post_attributes(environ, token):
    """Client attributes: the device's reported state."""
    data = parse_body(TbAttributesIn, current_app.config["MAX_BODY_BYTES"], environ).data
    ingest.ingest_records(token, [(None, data, None)], client_address(environ))
    return OK


@routes.route("GET", "/<token>/attributes")
def get_attributes(environ, token):
    """`clientKeys`/`sharedKeys` (or `client_keys`/`shared_keys`, comma-separated or repeated); neither: all of both."""
    query = Request(environ).args
    client_keys, shared_keys = _keys(query, "clientKeys", "client_keys"), _keys(query, "sharedKeys", "shared_keys")
    view = device_requests.attributes(token, client_address(environ))
    everything = client_keys is None and shared_keys is None
    answer = {}
    if everything or client_keys is not None:
        answer["client"] = _picked(view.reported, client_keys)
    if everything or shared_keys is not None:
        answer["shared"] = _picked(view.control | _firmware_attributes(view.ota), shared_keys)
    return Reply(200, TbAttributesOut(**answer))


@routes.route("GET", "/<token>/firmware")
def get_firmware(environ, token):
    """The image on offer by `title` and `version`: chunk number `chunk` of `size` bytes (past the end: empty), or all of it without `size`."""
    query = Request(environ).args
    if not query.get("title") or not query.get("version"):
        raise InvalidRequest("title and version name the firmware: send both.")
    size, chunk = _whole_number(query, "size"), _whole_number(query, "chunk")
    image, read = device_requests.firmware_by_version(token, query["title"], query["version"], client_address(environ))
    start = chunk * size if size else 0
    length = max(0, min(size or image.size, image.size - start))
    return Reply(200, Streamed(read(start, length), length), [("Content-Type", "application/octet-stream")])


@routes.route("GET", "/<token>/attributes/updates")
def get_attribute_updates(environ, token):
    """Long-poll for shared attribute changes: the changed keys (`deleted`: pins given back), or 408 after `timeout` ms."""
    changes = device_requests.attribute_updates(token, client_address(environ), _timeout_seconds(environ))
    if changes is None:
        return TIMED_OUT
    changed, released = changes
    return Reply(200, TbAttributeChangesOut(changed | ({"deleted": released} if released else {})))


@routes.route("GET", "/<token>/rpc")
def get_rpc(environ, token):
    """Long-poll for a command: `{"id", "method", "params"}`, or 408 after `timeout` ms."""
    command = device_requests.next_command(token, client_address(environ), _timeout_seconds(environ))
    return TIMED_OUT if command is None else Reply(200, TbRpcRequestOut(**command))


@routes.route("POST", "/<token>/rpc/<request_id>")
def post_rpc_reply(environ, token, request_id):
    """The device's reply to command `request_id`: any JSON."""
    result = parse_body(TbRpcReplyIn, current_app.config["MAX_BODY_BYTES"], environ).root
    command_id = parse_id(request_id)
    device_requests.reply(token, None, command_id, result, client_address(environ))
    return OK


@routes.route("POST", "/<token>/rpc")
def post_rpc(environ, token):
    """A device's own RPC request: getCurrentTime answers the time in Unix milliseconds; others are 400."""
    body = parse_body(TbClientRpcIn, current_app.config["MAX_BODY_BYTES"], environ)
    return Reply(200, TbTime(device_requests.server_method(token, client_address(environ), body.method)))


@routes.route("POST", "/provision")
def post_provision(environ):
    """A provisioning key and secret (ours) for a device of their owner's; the device name identifies the board."""
    body = parse_body(TbProvisionIn, current_app.config["MAX_BODY_BYTES"], environ)
    try:
        _, token, _ = provisioning.provision(body.key, body.secret, body.device_name, body.device_name, client_address(environ))
    except InvalidProvisioningKey as refused:
        return Reply(200, TbProvisionOut(status="NOT_FOUND", error_msg=refused.message))
    except (ProvisioningKeyExpired, ProvisioningKeyUsedUp) as refused:
        return Reply(200, TbProvisionOut(status="FAILURE", error_msg=refused.message))
    return Reply(200, TbProvisionOut(status="SUCCESS", credentials_type="ACCESS_TOKEN", credentials_value=token))


def _firmware_attributes(offer):
    """The fw_* shared attributes of an update on offer, as ThingsBoard names them."""
    if offer is None:
        return {}
    return {
        "fw_title": offer["title"],
        "fw_version": offer["version"],
        "fw_size": offer["size"],
        "fw_checksum": offer["sha256"],
        "fw_checksum_algorithm": "SHA256",
    }


def _firmware_state(records):
    """(state, bytes, version, reason) of the last fw_state among the readings (None without one)."""
    for _, data in reversed(records):
        state = FW_STATES.get(data.get("fw_state"))
        version = data.get("current_fw_version")
        if state == "booted" and version is None:
            return None  # which version runs is what tells a finished update from a rollback
        if state is not None:
            received = 0 if state == "downloading" else None
            reason = (str(data.get("fw_error") or "The device reported FAILED.")) if state == "failed" else None
            return state, received, None if version is None else str(version), reason
    return None


def _whole_number(query, name):
    raw = query.get(name, "0")
    if not raw.isascii() or not raw.isdigit():
        raise InvalidRequest(f"{name} must be a whole number.")
    return int(raw)


def _keys(query, *names):
    """The keys asked for under any of `names`, or None when none of them is in the query."""
    if not any(name in query for name in names):
        return None
    return [key.strip() for name in names for raw in query.getlist(name) for key in raw.split(",") if key.strip()]


def _picked(values, keys):
    return dict(values) if keys is None else {key: values[key] for key in keys if key in values}


def _timeout_seconds(environ):
    """`timeout` in milliseconds (ThingsBoard's), at most LONG_POLL_MAX_SECONDS: a longer wait is cut to it."""
    limit = current_app.config["LONG_POLL_MAX_SECONDS"]
    raw = Request(environ).args.get("timeout")
    if raw is None:
        return limit
    if not raw.isdigit():
        raise InvalidRequest("timeout must be a whole number of milliseconds.")
    return min(int(raw) / 1000, limit)
