"""Graceful shutdown of a worker: what happens between SIGTERM and exit.

Told to stop, gunicorn's gevent worker closes its listening socket and waits
up to GRACEFUL_TIMEOUT for its connections to end, then cuts them. `begin`
(on SIGTERM, from gunicorn.conf.py) makes that wait short and cuts nothing
in flight: waiting long-polls answer at once (304 when nothing changed),
streams get the broker's shutdown event and end, kept-alive connections
waiting for their next request are closed, and every answer from then on
says `Connection: close` (http/stopping.py), and devices' MQTT messages stop being taken. Requests already in flight (a telemetry POST
waiting for its commit) finish as usual. `finish` (as the worker exits)
stores and announces whatever the ingest writer still holds.
"""
import fcntl
import socket
import struct
import termios

from webapp.services.ingest.writer import ingest_writer


class IdleConnections:
    """Kept-alive connections between two requests, which a stopping worker may close at no loss."""

    def __init__(self):
        self._idle = set()

    def handler_class(self, base):
        """gevent's pywsgi handler class `base`, noting when a connection waits for its next request line."""
        idle = self._idle

        class Handler(base):
            def read_requestline(self):
                idle.add(self)
                try:
                    return super().read_requestline()
                finally:
                    idle.discard(self)

        return Handler

    def close(self):
        for handler in list(self._idle):
            try:
                # A request that has arrived but that the handler has not read yet is not idle: gevent's
                # shutdown would cancel the waiting read and drop it unanswered. Its handler answers it,
                # with Connection: close.
                if _bytes_waiting(handler.socket):
                    continue
                # The waiting read sees the end of the stream, and the handler ends the connection.
                handler.socket.shutdown(socket.SHUT_RD)
            except OSError:
                pass


def _bytes_waiting(sock):
    return struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.FIONREAD, b"\0\0\0\0"))[0] > 0


def begin(app, idle_connections=None):
    app.extensions["broker"].shut_down()
    if idle_connections is not None:
        idle_connections.close()
    # Devices' MQTT messages in hand are stored and acknowledged; the broker redelivers the rest to the next worker.
    device_messages = app.extensions.get("mqtt_device_messages")
    if device_messages is not None:
        device_messages.stop()


def finish(app):
    ingest_writer(app).drain()
