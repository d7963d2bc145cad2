"""POST /devices/{id}/telemetry and the legacy POST /telemetry: success and every error status."""
import gzip

import orjson
import pytest

from webapp.schemas import LegacyTelemetryOut, TelemetryOut


def post_v2(client, device, data, token=None, **kwargs):
    body = {"device_token": device.token if token is None else token, "data": data}
    return client.post(f"/devices/{device.id}/telemetry", json=body, **kwargs)


def test_v2_accepts_reading_and_answers_with_current_state(client, make_device):
    device = make_device()

    response = post_v2(client, device, {"v0": 1, "temperature": 25.5, "label": "kitchen", "armed": True})

    assert response.status_code == 200
    body = TelemetryOut.model_validate(response.json)
    assert body.device_id == device.id
    assert response.json["data"] == {"v0": 1, "temperature": 25.5, "label": "kitchen", "armed": True}
    assert response.json["timestamp"].endswith("Z") and len(response.json["timestamp"]) == 24


def test_values_keep_their_json_types(client, make_device):
    device = make_device()
    post_v2(client, device, {"a": 1, "b": 1.0, "c": True, "d": "1"})

    data = client.get("/telemetry/latest", query_string={"device_token": device.token}).json["data"]

    assert data == {"a": 1, "b": 1.0, "c": True, "d": "1"}
    assert [type(data[k]) for k in "abcd"] == [int, float, bool, str]


def test_token_in_authorization_header(client, make_device):
    device = make_device()

    response = client.post(
        f"/devices/{device.id}/telemetry", json={"data": {"v1": 0}}, headers={"Authorization": f"Bearer {device.token}"}
    )

    assert response.status_code == 200


def test_missing_content_type_is_tolerated(client, make_device):
    device = make_device()
    raw = orjson.dumps({"device_token": device.token, "data": {"temperature": 21}})

    response = client.post(f"/devices/{device.id}/telemetry", data=raw, content_type="")

    assert response.status_code == 200
    assert response.json["data"]["temperature"] == 21


def test_gzip_body_is_accepted(client, make_device):
    device = make_device()
    raw = gzip.compress(orjson.dumps({"device_token": device.token, "data": {"humidity": 40}}))

    response = client.post(
        f"/devices/{device.id}/telemetry", data=raw, headers={"Content-Encoding": "gzip", "Content-Type": "application/json"}
    )

    assert response.status_code == 200
    assert response.json["data"]["humidity"] == 40


def test_legacy_endpoint_finds_device_by_token_and_reports_control_pins(client, make_device):
    device = make_device()
    client.put(f"/api/devices/{device.id}/pins/v1", json={"value": 1}, headers=device.owner.headers)

    response = client.post("/telemetry", json={"device_token": device.token, "data": {"v0": 1, "temperature": 20.5}})

    assert response.status_code == 200
    body = LegacyTelemetryOut.model_validate(response.json)
    assert body.device_id == device.id
    assert response.json["led_state"] == {"v1": 1}
    assert response.json["data"] == {"v0": 1, "v1": 1, "temperature": 20.5}


@pytest.mark.parametrize(
    "raw, expected_text",
    [
        (b"not json", "Invalid JSON"),
        (b"", "empty"),
        (b"[1, 2]", "object"),
        (b'{"device_token": "x"}', "data"),
        (b'{"data": {"v0": [1]}}', "data.v0"),
        (b'{"data": {"v0": {"a": 1}}}', "data.v0"),
        (b'{"data": {"v0": null}}', "data.v0"),
        (b'{"data": {"1abc": 1}}', "data.1abc"),
        (b'{"data": {"bad key": 1}}', "data.bad key"),
        (b'{"data": {"s": "' + b"x" * 257 + b'"}}', "data.s"),
        (b'{"data": {"v0": NaN}}', "data.v0"),
        (b'{"data": {"v0": 1e999}}', "data.v0"),
        (b'{"data": {}, "extra": 1}', "extra"),
    ],
)
def test_bad_bodies_are_400_naming_the_problem(client, make_device, raw, expected_text):
    device = make_device()

    response = client.post(f"/devices/{device.id}/telemetry", data=raw, headers={"Authorization": f"Bearer {device.token}"})

    assert response.status_code == 400
    assert response.json["error"] == "invalid_request"
    assert expected_text in response.json["message"]


def test_more_than_64_keys_is_400(client, make_device):
    device = make_device()

    response = post_v2(client, device, {f"k{i}": i for i in range(65)})

    assert response.status_code == 400
    assert "64" in response.json["message"]


def test_400_never_echoes_the_token(client, make_device):
    device = make_device()

    response = post_v2(client, device, {"v0": [1]})

    assert device.token not in response.get_data(as_text=True)


def test_400_comes_before_404(client):
    response = client.post("/devices/000000000000000000000000/telemetry", data=b"{")

    assert response.status_code == 400


def test_unknown_device_is_404(client, make_device):
    device = make_device()

    response = client.post("/devices/ffffffffffffffffffffffff/telemetry", json={"device_token": device.token, "data": {"v0": 1}})

    assert response.status_code == 404
    assert response.json["error"] == "not_found"


@pytest.mark.parametrize("token", ["", "wrong-token"])
def test_missing_or_wrong_token_is_403(client, make_device, token):
    device = make_device()

    response = post_v2(client, device, {"v0": 1}, token=token)

    assert response.status_code == 403
    assert response.json["error"] == "invalid_token"


def test_token_of_another_device_is_403(client, make_device):
    device, other = make_device(), make_device()

    response = post_v2(client, device, {"v0": 1}, token=other.token)

    assert response.status_code == 403


def test_legacy_with_wrong_token_is_403(client):
    response = client.post("/telemetry", json={"device_token": "nope", "data": {"v0": 1}})

    assert response.status_code == 403
    assert response.json["error"] == "invalid_token"


def test_body_over_16_kib_is_413(client, make_device):
    device = make_device()

    response = post_v2(client, device, {"s": "x" * 200, **{f"k{i}": "y" * 256 for i in range(63)}})

    assert response.status_code == 413
    assert response.json["error"] == "payload_too_large"


def test_gzip_bomb_is_413(client, make_device):
    device = make_device()
    raw = gzip.compress(b'{"data": {"s": "' + b" " * 1_000_000 + b'"}}')

    response = client.post(f"/devices/{device.id}/telemetry", data=raw, headers={"Content-Encoding": "gzip"})

    assert response.status_code == 413


def test_corrupt_gzip_is_400(client, make_device):
    device = make_device()

    response = client.post(f"/devices/{device.id}/telemetry", data=b"\x1f\x8bnot gzip", headers={"Content-Encoding": "gzip"})

    assert response.status_code == 400


def test_wrong_method_is_json_405(client, make_device):
    device = make_device()

    response = client.get(f"/devices/{device.id}/telemetry")

    assert response.status_code == 405
    assert response.json["error"] == "method_not_allowed"
    assert "POST" in response.headers["Allow"]


def test_failed_request_stores_nothing(client, make_device):
    device = make_device()
    post_v2(client, device, {"temperature": 20})

    post_v2(client, device, {"temperature": 99, "bad": [1]})
    post_v2(client, device, {"temperature": 98}, token="wrong")

    data = client.get("/telemetry/latest", query_string={"device_token": device.token}).json["data"]
    assert data == {"temperature": 20}
