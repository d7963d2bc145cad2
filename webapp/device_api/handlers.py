"""The device routes: parse the request, make one service call, answer with a response model.

Each handler takes the WSGI environ and its path arguments and returns a
Reply; device_api/routing.py serves it through Flask and, for the two
routes every device calls every few seconds, through the fast path.
"""
from flask import current_app
from werkzeug.http import quote_etag
from werkzeug.wrappers import Request

from webapp.core.errors import InvalidRequest
from webapp.device_api.blueprint import routes
from webapp.http.client_address import client_address
from webapp.http.openapi import operation
from webapp.http.replies import Reply
from webapp.http.request_body import bearer_token, parse_body
from webapp.schemas import BatchIn, BatchOut, HealthOut, LatestOut, LegacyTelemetryOut, TelemetryIn, TelemetryOut
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
    description="Idempotent on (device, ts): a record whose ts is already stored counts as a duplicate.",
    body=BatchIn,
    responses={200: BatchOut, **DEVICE_ERRORS},
)
def post_telemetry_batch(environ, device_id):
    config = current_app.config
    body = parse_body(BatchIn, config["MAX_BATCH_BODY_BYTES"], environ)
    if len(body.records) > config["MAX_BATCH_RECORDS"]:
        raise InvalidRequest(f"At most {config['MAX_BATCH_RECORDS']} records per batch.")
    records = [(record.ts, record.data) for record in body.records]
    accepted, duplicates = ingest.ingest_batch(body.device_token or bearer_token(environ), device_id, records, client_address(environ))
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
    return ingest.ingest_telemetry(body.device_token or bearer_token(environ), body.data, client_address(environ), device_id)


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
