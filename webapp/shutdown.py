"""Graceful shutdown of a worker: what happens between SIGTERM and exit.

Told to stop, gunicorn's gevent worker closes its listening socket and waits
up to GRACEFUL_TIMEOUT for the requests it is handling, then cuts them.
`begin` (on SIGTERM, from gunicorn.conf.py) keeps that wait short and
nothing cut: waiting long-polls answer at once (304 when nothing changed),
streams get the broker's shutdown event and end, and every answer from then
on says `Connection: close`, so kept-alive connections do not hold the
worker. Requests already in flight (a telemetry POST waiting for its commit)
finish as usual. `finish` (as the worker exits) stores and announces
whatever the ingest writer still holds.
"""
from webapp.services.ingest_writer import ingest_writer


def init_app(app):
    broker = app.extensions["broker"]

    @app.after_request
    def close_connections_when_stopping(response):
        if broker.stopping.is_set():
            response.headers["Connection"] = "close"
        return response


def begin(app):
    app.extensions["broker"].shut_down()


def finish(app):
    ingest_writer(app).drain()
