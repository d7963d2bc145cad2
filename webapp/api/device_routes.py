"""Routes the ESP32s call: telemetry in, state out, health."""
from flask import current_app, jsonify, request
from werkzeug.http import quote_etag
from werkzeug.wrappers import Request

from webapp.api import bp
from webapp.request_body import bearer_token, parse_body
from webapp.client_address import client_address
from webapp.errors import InvalidRequest
from webapp.rate_limiting import exempt
from webapp.openapi import operation
from webapp.schemas import BatchIn, BatchOut, HealthOut, LatestOut, LegacyTelemetryOut, TelemetryIn, TelemetryOut
from webapp.services import health, ingest, latest
from webapp.services.clock import iso_ms

DEVICE_ERRORS = {400: None, 403: None, 404: None, 413: None, 429: None}


@bp.post("/devices/<device_id>/telemetry")
@exempt
@operation(
    "Post telemetry (V2)",
    tags=["device"],
    body=TelemetryIn,
    responses={200: TelemetryOut, **DEVICE_ERRORS},
    security=["deviceToken"],
)
def post_telemetry(device_id):
    return jsonify(telemetry_reply(device_id, request.environ))


def telemetry_reply(device_id, environ):
    """The body answering a V2 telemetry POST: this view's, and under gunicorn api/telemetry_fast_path.py's."""
    body = parse_body(TelemetryIn, current_app.config["MAX_BODY_BYTES"], environ)
    stored = ingest.ingest_telemetry(body.device_token or bearer_token(environ), body.data, client_address(environ), device_id)
    return {"message": "ok", "device_id": stored.device_id, "data": stored.view.data, "timestamp": iso_ms(stored.timestamp_ms)}


@bp.post("/telemetry")
@exempt
@operation(
    "Post telemetry (legacy)",
    tags=["device"],
    description="The original endpoint: the token alone names the device. `led_state` carries the control pins.",
    body=TelemetryIn,
    responses={200: LegacyTelemetryOut, **{s: None for s in (400, 403, 413, 429)}},
    security=["deviceToken"],
)
def post_legacy_telemetry():
    body = parse_body(TelemetryIn, current_app.config["MAX_BODY_BYTES"])
    stored = ingest.ingest_telemetry(body.device_token or bearer_token(), body.data, client_address())
    return jsonify(
        message="ok",
        device_id=stored.device_id,
        led_state=stored.view.control,
        data=stored.view.data,
        timestamp=iso_ms(stored.timestamp_ms),
    )


@bp.post("/devices/<device_id>/telemetry/batch")
@exempt
@operation(
    "Upload readings buffered offline",
    tags=["device"],
    description="Idempotent on (device, ts): a record whose ts is already stored counts as a duplicate.",
    body=BatchIn,
    responses={200: BatchOut, **DEVICE_ERRORS},
    security=["deviceToken"],
)
def post_telemetry_batch(device_id):
    body = parse_body(BatchIn, current_app.config["MAX_BATCH_BODY_BYTES"])
    if len(body.records) > current_app.config["MAX_BATCH_RECORDS"]:
        raise InvalidRequest(f"At most {current_app.config['MAX_BATCH_RECORDS']} records per batch.")
    records = [(record.ts, record.data) for record in body.records]
    accepted, duplicates = ingest.ingest_batch(body.device_token or bearer_token(), device_id, records, client_address())
    return jsonify(accepted=accepted, duplicates=duplicates)


@bp.get("/telemetry/latest")
@exempt
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
    security=["deviceToken"],
)
def get_latest():
    status, headers, body = latest_reply(request.environ)
    response = jsonify(body) if body is not None else current_app.response_class(status=status)
    response.headers.extend(headers)
    return response


def latest_reply(environ):
    """(status, headers, body or None for 304) answering a poll: this view's, and under gunicorn api/telemetry_fast_path.py's."""
    # werkzeug's own parsing of the query string and If-None-Match, as Flask's request has it.
    query = Request(environ)
    wait = _wait_seconds(query.args.get("wait"))
    seen_etags = query.if_none_match
    view = latest.latest_state(query.args.get("device_token") or bearer_token(environ), client_address(environ), seen_etags=seen_etags, wait=wait)
    headers = [("ETag", quote_etag(view.etag)), ("Cache-Control", "no-cache")]
    if seen_etags.contains(view.etag):
        return 304, headers, None
    return 200, headers, {"device_id": view.device_id, "data": view.data, "timestamp": iso_ms(view.changed_ms)}


@bp.get("/health")
@exempt
@operation(
    "Liveness, and reachability of the database and Redis",
    tags=["device"],
    responses={200: (HealthOut, "Serving; `degraded` while Redis is unreachable."), 503: (HealthOut, "The database is unreachable.")},
)
def get_health():
    report = health.health_report()
    return jsonify(report), 200 if report["database"] == "ok" else 503


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
