"""Prometheus metrics at /metrics: requests, latencies, ingested readings, online devices, connected streams,
and whether the database and Redis answer (docs/DEPLOYMENT.md lists them all and what to alert on).

Off unless METRICS_TOKEN is set (when the app starts); then scrapes send
`Authorization: Bearer <token>`. With several gunicorn workers, prometheus_client's multiprocess
mode sums the workers' counts: gunicorn.conf.py points
PROMETHEUS_MULTIPROC_DIR at a fresh directory before any worker starts.
"""
import hmac
import os

from flask import Blueprint, Response, current_app, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select

from webapp.core.errors import NotFound, Unauthorized
from webapp.core.metrics import LATENCY, READINGS, REQUESTS, STREAMS
from webapp.extensions import db
from webapp.http.rate_limiting import exempt
from webapp.models import Device
from webapp.services.platform.health import health_report

bp = exempt(Blueprint("monitoring", __name__))


class StateCollector:
    """Figures read at scrape time, so every worker reports the same truth; a scrape answers even
    while the database or Redis is down, saying so."""

    def __init__(self, app):
        self._app = app

    def collect(self):
        with self._app.app_context():
            report = health_report()
            online = None
            if report["database"] == "ok":
                online = db.session.scalar(select(func.count()).select_from(Device).where(Device.status == "online"))
            db.session.remove()
        yield GaugeMetricFamily("thingsnxt_database_up", "1 while the database answers, else 0", value=int(report["database"] == "ok"))
        if report["redis"] != "absent":
            yield GaugeMetricFamily("thingsnxt_redis_up", "1 while Redis (REDIS_URL) answers, else 0", value=int(report["redis"] == "ok"))
        if online is not None:
            yield GaugeMetricFamily("thingsnxt_devices_online", "Devices marked online", value=online)


@bp.get("/metrics")
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
    registry.register(StateCollector(current_app._get_current_object()))
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)
