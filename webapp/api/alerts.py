"""A device's alert rules and its history of alerts raised and cleared, for its owner."""
from flask import request

from webapp.api.blueprint import bp
from webapp.auth.current_user import api_login_required, current_user
from webapp.http.openapi import operation
from webapp.http.query_args import int_arg
from webapp.http.replies import json_response
from webapp.http.request_body import parse_body
from webapp.schemas import AlertEventOut, AlertHistoryOut, AlertRuleIn, AlertRuleListOut, AlertRuleOut
from webapp.services.alerts import rules as alerts

MAX_BODY = 16 * 1024
USER_AUTH = ["session", "apiToken"]
OWNER_ERRORS = {401: None, 404: None, 429: None}
MAX_HISTORY = 200


@bp.post("/devices/<device_id>/alerts")
@api_login_required
@operation(
    "Add an alert rule to a device",
    tags=["alerts"],
    description=(
        "Raised when a reading of `key` meets the condition (for at least `for_seconds`), cleared when one no longer does; "
        "`no_data` is raised when the key has sent nothing for `for_seconds`. Each raise and clear notifies the owner "
        "(with the notification cooldown) and sends the `alert_raised` / `alert_cleared` webhook event. See docs/ALERTS.md."
    ),
    body=AlertRuleIn,
    responses={201: AlertRuleOut, 400: None, 413: None, **OWNER_ERRORS},
    security=USER_AUTH,
)
def create_alert_rule(device_id):
    spec = parse_body(AlertRuleIn, MAX_BODY, request.environ)
    return json_response(AlertRuleOut.of(alerts.add_rule(current_user(), device_id, spec)), 201)


@bp.get("/devices/<device_id>/alerts")
@api_login_required
@operation("A device's alert rules and their state", tags=["alerts"], responses={200: AlertRuleListOut, **OWNER_ERRORS}, security=USER_AUTH)
def list_alert_rules(device_id):
    return json_response(AlertRuleListOut(rules=[AlertRuleOut.of(rule) for rule in alerts.device_rules(current_user(), device_id)]))


@bp.delete("/devices/<device_id>/alerts/<int:rule_id>")
@api_login_required
@operation(
    "Delete an alert rule",
    tags=["alerts"],
    description="An alert it had raised ends without a clear; its history stays.",
    responses={204: None, **OWNER_ERRORS},
    security=USER_AUTH,
)
def delete_alert_rule(device_id, rule_id):
    alerts.remove_rule(current_user(), device_id, rule_id)
    return "", 204


@bp.get("/devices/<device_id>/alerts/history")
@api_login_required
@operation(
    "Alerts raised and cleared on a device, newest first",
    tags=["alerts"],
    parameters=[{"name": "limit", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 1, "maximum": MAX_HISTORY, "default": 50}}],
    responses={200: AlertHistoryOut, 400: None, **OWNER_ERRORS},
    security=USER_AUTH,
)
def alert_history(device_id):
    found = alerts.history(current_user(), device_id, int_arg("limit", alerts.HISTORY_LIMIT, 1, MAX_HISTORY))
    return json_response(AlertHistoryOut(events=[AlertEventOut.of(event) for event in found]))
