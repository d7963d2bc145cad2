"""The dashboard's live streams, for logged-in users only: /ws (ws.py) and /events (sse.py)."""
from webapp.realtime import sse, ws  # noqa: F401  (their routes register on bp)
from webapp.realtime.client_signal import ClientSignal
from webapp.realtime.streams import bp

MAX_MESSAGE_BYTES = 16 * 1024


def init_app(app):
    # simple-websocket pings every heartbeat and closes a connection whose pong does not come back.
    app.config.setdefault(
        "SOCK_SERVER_OPTIONS",
        {"ping_interval": app.config["LIVE_HEARTBEAT_SECONDS"], "max_message_size": MAX_MESSAGE_BYTES, "event_class": ClientSignal},
    )
    app.register_blueprint(bp)

