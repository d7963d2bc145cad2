"""The live streams open in this process, so that a stopping worker can end them at once.

gunicorn lets a stopping worker finish its open requests (up to
graceful_timeout) before it exits; a dashboard's stream never finishes by
itself. Ending them at once lets the worker go, and the browsers reconnect
to whichever worker serves next (see webapp/background.py).
"""
import contextlib
import threading

LOCAL = "local"
SHUTDOWN = {"type": "shutdown"}


class LiveStreams:
    def __init__(self):
        self._lock = threading.Lock()
        self._open = set()
        self._stopping = False

    @contextlib.contextmanager
    def open(self, subscription):
        """Register a stream's subscription while it runs; closes it at the end."""
        with self._lock:
            self._open.add(subscription)
            stopping = self._stopping
        if stopping:
            subscription.deliver(LOCAL, SHUTDOWN)
        try:
            yield subscription
        finally:
            with self._lock:
                self._open.discard(subscription)
            subscription.close()

    def count(self):
        with self._lock:
            return len(self._open)

    def end_all(self):
        """Tell every open stream, and every stream opened from now on, to end."""
        with self._lock:
            self._stopping = True
            open_now = tuple(self._open)
        for subscription in open_now:
            subscription.deliver(LOCAL, SHUTDOWN)
