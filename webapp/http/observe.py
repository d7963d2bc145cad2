"""Each answered request counted (/metrics) and logged (ACCESS_LOG), the same on both ways in.

Flask's dispatch calls `observe` from its request hooks; the device fast
path (device_api/fast_path.py) calls it itself. Both settings are read when
the app starts; with neither on, requests pay nothing here.
"""
import time

from flask import g, request

from webapp.core import metrics
from webapp.http import request_log


def observe(config, method, endpoint, path, status, seconds):
    if config["METRICS_TOKEN"]:
        metrics.observe_request(method, endpoint, status, seconds)
    if config["ACCESS_LOG"]:
        request_log.log_access(method, path, status, seconds)


def init_app(app):
    if not (app.config["METRICS_TOKEN"] or app.config["ACCESS_LOG"]):
        return

    @app.before_request
    def start_timer():
        g.request_started = time.perf_counter()

    @app.after_request
    def observe_response(response):
        seconds = time.perf_counter() - g.get("request_started", time.perf_counter())
        observe(app.config, request.method, request.endpoint or "unmatched", request.path, response.status_code, seconds)
        return response
