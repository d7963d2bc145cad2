"""What the server counts for Prometheus: requests, latencies, ingested readings, open streams.

The figures are process-wide prometheus_client objects; monitoring/ serves them at /metrics.
"""
import contextlib

from prometheus_client import Counter, Gauge, Histogram

REQUESTS = Counter("thingsnxt_http_requests_total", "HTTP requests answered", ["method", "endpoint", "status"])
LATENCY = Histogram(
    "thingsnxt_http_request_duration_seconds",
    "Time to answer, by endpoint",
    ["endpoint"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 30),
)
READINGS = Counter("thingsnxt_readings_ingested_total", "Readings stored (one per key of a report)")
LOGINS = Counter("thingsnxt_logins_total", "Login attempts by outcome: success, failure (wrong email or password), delayed (refused during the account's wait)", ["outcome"])
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


# Labelled children are looked up once: .labels() costs as much again as .inc().
_counters, _timers = {}, {}


def observe_request(method, endpoint, status, seconds):
    key = (method, endpoint, status)
    counter = _counters.get(key) or _counters.setdefault(key, REQUESTS.labels(*key))
    timer = _timers.get(endpoint) or _timers.setdefault(endpoint, LATENCY.labels(endpoint))
    counter.inc()
    timer.observe(seconds)


def count_login(outcome):
    LOGINS.labels(outcome).inc()
