"""While the worker stops, every answer says `Connection: close` (workers/shutdown.py says when it stops)."""


class CloseConnectionsWhenStopping:
    """WSGI middleware: once `stopping` is set, every answer says `Connection: close`
    (whatever answered it: a Flask view, an error, or the device fast path)."""

    def __init__(self, wsgi_app, stopping):
        self.wsgi_app = wsgi_app
        self.stopping = stopping

    def __call__(self, environ, start_response):
        def start_with_close(status, headers, exc_info=None):
            if self.stopping.is_set() and not any(name.lower() == "connection" for name, _ in headers):
                headers.append(("Connection", "close"))
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, start_with_close)
