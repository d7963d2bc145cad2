"""What one client may hold of a worker: its connections, and the time it takes to send a request.

A gevent worker serves WORKER_CONNECTIONS connections at once and accepts no
more until one ends. Without limits a single client could hold them all by
opening connections and sending their requests a byte at a time (slowloris),
and `/health` and every device would wait behind it. So, per worker:

- a client address holds at most MAX_CONNECTIONS_PER_ADDRESS connections; one
  more is answered 503 and closed at once (not applied behind a proxy,
  TRUSTED_PROXIES > 0, where every connection has the proxy's address);
- a request line and its headers arrive within REQUEST_HEADER_TIMEOUT of the
  connection starting to wait for them (a kept-alive connection waiting for its
  next request included), however the bytes trickle in; else it is closed;
- a body arrives within REQUEST_BODY_TIMEOUT of its headers; else 408 and the
  connection is closed.

gunicorn.conf.py installs `handler_class` around gevent's pywsgi handler.
"""
import contextlib
import time

import gevent
from werkzeug.exceptions import RequestTimeout

_TOO_MANY = b"Too many connections from your address.\n"
_TOO_MANY_CONNECTIONS = (
    b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Type: text/plain\r\nRetry-After: 5\r\n"
    b"Content-Length: %d\r\n\r\n%s" % (len(_TOO_MANY), _TOO_MANY)
)
_HEAD_TIMED_OUT = b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"


class HeadTimedOut(ValueError):
    """The request line or headers did not arrive in time (a ValueError: gevent answers client errors)."""


def handler_class(base, max_per_address, header_timeout, body_timeout):
    """gevent's pywsgi handler class `base` with the limits above (`max_per_address` 0: no cap)."""
    open_connections = {}

    class Handler(base):
        _head_deadline = None

        def handle(self):
            address = self.client_address[0] if isinstance(self.client_address, tuple) else self.client_address
            held = open_connections.get(address, 0)
            if max_per_address and held >= max_per_address:
                _refuse(self.socket)
                return
            open_connections[address] = held + 1
            try:
                super().handle()
            finally:
                left = open_connections[address] - 1
                if left:
                    open_connections[address] = left
                else:
                    del open_connections[address]

        def read_requestline(self):
            self._head_deadline = time.monotonic() + header_timeout
            line = _within(header_timeout, super().read_requestline)
            # '' ends the connection, as when the client closes it.
            return "" if line is TIMED_OUT else line

        def read_request(self, raw_requestline):
            timed_out = HeadTimedOut(f"the request headers did not arrive within {header_timeout} s")
            remaining = self._head_deadline - time.monotonic()
            if remaining <= 0:
                raise timed_out
            with gevent.Timeout(remaining, timed_out):
                return super().read_request(raw_requestline)

        def _handle_client_error(self, ex):
            if isinstance(ex, HeadTimedOut):
                return ("408", _HEAD_TIMED_OUT)
            return super()._handle_client_error(ex)

        def get_environ(self):
            environ = super().get_environ()
            if environ["wsgi.input"] is self.wsgi_input:
                self.wsgi_input = environ["wsgi.input"] = BodyWithDeadline(self, self.wsgi_input, body_timeout)
            return environ

    return Handler


class BodyWithDeadline:
    """A request body (gevent's Input) that must arrive within `seconds`: reads past it raise RequestTimeout (408)."""

    def __init__(self, handler, body, seconds):
        self._handler = handler
        self._body = body
        self._seconds = seconds
        self._deadline = time.monotonic() + seconds
        self._timed_out = False

    def read(self, length=None):
        return self._within(self._body.read, length)

    def readline(self, size=None):
        return self._within(self._body.readline, size)

    def readlines(self, hint=None):
        return self._within(self._body.readlines, hint)

    def __iter__(self):
        return self

    def __next__(self):
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    def _discard(self):
        """What the application left unread, read (within the same deadline) so the connection can serve the next request."""
        if self._timed_out:
            return
        with contextlib.suppress(RequestTimeout):
            self._within(self._body._discard)

    def _within(self, read, *args):
        result = TIMED_OUT if self._timed_out else _within(self._deadline - time.monotonic(), read, *args)
        if result is TIMED_OUT:
            self._timed_out = True
            # The rest of the body may still be on its way: the connection cannot carry another request.
            self._handler.close_connection = True
            raise RequestTimeout(f"The request body did not arrive within {self._seconds} s.")
        return result


TIMED_OUT = object()


def _within(seconds, call, *args):
    """`call(*args)`, or TIMED_OUT when it takes longer than `seconds`."""
    if seconds <= 0:
        return TIMED_OUT
    timer = gevent.Timeout(seconds)
    timer.start()
    try:
        return call(*args)
    except gevent.Timeout as exc:
        if exc is not timer:
            raise
        return TIMED_OUT
    finally:
        timer.close()


def _refuse(sock):
    try:
        sock.sendall(_TOO_MANY_CONNECTIONS)
    except OSError:
        pass
    finally:
        sock.close()
