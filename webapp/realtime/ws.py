"""/ws: a dashboard's WebSocket (htmx ws extension).

Down: HTML fragments that htmx swaps out of band, for changes of the
devices the stream follows (all the user may see, or one with
`?device=<id>` on a device page); first a snapshot, so a reconnected page
is current. Logging out closes it with LOGGED_OUT, after which htmx does
not reconnect and the page (app.js) goes to the login form. Up: switch
toggles (`ws-send`), `{"widget_id", "value", "HEADERS": {"X-CSRF-Token"}}`.

The loop waits on the broker with no database connection held. The
client's messages and its disconnect reach the same wait: simple-websocket's
own reader thread signals them through its event, which here (ClientSignal,
client_signal.py, installed as SOCK_SERVER_OPTIONS' event_class) also drops
a note into the subscription — rather than a second reader thread per
connection, about 11 KiB each. simple-websocket pings every
LIVE_HEARTBEAT_SECONDS and drops a peer that stops answering.

One event goes to every open dashboard of its devices with the same
fragment, so its WebSocket frame is built once (`_text_frame`) and written
to each socket as is: building it per socket (wsproto, in Python) was
9% of the worker's time in a fan-out to 1,000 dashboards.
"""
import functools

from flask import g
from simple_websocket import ConnectionClosed

from webapp.core import metrics
from webapp.dashboard.live import LiveView
from webapp.extensions import db, sock
from webapp.pubsub.broker import SHUTDOWN_CHANNEL, current_broker
from webapp.realtime.client_signal import CLIENT
from webapp.realtime.streams import bp
from webapp.services import events

# The htmx ws extension reconnects after close codes 1006, 1011, 1012 and 1013.
SERVICE_RESTART = 1012
# A private-use close code (RFC 6455 §7.4.2), named after HTTP's 401.
LOGGED_OUT = 4401
CLOSING_HANDSHAKE_SECONDS = 2


@sock.route("/ws", bp=bp)
def dashboard_socket(ws):
    scope, login_id = g.live_scope, g.live_login
    with current_broker().subscribe(scope.channels) as subscription, metrics.open_stream("websocket"):
        view = LiveView(scope)
        snapshot = view.snapshot()
        db.session.remove()
        _send(ws, snapshot)
        ws.event.notify(subscription)
        while True:
            channel, event = subscription.get(timeout=None)
            kind = event.get("type")
            if channel == SHUTDOWN_CHANNEL or kind == "devices":
                # Reconnecting picks up the new set of devices, or another worker.
                _close(ws, SERVICE_RESTART, "reconnect")
                return
            if events.ends_stream_of(event, login_id):
                _close(ws, LOGGED_OUT, "logged out")
                return
            try:
                replies = [view.handle_message(text) for text in _waiting_messages(ws)] if channel == CLIENT else [view.render(event)]
            except ConnectionClosed:
                return
            db.session.remove()
            for html in replies:
                if html:
                    _send(ws, html)


def _send(ws, html):
    if not ws.connected:
        raise ConnectionClosed(ws.close_reason, ws.close_message)
    ws.sock.sendall(_text_frame(html))


@functools.lru_cache(maxsize=64)
def _text_frame(html):
    """A final, unmasked text frame (RFC 6455 §5.2), as a server sends one; no extension is
    negotiated (permessage-deflate is declined), so the payload is the text as is."""
    payload = html.encode()
    if len(payload) < 126:
        header = bytes((0x81, len(payload)))
    elif len(payload) < 1 << 16:
        header = bytes((0x81, 126)) + len(payload).to_bytes(2, "big")
    else:
        header = bytes((0x81, 127)) + len(payload).to_bytes(8, "big")
    return header + payload


def _close(ws, code, reason):
    ws.close(code, reason)
    # Let simple-websocket's reader take the browser's closing reply; else the server
    # (gevent pywsgi) may read it as the next HTTP request on the connection.
    ws.thread.join(CLOSING_HANDSHAKE_SECONDS)


def _waiting_messages(ws):
    """The client's messages received so far; ConnectionClosed once it has gone."""
    messages = []
    while (text := ws.receive(timeout=0)) is not None:
        messages.append(text)
    return messages

