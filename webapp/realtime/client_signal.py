"""How a WebSocket's own messages reach the loop that waits on its broker subscription (realtime/ws.py)."""
import threading

# The channel name under which a stream's subscription hears from its own client.
CLIENT = "client"


class ClientSignal(threading.Event):
    """simple-websocket's "something arrived" event, which also notes it in a subscription.

    simple-websocket sets it from its reader thread when a message or the
    close arrives; `notify` points it at the stream's subscription.
    """

    _subscription = None

    def notify(self, subscription):
        self._subscription = subscription
        if self.is_set():
            subscription.deliver(CLIENT, {"type": "message"})

    def set(self):
        super().set()
        if self._subscription is not None:
            self._subscription.deliver(CLIENT, {"type": "message"})
