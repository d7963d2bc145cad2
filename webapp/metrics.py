"""Prometheus metrics at /metrics: requests, latencies, ingested readings, online devices, connected streams.

Off unless METRICS_TOKEN is set (when the app starts); then scrapes send
`Authorization: Bearer <token>`. With several gunicorn workers, prometheus_client's multiprocess
mode sums the workers' counts: gunicorn.conf.py points
PROMETHEUS_MULTIPROC_DIR at a fresh directory before any worker starts.
"""
import contextlib
import hmac
import os
import time

from flask import Blueprint, Response, current_app, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select

from webapp.errors import NotFound, Unauthorized
from webapp.extensions import db
from webapp.models import Device
from webapp.rate_limiting import exempt

bp = Blueprint("metrics", __name__)

REQUESTS = Counter("thingsnxt_http_requests_total", "HTTP requests answered", ["method", "endpoint", "status"])
LATENCY = Histogram(
    "thingsnxt_http_request_duration_seconds",
    "Time to answer, by endpoint",
    ["endpoint"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 30),
)
READINGS = Counter("thingsnxt_readings_ingested_total", "Readings stored (one per key of a report)")
STREAMS = Gauge("thingsnxt_open_streams", "Open WebSocket and SSE connections", ["kind"], multiprocess_mode="livesum")


@contextlib.contextmanager
def open_stream(kind):
    """Count a WebSocket or SSE stream as open while it runs."""
    gauge = STREAMS.labels(kind)
    gauge.inc()
    try:
        yield
    finally:
        gauge.dec()


def open_streams():
    """How many streams this process has open."""
    return int(sum(sample.value for metric in STREAMS.collect() for sample in metric.samples))


class DatabaseCollector:
    """Figures read from the database at scrape time, so every worker reports the same truth."""

    def __init__(self, app):
        self._app = app

    def collect(self):
        with self._app.app_context():
            online = db.session.scalar(select(func.count()).select_from(Device).where(Device.status == "online"))
            db.session.remove()
        yield GaugeMetricFamily("thingsnxt_devices_online", "Devices marked online", value=online)


def init_app(app):
    app.register_blueprint(bp)
    if app.config["METRICS_TOKEN"]:
        _count_requests(app)


def _count_requests(app):
    """Per-request counts and latencies: only when /metrics is on (they cost ~14 µs a request)."""

    @app.before_request
    def start_timer():
        g.metrics_started = time.perf_counter()

    @app.after_request
    def count_request(response):
        started = g.get("metrics_started", time.perf_counter())
        observe_request(request.method, request.endpoint or "unmatched", response.status_code, time.perf_counter() - started)
        return response


# Labelled children are looked up once: .labels() costs as much again as .inc().
_counters, _timers = {}, {}


def observe_request(method, endpoint, status, seconds):
    key = (method, endpoint, status)
    counter = _counters.get(key) or _counters.setdefault(key, REQUESTS.labels(*key))
    timer = _timers.get(endpoint) or _timers.setdefault(endpoint, LATENCY.labels(endpoint))
    counter.inc()
    timer.observe(seconds)


@bp.get("/metrics")
@exempt
def scrape():
    token = current_app.config["METRICS_TOKEN"]
    if not token:
        raise NotFound("Metrics are off; set METRICS_TOKEN to turn them on.")
    offered = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not hmac.compare_digest(offered.encode(), token.encode()):
        raise Unauthorized("Send the metrics token as Authorization: Bearer.")
    registry = CollectorRegistry()
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        multiprocess.MultiProcessCollector(registry)
    else:
        for collector in (REQUESTS, LATENCY, READINGS, STREAMS):
            registry.register(collector)
    registry.register(DatabaseCollector(current_app._get_current_object()))
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)
