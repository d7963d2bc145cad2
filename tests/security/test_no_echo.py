"""Errors never echo what the caller sent (docs/SECURITY.md); an unknown Content-Encoding is 415, not read as identity."""
import gzip
import json

import pytest

HOSTILE = "<img src=x onerror=alert(1)>"


def message_of(response):
    return response.get_json()["message"]


def test_a_hostile_data_key_is_named_without_being_echoed(client, make_device):
    device = make_device()

    response = client.post(f"/devices/{device.id}/telemetry", json={"device_token": device.token, "data": {HOSTILE: 1}})

    assert response.status_code == 400
    assert "<img" not in message_of(response) and "onerror" not in message_of(response)
    assert message_of(response).startswith("data.")


@pytest.mark.parametrize(
    "path",
    [
        f"/api/devices/{HOSTILE}",
        f"/api/devices/{HOSTILE}/webhooks/1",
        f"/api/devices/{HOSTILE}/history?key=t",
        "/api/devices/" + "a" * 300,
    ],
)
def test_an_unknown_device_id_is_not_echoed(client, make_device, path):
    device = make_device()

    response = client.get(path, headers=device.owner.headers)

    assert response.status_code == 404
    assert "<img" not in message_of(response) and "aaaaaaaaaa" not in message_of(response)


def test_a_hostile_timestamp_or_history_argument_is_not_echoed(client, make_device):
    device = make_device()

    telemetry = client.post(f"/devices/{device.id}/telemetry", json={"device_token": device.token, "ts": HOSTILE, "data": {"t": 1}})
    history = client.get(f"/api/devices/{device.id}/history", query_string={"key": "t", "from": HOSTILE}, headers=device.owner.headers)
    bucket = client.get(f"/api/devices/{device.id}/history", query_string={"key": "t", "bucket": HOSTILE}, headers=device.owner.headers)

    for response in (telemetry, history, bucket):
        assert response.status_code == 400
        assert "<img" not in message_of(response)


def test_a_harmless_short_value_is_still_quoted_to_help(client, make_device):
    device = make_device()

    response = client.get(f"/api/devices/{device.id}/history", query_string={"key": "t", "bucket": "7x"}, headers=device.owner.headers)

    assert response.status_code == 400 and "'7x'" in message_of(response)


@pytest.mark.parametrize("encoding", ["br", "deflate", "compress", "zstd"])
def test_a_content_encoding_other_than_gzip_is_415(app, client, make_device, encoding):
    device = make_device()
    body = json.dumps({"device_token": device.token, "data": {"t": 1}}).encode()

    response = client.post(f"/devices/{device.id}/telemetry", data=body, content_type="application/json", headers={"Content-Encoding": encoding})

    assert response.status_code == 415 and response.get_json()["error"] == "unsupported_media_type"
    latest = client.get("/telemetry/latest", query_string={"device_token": device.token}).get_json()
    assert "t" not in latest["data"], "nothing is stored from a body the server cannot decode"


def test_gzip_and_identity_bodies_are_still_accepted(client, make_device):
    device = make_device()
    body = json.dumps({"device_token": device.token, "data": {"t": 1}}).encode()

    gzipped = client.post(f"/devices/{device.id}/telemetry", data=gzip.compress(body), content_type="application/json", headers={"Content-Encoding": "gzip"})
    identity = client.post(f"/devices/{device.id}/telemetry", data=body, content_type="application/json", headers={"Content-Encoding": "identity"})

    assert gzipped.status_code == 200 and identity.status_code == 200
