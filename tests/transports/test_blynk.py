"""Blynk's device HTTP API, with the requests Blynk's public documentation gives as curl commands, against the test app.

Each request below is the documented one with the host and token swapped for
ours, e.g. `curl 'https://{server}/external/api/update?token={token}&v1=100'`.
"""
import pytest
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Reading


def get(client, path, device=None, token=None):
    return client.get(path.replace("{token}", token or device.token))


def state(client, device):
    return client.get(f"/api/devices/{device.id}", headers=device.owner.headers).json


def history(app, device, key):
    with app.app_context():
        rows = db.session.execute(select(Reading.ts_ms, Reading.value).where(Reading.device_id == device.id, Reading.key == key).order_by(Reading.ts_ms)).all()
        db.session.remove()
    return rows


def test_update_one_pin(client, make_device):
    device = make_device()

    response = get(client, "/external/api/update?token={token}&v1=100", device)

    assert (response.status_code, response.data) == (200, b"")
    assert state(client, device)["data"] == {"v1": 100}


def test_update_with_pin_and_value_arguments_and_upper_case_pins(client, make_device):
    device = make_device()

    assert get(client, "/external/api/update?token={token}&pin=V2&value=21.5", device).status_code == 200
    assert get(client, "/external/api/update?token={token}&V3=hello", device).status_code == 200

    assert state(client, device)["data"] == {"v2": 21.5, "v3": "hello"}


def test_batch_update_writes_several_pins_as_one_reading(client, make_device):
    device = make_device()

    assert get(client, "/external/api/batch/update?token={token}&V1=1&V2=2", device).status_code == 200

    assert state(client, device)["data"] == {"v1": 1, "v2": 2}


def test_a_pins_history_uploads_with_millisecond_timestamps_once(app, client, make_device):
    device = make_device()
    body = [[1795770000000, 20.5], [1795770060000, 21]]

    first = client.post(f"/external/api/batch/update?token={device.token}&pin=V1", json=body)
    again = client.post(f"/external/api/batch/update?token={device.token}&pin=V1", json=body)

    assert first.status_code == again.status_code == 200
    assert history(app, device, "v1") == [(1795770000000, "20.5"), (1795770060000, "21")]


def test_get_answers_the_bare_value_and_several_pins_as_json(client, make_device):
    device = make_device()
    get(client, "/external/api/batch/update?token={token}&V1=100&V2=on", device)

    one = get(client, "/external/api/get?token={token}&v1", device)
    several = get(client, "/external/api/get?token={token}&V1&V2", device)

    assert (one.status_code, one.get_data(as_text=True)) == (200, "100")
    assert several.json == {"V1": "100", "V2": "on"}


def test_get_sees_a_pin_toggled_in_the_dashboard(client, make_device):
    device = make_device()
    client.put(f"/api/devices/{device.id}/pins/v5", json={"value": 1}, headers=device.owner.headers)

    assert get(client, "/external/api/get?token={token}&V5", device).get_data(as_text=True) == "1"


def test_is_hardware_connected_follows_presence(client, make_device):
    device = make_device()

    assert get(client, "/external/api/isHardwareConnected?token={token}", device).json is False
    get(client, "/external/api/update?token={token}&v1=1", device)
    assert get(client, "/external/api/isHardwareConnected?token={token}", device).json is True


def test_the_legacy_server_paths(client, make_device):
    device = make_device()

    assert get(client, "/{token}/update/V7?value=42", device).status_code == 200
    assert get(client, "/{token}/get/V7", device).json == ["42"]
    assert get(client, "/{token}/isHardwareConnected", device).json is True


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/external/api/update?token=not-a-token&v1=1", "not valid"),
        ("/external/api/update?v1=1", "Invalid token."),
        ("/external/api/update?token={token}&D5=1", "Wrong pin format: 'D5'"),
        ("/external/api/update?token={token}&V256=1", "Wrong pin format: 'V256'"),
        ("/external/api/update?token={token}&v1=1&v1=2", "One value per pin"),
        ("/external/api/get?token={token}&V9", "Requested pin V9 has no value yet."),
        ("/not-a-token/get/V1", "not valid"),
    ],
)
def test_errors_are_blynks_400_with_a_message(client, make_device, path, message):
    device = make_device()

    response = get(client, path, device)

    assert response.status_code == 400
    assert set(response.json) == {"error"} and message in response.json["error"]["message"]


def test_a_history_upload_that_is_not_pairs_is_400(client, make_device):
    device = make_device()

    response = client.post(f"/external/api/batch/update?token={device.token}&pin=V1", json={"v": 1})

    assert response.status_code == 400 and "error" in response.json
