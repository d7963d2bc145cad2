"""GET /telemetry/latest: current state, ETag/304, and the wait= long-poll."""
import threading

import pytest

from webapp.schemas import LatestOut


def latest(client, device, headers=None, **params):
    return client.get("/telemetry/latest", query_string={"device_token": device.token, **params}, headers=headers or {})


def test_latest_returns_state_with_etag(client, make_device):
    device = make_device()
    client.post(f"/devices/{device.id}/telemetry", json={"device_token": device.token, "data": {"v0": 1}})

    response = latest(client, device)

    assert response.status_code == 200
    assert LatestOut.model_validate(response.json).data == {"v0": 1}
    assert response.headers["ETag"]


def test_latest_before_any_reading_is_empty_with_null_timestamp(client, make_device):
    device = make_device()

    response = latest(client, device)

    assert response.json == {"device_id": device.id, "data": {}, "timestamp": None}


def test_token_in_header(client, make_device):
    device = make_device()

    response = client.get("/telemetry/latest", headers={"Authorization": f"Bearer {device.token}"})

    assert response.status_code == 200
    assert response.json["device_id"] == device.id


@pytest.mark.parametrize("params", [{}, {"device_token": "wrong"}])
def test_missing_or_wrong_token_is_403(client, params):
    response = client.get("/telemetry/latest", query_string=params)

    assert response.status_code == 403
    assert response.json["error"] == "invalid_token"


def test_if_none_match_gives_304_until_state_changes(client, make_device):
    device = make_device()
    etag = latest(client, device).headers["ETag"]

    unchanged = latest(client, device, headers={"If-None-Match": etag})
    client.post(f"/devices/{device.id}/telemetry", json={"device_token": device.token, "data": {"v0": 1}})
    changed = latest(client, device, headers={"If-None-Match": etag})

    assert unchanged.status_code == 304
    assert unchanged.headers["ETag"] == etag
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag


def test_same_report_again_keeps_the_etag(client, make_device):
    device = make_device()
    client.post(f"/devices/{device.id}/telemetry", json={"device_token": device.token, "data": {"v0": 1}})
    etag = latest(client, device).headers["ETag"]

    client.post(f"/devices/{device.id}/telemetry", json={"device_token": device.token, "data": {"v0": 1}})

    assert latest(client, device, headers={"If-None-Match": etag}).status_code == 304


@pytest.mark.parametrize("wait", ["-1", "31", "soon", "1.5"])
def test_bad_wait_is_400(client, make_device, wait):
    device = make_device()

    response = latest(client, device, wait=wait)

    assert response.status_code == 400
    assert "wait" in response.json["message"]


def test_wait_without_etag_answers_at_once(client, make_device):
    device = make_device()

    response = latest(client, device, wait=30)

    assert response.status_code == 200


def test_long_poll_times_out_with_304(client, make_device):
    device = make_device()
    etag = latest(client, device).headers["ETag"]

    response = latest(client, device, wait=1, headers={"If-None-Match": etag})

    assert response.status_code == 304


def test_long_poll_is_released_by_a_toggle(app, make_device, subscribed):
    device = make_device()
    poller = app.test_client()
    etag = latest(poller, device).headers["ETag"]
    result = {}

    def long_poll():
        result["response"] = latest(poller, device, wait=30, headers={"If-None-Match": etag})

    thread = threading.Thread(target=long_poll)
    thread.start()
    assert subscribed.wait(10), "the long-poll never subscribed"
    app.test_client().put(f"/api/devices/{device.id}/pins/v0", json={"value": 1}, headers=device.owner.headers)
    thread.join(10)

    assert not thread.is_alive(), "the toggle did not release the long-poll"
    assert result["response"].status_code == 200
    assert result["response"].json["data"] == {"v0": 1}


def test_long_poll_is_released_by_a_report(app, make_device, subscribed):
    device = make_device()
    poller = app.test_client()
    etag = latest(poller, device).headers["ETag"]
    result = {}

    thread = threading.Thread(target=lambda: result.setdefault("r", latest(poller, device, wait=30, headers={"If-None-Match": etag})))
    thread.start()
    assert subscribed.wait(10)
    app.test_client().post(f"/devices/{device.id}/telemetry", json={"device_token": device.token, "data": {"temperature": 7}})
    thread.join(10)

    assert result["r"].json["data"] == {"temperature": 7}
