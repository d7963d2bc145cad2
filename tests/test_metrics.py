"""/metrics: off by default, guarded by its token, and summed over every gunicorn worker."""
import os
import re

import pytest
import requests

from tests.conftest import settings_for_tests
from tests.live_server import free_port as next_free_port
from webapp import create_app
from webapp.services.ingest.writer import ingest_writer


def metric(text, name):
    """The sum of a metric's samples in a Prometheus text exposition."""
    return sum(float(value) for value in re.findall(rf"^{name}(?:{{[^}}]*}})? ([0-9.e+]+)$", text, re.M))


def test_metrics_are_off_without_a_token(client):
    assert client.get("/metrics").status_code == 404


def test_metrics_need_the_token(database_url, make_device):
    app = create_app(settings_for_tests(database_url) | {"METRICS_TOKEN": "scrape-secret"})
    client = app.test_client()
    device = make_device()
    client.post(f"/devices/{device.id}/telemetry", json={"device_token": device.token, "data": {"a": 1, "b": 2}})
    ingest_writer(app).drain()
    refused = client.get("/metrics", headers={"Authorization": "Bearer guess"})
    scraped = client.get("/metrics", headers={"Authorization": "Bearer scrape-secret"})
    app.extensions["broker"].close()

    assert refused.status_code == 401
    text = scraped.get_data(as_text=True)
    assert metric(text, "thingsnxt_readings_ingested_total") >= 2
    assert metric(text, "thingsnxt_devices_online") >= 1
    assert 'endpoint="device_api.post_telemetry"' in text
    assert metric(text, "thingsnxt_database_up") == 1
    if os.environ.get("REDIS_URL"):
        assert metric(text, "thingsnxt_redis_up") == 1
    else:
        assert "thingsnxt_redis_up" not in text


def test_metrics_say_when_the_database_and_redis_are_down():
    # Nothing listens on these ports: as when both servers are down.
    app = create_app(
        settings_for_tests(f"postgresql://postgres@127.0.0.1:{next_free_port()}/gone")
        | {"REDIS_URL": f"redis://127.0.0.1:{next_free_port()}/0", "REDIS_TIMEOUT": 1, "METRICS_TOKEN": "scrape-secret"}
    )
    scraped = app.test_client().get("/metrics", headers={"Authorization": "Bearer scrape-secret"})
    app.extensions["broker"].close()

    assert scraped.status_code == 200
    text = scraped.get_data(as_text=True)
    assert metric(text, "thingsnxt_database_up") == 0
    assert metric(text, "thingsnxt_redis_up") == 0
    assert "thingsnxt_devices_online" not in text


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="two workers need REDIS_URL (CI runs the suite again with Redis)")
def test_metrics_sum_every_worker(live_server_factory):
    server = live_server_factory(workers=2, METRICS_TOKEN="scrape-secret")
    device = server.create_device()
    for number in range(40):
        # A new connection each time, so that both workers get some.
        posted = requests.post(
            f"{server.url}/devices/{device['device_id']}/telemetry", json={"device_token": device["device_token"], "data": {"n": number}}, timeout=10
        )
        assert posted.ok
    text = requests.get(f"{server.url}/metrics", headers={"Authorization": "Bearer scrape-secret"}, timeout=10).text

    posts = re.findall(r'^thingsnxt_http_requests_total\{[^}]*endpoint="device_api.post_telemetry"[^}]*status="200"[^}]*\} ([0-9.e+]+)$', text, re.M)
    assert sum(float(count) for count in posts) == 40
    assert metric(text, "thingsnxt_readings_ingested_total") == 40
