"""What every transport shares with our own device API: limits per device (never per address), and errors in its platform's shape."""
import pytest

CALLS = {
    "thingsboard": lambda client, device: client.post(f"/api/v1/{device.token}/telemetry", json={"n": 1}),
    "blynk": lambda client, device: client.get(f"/external/api/update?token={device.token}&V1=1"),
}


@pytest.mark.parametrize("platform", CALLS)
def test_a_device_over_its_limit_is_429_with_retry_after_in_its_platforms_shape(app, client, make_device, monkeypatch, platform):
    monkeypatch.setitem(app.config, "RATELIMIT_DEVICE", "2 per 60 seconds")
    device = make_device()

    statuses = [CALLS[platform](client, device).status_code for _ in range(2)]
    refused = CALLS[platform](client, device)

    assert statuses == [200, 200]
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert refused.json == ({"status": 429, "message": refused.json["message"]} if platform == "thingsboard" else {"error": {"message": refused.json["error"]["message"]}})


@pytest.mark.parametrize("platform", CALLS)
def test_many_devices_behind_one_address_are_not_limited_per_address(app, client, make_device, monkeypatch, platform):
    monkeypatch.setitem(app.config, "RATELIMIT_DEFAULT", "1 per 60 seconds")

    assert [CALLS[platform](client, make_device()).status_code for _ in range(3)] == [200, 200, 200]


def test_thingsboard_refuses_a_body_over_the_limit_with_413(app, client, make_device):
    device = make_device()

    response = client.post(f"/api/v1/{device.token}/attributes", data=b'{"a": "' + b"x" * app.config["MAX_BODY_BYTES"] + b'"}')

    assert response.status_code == 413 and response.json["status"] == 413


def test_an_unknown_thingsboard_path_is_404_in_its_shape(client, make_device):
    response = client.get(f"/api/v1/{make_device().token}/firmware?title=a&version=1")

    assert response.status_code == 404 and response.json["status"] == 404



def test_a_device_keeps_the_token_it_had_on_its_old_platform(client, make_user):
    owner = make_user()
    old_token = "A1b2C3d4E5f6G7h8I9j0"  # a ThingsBoard access token: 20 characters

    created = client.post("/api/devices", json={"name": "Moved", "device_token": old_token}, headers=owner.headers)

    assert created.status_code == 201 and created.json["device_token"] == old_token
    assert client.post(f"/api/v1/{old_token}/telemetry", json={"n": 1}).status_code == 200
    assert client.get(f"/external/api/update?token={old_token}&V1=1").status_code == 200
    again = client.post("/api/devices", json={"name": "Twin", "device_token": old_token}, headers=owner.headers)
    assert (again.status_code, again.json["error"]) == (409, "conflict")


def test_an_imported_token_too_short_to_be_safe_is_400(client, make_user):
    response = client.post("/api/devices", json={"name": "Weak", "device_token": "short"}, headers=make_user().headers)

    assert response.status_code == 400 and "device_token" in response.json["message"]
