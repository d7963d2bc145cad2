"""/events: the user's notifications as Server-Sent Events (htmx sse extension).

Channel `user:<id>` only, so it never carries another user's device. Events:
`notification` (a toast and the unread counter, swapped out of band on
every page), `notification-item` (a row for the notifications page),
`notification-muted` (its "N more while muted" when the cooldown swallows a repeat) and
`notification-grouped` (a summary's new count and names when more devices fold into it).
First the current counter, so a reconnected page is right again. A comment
line every LIVE_HEARTBEAT_SECONDS notices a peer that is gone; the browser
reconnects by itself. Logging out ends the stream: the browser's reconnect
is then refused (401), and EventSource does not retry after that.
"""
from flask import Response, current_app, g, stream_with_context

from webapp.auth.current_user import current_user
from webapp.core import metrics
from webapp.dashboard import live
from webapp.extensions import db
from webapp.pubsub.broker import SHUTDOWN_CHANNEL, current_broker
from webapp.pubsub.channels import user_channel
from webapp.realtime.streams import bp
from webapp.services import events

RECONNECT_AFTER_MS = 2000


@bp.get("/events")
def notification_stream():
    user_id = current_user().id
    db.session.remove()
    heartbeat = current_app.config["LIVE_HEARTBEAT_SECONDS"]
    # Connection: close, so that a stream ended by a stopping worker does not leave an idle keep-alive behind.
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no", "Connection": "close"}
    return Response(stream_with_context(_stream(user_id, g.live_login, heartbeat)), mimetype="text/event-stream", headers=headers)


def _stream(user_id, login_id, heartbeat):
    with current_broker().subscribe([user_channel(user_id)]) as subscription, metrics.open_stream("sse"):
        yield f"retry: {RECONNECT_AFTER_MS}\n\n"
        counter = live.unread_counter(user_id)
        db.session.remove()
        yield _event("notification", counter)
        while True:
            message = subscription.get(timeout=heartbeat)
            if message is None:
                yield ": heartbeat\n\n"
                continue
            channel, event = message
            if channel == SHUTDOWN_CHANNEL or events.ends_stream_of(event, login_id):
                return
            if event.get("type") == "notification":
                toast, item = live.render_notification(user_id, event)
                db.session.remove()
                yield _event("notification", toast) + _event("notification-item", item)
            elif event.get("type") == "notification_muted":
                yield _event("notification-muted", live.render_muted(event))
            elif event.get("type") == "notification_grouped":
                yield _event("notification-grouped", live.render_grouped(event))


def _event(name, html):
    data = "".join(f"data: {line}\n" for line in html.strip().splitlines() or [""])
    return f"event: {name}\n{data}\n"
