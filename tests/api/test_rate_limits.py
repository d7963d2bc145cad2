"""Rate limits: per device on device routes, per address elsewhere, exemptions, Retry-After."""
import os
import time
import uuid

import flask_migrate
import pytest

from tests.conftest import settings_for_tests
from webapp import create_app


@pytest.fixture
def limited_app(database_url):
    """An app on the test database with small limits: 3 per device, 5 per address."""
    app = create_app(settings_for_tests(database_url) | {"RATELIMIT_DEVICE": "3 per 60 seconds", "RATELIMIT_DEFAULT": "5 per 60 seconds"})
    with app.app_context():
        flask_migrate.upgrade()
    yield app
    app.extensions["broker"].close()


def post(client, device, addr="192.0.2.1"):
    return client.post(
        f"/devices/{device.id}/telemetry", json={"device_token": device.token, "data": {"v0": 1}}, environ_base={"REMOTE_ADDR": addr}
    )


def test_device_over_its_limit_gets_429_with_retry_after(limited_app, make_device):
    client, device = limited_app.test_client(), make_device()

    statuses = [post(client, device).status_code for _ in range(4)]
    refused = post(client, device)

    assert statuses == [200, 200, 200, 429]
    assert refused.json["error"] == "rate_limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60


def test_devices_behind_one_address_do_not_starve_each_other(limited_app, make_device):
    client = limited_app.test_client()
    first, second = make_device(), make_device()

    for _ in range(3):
        post(client, first, addr="198.51.100.7")

    assert post(client, first, addr="198.51.100.7").status_code == 429
    assert post(client, second, addr="198.51.100.7").status_code == 200


def test_polling_counts_toward_the_device_limit(limited_app, make_device):
    client, device = limited_app.test_client(), make_device()

    statuses = [client.get("/telemetry/latest", query_string={"device_token": device.token}).status_code for _ in range(4)]

    assert statuses == [200, 200, 200, 429]


def test_rule_denial_takes_precedence_over_429(limited_app, make_device):
    client, device = limited_app.test_client(), make_device()
    client.patch(f"/api/devices/{device.id}", json={"disabled": True}, headers=device.owner.headers)

    statuses = [post(client, device).status_code for _ in range(5)]

    assert statuses == [403] * 5


def test_api_routes_are_limited_per_address(limited_app, make_user):
    client, user = limited_app.test_client(), make_user()

    statuses = [client.get("/api/devices", headers=user.headers, environ_base={"REMOTE_ADDR": "203.0.113.5"}).status_code for _ in range(6)]
    other_address = client.get("/api/devices", headers=user.headers, environ_base={"REMOTE_ADDR": "203.0.113.6"})

    assert statuses == [200] * 5 + [429]
    assert other_address.status_code == 200


def test_limited_api_answer_is_json_with_retry_after(limited_app, make_user):
    client, user = limited_app.test_client(), make_user()
    for _ in range(5):
        client.get("/api/devices", headers=user.headers, environ_base={"REMOTE_ADDR": "203.0.113.8"})

    refused = client.get("/api/devices", headers=user.headers, environ_base={"REMOTE_ADDR": "203.0.113.8"})

    assert refused.status_code == 429
    assert refused.json["error"] == "rate_limited"
    assert int(refused.headers["Retry-After"]) >= 1


@pytest.mark.parametrize("path", ["/health", "/openapi.json", "/docs", "/redoc", "/static/apidocs/swagger-init.js"])
def test_exempt_paths_are_never_limited(limited_app, path):
    client = limited_app.test_client()

    statuses = {client.get(path, environ_base={"REMOTE_ADDR": "203.0.113.99"}).status_code for _ in range(8)}

    assert statuses == {200}


def test_forwarded_for_is_ignored_without_trusted_proxies(limited_app, make_user):
    client, user = limited_app.test_client(), make_user()

    statuses = [
        client.get("/api/devices", headers={**user.headers, "X-Forwarded-For": f"10.0.0.{i}"}, environ_base={"REMOTE_ADDR": "203.0.113.20"}).status_code
        for i in range(6)
    ]

    assert statuses[-1] == 429


def test_forwarded_for_is_used_behind_a_trusted_proxy(database_url, make_user):
    app = create_app(settings_for_tests(database_url) | {"RATELIMIT_DEFAULT": "2 per 60 seconds", "TRUSTED_PROXIES": 1})
    client, user = app.test_client(), make_user()

    statuses = [
        client.get("/api/devices", headers={**user.headers, "X-Forwarded-For": f"spoofed, 10.1.0.{i}"}, environ_base={"REMOTE_ADDR": "127.0.0.1"}).status_code
        for i in range(3)
    ]

    assert statuses == [200, 200, 200]
    app.extensions["broker"].close()


def test_limits_keep_counting_in_the_worker_when_redis_is_down(caplog):
    from limits import parse
    from limits.storage import storage_from_string

    from webapp.core.rate_limits import RateCounter

    # Nothing listens on port 9.
    counter = RateCounter(storage_from_string("redis://127.0.0.1:9/0", socket_timeout=1, socket_connect_timeout=1), "p")
    limit = parse("2 per 60 seconds")

    results = [counter.hit(limit, "device", "d1")[0] for _ in range(3)]

    assert results == [True, True, False]
    assert counter.redis_down
    assert "Redis unreachable" in caplog.text


def test_failed_token_attempts_from_one_address_are_throttled(database_url, make_device):
    app = create_app(settings_for_tests(database_url) | {"RATELIMIT_AUTH_FAILURES": "3 per 60 seconds"})
    client, device = app.test_client(), make_device()

    guesses = [
        client.post(f"/devices/{device.id}/telemetry", json={"device_token": f"guess-{i}", "data": {}}, environ_base={"REMOTE_ADDR": "203.0.113.66"}).status_code
        for i in range(5)
    ]
    honest = client.post(f"/devices/{device.id}/telemetry", json={"device_token": device.token, "data": {}}, environ_base={"REMOTE_ADDR": "203.0.113.67"})

    assert guesses == [403, 403, 403, 429, 429]
    assert honest.status_code == 200
    app.extensions["broker"].close()


@pytest.mark.parametrize(
    "storage_uri",
    [
        "process-memory://",
        pytest.param(
            os.environ.get("REDIS_URL"), marks=pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="REDIS_URL is not set (CI runs the suite again with Redis)")
        ),
    ],
)
def test_requests_counted_together_count_as_one_by_one(storage_uri):
    from limits import parse
    from limits.storage import storage_from_string

    from webapp.core.rate_limits import RateCounter

    # MQTT admits what a handler took at once (with Redis in one round trip); a device may be in it more than once.
    counter = RateCounter(storage_from_string(storage_uri), f"p-{uuid.uuid4().hex[:8]}:")
    limit = parse("2 per 60 seconds")

    together = counter.hit_many(limit, "device", ["d1", "d2", "d1", "d1", "d2"])

    assert [within for within, _ in together] == [True, True, True, False, True]
    assert 0 < together[3][1] - time.time() <= 60
    assert counter.hit(limit, "device", "d2")[0] is False
