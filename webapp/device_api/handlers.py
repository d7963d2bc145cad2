"""The device routes: parse the request, make one service call, answer with a response model.

Each handler takes the WSGI environ and its path arguments and returns a
Reply; http/device_routing.py serves it through Flask and, for the two
routes every device calls every few seconds, through the fast path.
"""
from flask import current_app
from werkzeug.http import quote_etag
from werkzeug.wrappers import Request

from webapp.core.errors import InvalidRequest
from webapp.core.ids import parse_id
from webapp.device_api.blueprint import routes
from webapp.http.client_address import client_address
from webapp.http.openapi import operation
from webapp.http.ranges import requested_range
from webapp.http.replies import Reply, Streamed
from webapp.http.request_body import bearer_token, parse_body
from webapp.schemas import (
    BatchIn,
    BatchOut,
    CommandReplyIn,
    CommandReplyOut,
    HealthOut,
    LatestOut,
    LegacyTelemetryOut,
    OtaStatusIn,
    OtaStatusOut,
    ProvisionedOut,
    ProvisionIn,
    TelemetryIn,
    TelemetryOut,
)
from webapp.services.devices import provisioning
from webapp.services.ingest import device_requests
from webapp.services.ingest import telemetry as ingest
from webapp.services.platform import health

DEVICE_ERRORS = {400: None, 403: None, 404: None, 413: None, 429: None}


@routes.route("POST", "/devices/<device_id>/telemetry", fast=True)
@operation("Post telemetry (V2)", tags=["device"], body=TelemetryIn, responses={200: TelemetryOut, **DEVICE_ERRORS})
def post_telemetry(environ, device_id):
    return Reply(200, TelemetryOut.of(_store_reading(environ, device_id)))


@routes.route("POST", "/telemetry")
@operation(
    "Post telemetry (legacy)",
    tags=["device"],
    description="The original endpoint: the token alone names the device. `led_state` carries the control pins.",
    body=TelemetryIn,
    responses={200: LegacyTelemetryOut, **{status: None for status in (400, 403, 413, 429)}},
)
def post_legacy_telemetry(environ):
    return Reply(200, LegacyTelemetryOut.of(_store_reading(environ)))


@routes.route("POST", "/devices/<device_id>/telemetry/batch")
@operation(
    "Upload readings buffered offline",
    tags=["device"],
    description=(
        "A record with `seq` and `boot` already stored (within DEDUPE_WINDOW_SECONDS) counts as a duplicate; "
        "without them, a record whose ts is already stored does."
    ),
    body=BatchIn,
    responses={200: BatchOut, **DEVICE_ERRORS},
)
def post_telemetry_batch(environ, device_id):
    config = current_app.config
    body = parse_body(BatchIn, config["MAX_BATCH_BODY_BYTES"], environ)
    if len(body.records) > config["MAX_BATCH_RECORDS"]:
        raise InvalidRequest(f"At most {config['MAX_BATCH_RECORDS']} records per batch.")
    records = [(record.ts, record.data, record.identity) for record in body.records]
    accepted, duplicates = ingest.ingest_records(body.device_token or bearer_token(environ), records, client_address(environ), device_id, "records[].ts")
    return Reply(200, BatchOut(accepted=accepted, duplicates=duplicates))


@routes.route("GET", "/telemetry/latest", fast=True)
@operation(
    "Current state for the device",
    tags=["device"],
    description=(
        "Answers with an ETag; with `If-None-Match` equal to it, 304 when unchanged. "
        "`wait=N` (at most 30) holds the request until the state changes or N seconds pass."
    ),
    parameters=[
        {"name": "device_token", "in": "query", "required": False, "schema": {"type": "string"}},
        {"name": "wait", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 0, "maximum": 30}},
    ],
    responses={200: LatestOut, 304: (None, "Not modified since the ETag sent in If-None-Match."), 400: None, 403: None, 429: None},
)
def get_latest(environ):
    # werkzeug's own parsing of the query string and If-None-Match, as Flask's request has it.
    query = Request(environ)
    seen_etags = query.if_none_match
    view = ingest.latest_state(query.args.get("device_token") or bearer_token(environ), client_address(environ), seen_etags, _wait_seconds(query.args.get("wait")))
    headers = [("ETag", quote_etag(view.etag)), ("Cache-Control", "no-cache")]
    if seen_etags.contains(view.etag):
        return Reply(304, None, headers)
    return Reply(200, LatestOut.of(view), headers)


@routes.route("POST", "/devices/provision")
@operation(
    "Provision a board with a fleet key",
    tags=["device"],
    description=(
        "A board flashed with a provisioning key and secret gets its own device and token: 201 the first time, "
        "200 when the same hardware_id comes again (the same device, a new token; the old one is refused from now on)."
    ),
    body=ProvisionIn,
    responses={
        201: (ProvisionedOut, "A new device."),
        200: (ProvisionedOut, "This board's device, with a new token."),
        400: None,
        401: (None, "invalid_provisioning_key: wrong key or secret."),
        403: (None, "provisioning_key_expired or provisioning_key_used_up."),
        413: None,
        429: None,
    },
    security=(),
)
def post_provision(environ):
    body = parse_body(ProvisionIn, current_app.config["MAX_BODY_BYTES"], environ)
    device_id, token, created = provisioning.provision(
        body.provisioning_key, body.provisioning_secret, body.hardware_id, body.name, client_address(environ)
    )
    return Reply(201 if created else 200, ProvisionedOut(device_id=device_id, device_token=token))


@routes.route("POST", "/devices/<device_id>/commands/<command_id>")
@operation(
    "Reply to a command",
    tags=["device"],
    description="The device's result for a command it got in `commands` of a telemetry or poll answer; once per command.",
    parameters=[{"name": "command_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
    body=CommandReplyIn,
    responses={
        200: CommandReplyOut,
        400: None,
        403: None,
        404: (None, "No such device, or no such command for it."),
        409: (None, "Already answered, or timed out."),
        413: None,
        429: None,
    },
)
def post_command_reply(environ, device_id, command_id):
    body = parse_body(CommandReplyIn, current_app.config["MAX_BODY_BYTES"], environ)
    answered = device_requests.reply(body.device_token or bearer_token(environ), device_id, _command_id(command_id), body.result, client_address(environ))
    return Reply(200, CommandReplyOut(id=answered.id, status="answered"))


@routes.route("GET", "/devices/<device_id>/firmware/<sha256>")
@operation(
    "Download the image of the device's update",
    tags=["device"],
    description=(
        "The `url` of the `ota` object in the device's answers. `Range: bytes=N-` (or N-M) answers 206 with those bytes, "
        "so a dropped download resumes where it stopped; the ETag is the SHA-256. Counts against the device's rate limit."
    ),
    parameters=[
        {"name": "sha256", "in": "path", "required": True, "schema": {"type": "string"}},
        {"name": "device_token", "in": "query", "required": False, "schema": {"type": "string"}},
        {"name": "Range", "in": "header", "required": False, "schema": {"type": "string"}, "example": "bytes=65536-"},
    ],
    responses={
        200: (None, "The whole image (application/octet-stream)."),
        206: (None, "The requested bytes, with Content-Range."),
        304: (None, "If-None-Match named this image."),
        403: None,
        404: (None, "No such device, or this image is not being sent to it."),
        416: (None, "The range starts past the image's end."),
        429: None,
    },
)
def get_firmware(environ, device_id, sha256):
    query = Request(environ)
    image, read = device_requests.firmware_download(query.args.get("device_token") or bearer_token(environ), device_id, sha256, client_address(environ))
    headers = [("ETag", quote_etag(image.sha256)), ("Accept-Ranges", "bytes"), ("Cache-Control", "no-cache")]
    if query.if_none_match.contains(image.sha256):
        return Reply(304, None, headers)
    start, length, partial = requested_range(environ, image.size)
    headers.append(("Content-Type", "application/octet-stream"))
    if partial:
        headers.append(("Content-Range", f"bytes {start}-{start + length - 1}/{image.size}"))
    return Reply(206 if partial else 200, Streamed(read(start, length), length), headers)


@routes.route("POST", "/devices/<device_id>/ota/status")
@operation(
    "Report the progress of a firmware update",
    tags=["device"],
    description=(
        "state: downloading (with bytes), verifying, applied, booted (with the version now running: the image's version "
        "finishes the update; another after applied marks it rolled back), failed (with reason). States only move forward."
    ),
    body=OtaStatusIn,
    responses={200: OtaStatusOut, 400: None, 403: None, 404: None, 409: (None, "No update in progress, or the report would move it back."), 413: None, 429: None},
)
def post_ota_status(environ, device_id):
    body = parse_body(OtaStatusIn, current_app.config["MAX_BODY_BYTES"], environ)
    sent = device_requests.ota_report(body.device_token or bearer_token(environ), device_id, body.state, body.bytes, body.version, body.reason, client_address(environ))
    return Reply(200, OtaStatusOut(status=sent.status, bytes=sent.received))


@routes.route("GET", "/health")
@operation(
    "Liveness, and reachability of the database and Redis",
    tags=["device"],
    responses={200: (HealthOut, "Serving; `degraded` while Redis is unreachable."), 503: (HealthOut, "The database is unreachable.")},
    security=(),
)
def get_health(environ):
    report = health.health_report()
    return Reply(200 if report["database"] == "ok" else 503, HealthOut(**report))


def _store_reading(environ, device_id=None):
    """The stored reading of a telemetry POST; without `device_id` (legacy) the token alone names the device."""
    body = parse_body(TelemetryIn, current_app.config["MAX_BODY_BYTES"], environ)
    health = body.device.model_dump(exclude_none=True) if body.device is not None else None
    return ingest.ingest_telemetry(
        body.device_token or bearer_token(environ),
        body.data,
        client_address(environ),
        device_id,
        ts=body.ts,
        identity=body.identity,
        health=health,
        delivers_commands=True,
    )


def _command_id(raw):
    """The command id in the path; any other text names no command (services answer NotFound)."""
    return parse_id(raw)


def _wait_seconds(raw):
    if raw is None:
        return 0
    limit = current_app.config["LONG_POLL_MAX_SECONDS"]
    try:
        wait = int(raw)
    except ValueError:
        raise InvalidRequest(f"wait must be a whole number of seconds from 0 to {limit}.") from None
    if not 0 <= wait <= limit:
        raise InvalidRequest(f"wait must be a whole number of seconds from 0 to {limit}.")
    return wait
