"""/ws: a dashboard's WebSocket (htmx ws extension).

Down: HTML fragments that htmx swaps out of band, for changes of the
devices the stream follows (all the user may see, or one with
`?device=<id>` on a device page); first a snapshot, so a reconnected page
is current. Up: switch toggles (`ws-send`), `{"widget_id", "value",
"HEADERS": {"X-CSRF-Token"}}`.

The loop waits on the broker with no database connection held; a reader
thread hands it the client's messages and its disconnect. simple-websocket
pings every LIVE_HEARTBEAT_SECONDS and drops a peer that stops answering.
"""
import threading

from flask import current_app, g
from simple_websocket import ConnectionClosed

from webapp.dashboard.live import LiveView
from webapp.extensions import db, sock
from webapp.realtime import events
from webapp.realtime.routes import bp
from webapp.realtime.streams import LOCAL

CLIENT = "client"
# The htmx ws extension reconnects after close codes 1006, 1011, 1012 and 1013.
SERVICE_RESTART = 1012
CLOSING_HANDSHAKE_SECONDS = 2


@sock.route("/ws", bp=bp)
def dashboard_socket(ws):
    scope = g.live_scope
    with current_app.extensions["live_streams"].open(events.broker().subscribe(scope.channels)) as subscription:
        view = LiveView(scope)
        snapshot = view.snapshot()
        db.session.remove()
        ws.send(snapshot)
        threading.Thread(target=_forward_client_messages, args=(ws, subscription), name="ws-reader", daemon=True).start()
        while True:
            channel, event = subscription.get(timeout=None)
            kind = event.get("type")
            if channel == CLIENT and kind == "closed":
                return
            if (channel == LOCAL and kind == "shutdown") or kind == "devices":
                # Reconnecting picks up the new set of devices, or another worker.
                _close(ws, SERVICE_RESTART, "reconnect")
                return
            html = view.handle_message(event["text"]) if channel == CLIENT else view.render(event)
            db.session.remove()
            if html:
                ws.send(html)


def _close(ws, code, reason):
    ws.close(code, reason)
    # Let simple-websocket's reader take the browser's closing reply; else the server
    # (gevent pywsgi) may read it as the next HTTP request on the connection.
    ws.thread.join(CLOSING_HANDSHAKE_SECONDS)


def _forward_client_messages(ws, subscription):
    try:
        while True:
            text = ws.receive()
            if text is not None:
                subscription.deliver(CLIENT, {"type": "message", "text": text})
    except ConnectionClosed:
        pass
    finally:
        subscription.deliver(CLIENT, {"type": "closed"})
