"""History of a device's key: raw points, time buckets, or a CSV download."""
from flask import current_app, request, stream_with_context, url_for
from pydantic import ValidationError

from webapp.api.blueprint import bp
from webapp.auth.current_user import api_login_required, current_user
from webapp.core.clock import now_ms
from webapp.core.errors import InvalidRequest
from webapp.http.openapi import operation, query_parameters
from webapp.http.replies import json_response
from webapp.http.request_body import describe_validation_error
from webapp.schemas import HistoryOut, HistoryQuery
from webapp.services.devices import registry as devices
from webapp.services.history import export as history_export
from webapp.services.history import query as history

CSV_CONTENT = {"text/csv": {"schema": {"type": "string"}, "example": "timestamp,key,value\r\n2026-11-27T17:10:00.123Z,temperature,23.5\r\n"}}


@bp.get("/devices/<device_id>/history")
@api_login_required
@operation(
    "History of one key: raw points, time buckets or CSV",
    tags=["history"],
    description=(
        "The window is [from, to), 24 h up to now by default (with `fit`, the shortest of 1 h, 1 d, 7 d that holds the data). "
        "With `points`, the readings themselves if they are that few, else buckets sized to give at most that many: "
        "what a chart `points` pixels wide can draw. Raw points are limited to HISTORY_MAX_POINTS and "
        "buckets to HISTORY_MAX_BUCKETS per response (400 `too_many_points` / `too_many_buckets` with a "
        "`suggested_bucket`). Buckets carry min/max/avg of the numeric readings, count and the last reading; "
        "empty buckets are omitted. `format=csv` streams every reading (or bucket) of the window as an attachment, "
        "without limits."
    ),
    parameters=query_parameters(HistoryQuery),
    responses={
        200: HistoryOut,
        400: (None, "A bad key, window or bucket; or too much for one response (too_many_points, too_many_buckets)."),
        401: None,
        404: None,
        429: None,
    },
    other_content={200: CSV_CONTENT},
    security=["session", "apiToken"],
)
def device_history(device_id):
    device_id = devices.visible_device(current_user(), device_id).id
    query = _history_query()
    window = history.resolve_window(query.from_, query.to, query.bucket, now=now_ms(), fit=(device_id, query.key) if query.fit else None)
    if query.format == "json":
        return json_response(HistoryOut.of(history.read_history(device_id, query.key, window, points=query.points)))
    response = current_app.response_class(
        stream_with_context(history_export.csv_chunks(device_id, query.key, window)), mimetype="text/csv"
    )
    response.headers["Content-Disposition"] = f'attachment; filename="{history_export.csv_filename(device_id, query.key, window)}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def history_csv_url(device_id, key, start=None, end=None, bucket=None):
    """The download link of a key's history as CSV (`start`/`end` as the API takes them); for templates."""
    arguments = {"from": start, "to": end, "bucket": bucket}
    return url_for(
        "api.device_history",
        device_id=device_id,
        key=key,
        format="csv",
        **{name: value for name, value in arguments.items() if value is not None},
    )


@bp.record_once
def _offer_url_helper_to_templates(state):
    state.app.jinja_env.globals["history_csv_url"] = history_csv_url


def _history_query():
    try:
        return HistoryQuery.model_validate(request.args.to_dict())
    except ValidationError as exc:
        raise InvalidRequest(describe_validation_error(exc)) from None
