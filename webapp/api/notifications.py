"""Routes for users: their notifications, and marking them read."""
from flask import request

from webapp.api.blueprint import bp
from webapp.auth.current_user import api_login_required, current_user
from webapp.http.openapi import operation
from webapp.http.query_args import bool_arg, int_arg
from webapp.http.replies import json_response
from webapp.http.request_body import parse_body
from webapp.schemas import NotificationListOut, NotificationOut, NotificationsReadIn, NotificationsReadOut
from webapp.services import notifications

USER_AUTH = ["session", "apiToken"]
MAX_LISTED = 200


@bp.get("/notifications")
@api_login_required
@operation(
    "Your notifications, newest first",
    tags=["notifications"],
    description="Live, they arrive as `notification` events on the dashboard's event stream.",
    parameters=[
        {"name": "unread", "in": "query", "required": False, "schema": {"type": "boolean"}},
        {"name": "limit", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LISTED, "default": 50}},
    ],
    responses={200: NotificationListOut, 400: None, 401: None, 429: None},
    security=USER_AUTH,
)
def list_notifications():
    user = current_user()
    listed = notifications.list_notifications(user, int_arg("limit", 50, 1, MAX_LISTED), unread_only=bool_arg("unread"))
    return json_response(NotificationListOut(notifications=[NotificationOut.of(n) for n in listed], unread_count=notifications.unread_count(user)))


@bp.post("/notifications/read")
@api_login_required
@operation(
    "Mark notifications read",
    tags=["notifications"],
    body=NotificationsReadIn,
    responses={200: NotificationsReadOut, 400: None, 401: None, 429: None},
    security=USER_AUTH,
)
def mark_notifications_read():
    user = current_user()
    body = parse_body(NotificationsReadIn, 64 * 1024, request.environ)
    marked = notifications.mark_read(user, body.ids)
    return json_response(NotificationsReadOut(marked=marked, unread_count=notifications.unread_count(user)))
