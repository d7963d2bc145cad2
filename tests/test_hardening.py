"""Security headers, production settings, request ids and structured logs."""
import json

import pytest

from tests.conftest import settings_for_tests
from webapp import create_app


def test_every_answer_carries_the_security_headers(client, make_device):
    device = make_device()
    answers = [
        client.get("/health"),
        client.post(f"/devices/{device.id}/telemetry", json={"device_token": device.token, "data": {}}),
        client.get("/api/devices"),
    ]

    for answer in answers:
        policy = answer.headers["Content-Security-Policy"]
        assert "script-src 'self';" in policy
        assert "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert answer.headers["Referrer-Policy"] == "same-origin"


def test_production_refuses_the_default_secret_key(tmp_path):
    database = f"sqlite:///{tmp_path}/x.db"
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app({"ENVIRONMENT": "production", "DATABASE_URL": database, "REDIS_URL": ""})
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app({"ENVIRONMENT": "production", "SECRET_KEY": "short", "DATABASE_URL": database, "REDIS_URL": ""})


def test_production_starts_with_a_real_secret_key(tmp_path):
    app = create_app({"ENVIRONMENT": "production", "SECRET_KEY": "x" * 48, "DATABASE_URL": f"sqlite:///{tmp_path}/x.db", "REDIS_URL": ""})

    assert app.config["ENVIRONMENT"] == "production"


def test_request_id_is_kept_from_the_client_or_made(client):
    kept = client.get("/health", headers={"X-Request-ID": "abc-12345678"})
    made = client.get("/health")
    forged = client.get("/health", headers={"X-Request-ID": "<script>alert(1)</script>"})

    assert kept.headers["X-Request-ID"] == "abc-12345678"
    assert len(made.headers["X-Request-ID"]) == 32
    assert "<" not in forged.headers["X-Request-ID"]


@pytest.fixture
def logging_client(database_url):
    """A client of an app that logs every request (ACCESS_LOG is read when the app starts)."""
    app = create_app(settings_for_tests(database_url) | {"ACCESS_LOG": True})
    yield app.test_client()
    app.extensions["broker"].close()


def test_logs_are_json_lines_with_the_request_id(logging_client, make_device, capsys):
    device = make_device()
    logging_client.post(f"/devices/{device.id}/telemetry", json={"device_token": "wrong", "data": {}}, headers={"X-Request-ID": "req-abcdef123"})

    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    access = [line for line in lines if line["logger"] == "thingsnxt.access"]
    assert access and access[-1]["request_id"] == "req-abcdef123"
    assert access[-1]["status"] == 403 and access[-1]["path"].endswith("/telemetry")
    assert "wrong" not in json.dumps(lines)


def test_tokens_never_reach_the_logs(logging_client, make_device, capsys):
    device = make_device()
    logging_client.get("/telemetry/latest", query_string={"device_token": device.token})
    logging_client.post(f"/devices/{device.id}/telemetry", json={"device_token": device.token, "data": {"bad": [1]}})

    assert device.token not in capsys.readouterr().err
