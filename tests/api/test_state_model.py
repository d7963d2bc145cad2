"""Desired vs reported: a person's toggle owns a control pin; the device's report does not overwrite it."""
from sqlalchemy import func, select

from webapp.extensions import db
from webapp.models import Reading
from webapp.schemas import PinOut


def post(client, device, data):
    return client.post(f"/devices/{device.id}/telemetry", json={"device_token": device.token, "data": data})


def latest_data(client, device):
    return client.get("/telemetry/latest", query_string={"device_token": device.token}).json["data"]


def test_owner_toggle_wins_over_later_device_report(client, make_device):
    """The issue's acceptance scenario."""
    device = make_device()
    post(client, device, {"v0": 1, "temperature": 25.5})

    toggled = client.put(f"/api/devices/{device.id}/pins/v0", json={"value": 0}, headers=device.owner.headers)
    assert toggled.status_code == 200
    assert latest_data(client, device) == {"v0": 0, "temperature": 25.5}

    response = post(client, device, {"v0": 1, "temperature": 26.0})

    assert response.json["data"] == {"v0": 0, "temperature": 26.0}
    assert latest_data(client, device) == {"v0": 0, "temperature": 26.0}


def test_pin_is_pending_until_device_reports_desired_value(client, make_device):
    device = make_device()
    post(client, device, {"v0": 0})

    toggled = client.put(f"/api/devices/{device.id}/pins/v0", json={"value": 1}, headers=device.owner.headers)
    assert PinOut.model_validate(toggled.json).pending is True

    post(client, device, {"v0": True})
    again = client.put(f"/api/devices/{device.id}/pins/v0", json={"value": 1}, headers=device.owner.headers)

    assert again.json["pending"] is False


def test_device_report_of_control_pin_is_kept_in_history(app, client, make_device):
    device = make_device()
    client.put(f"/api/devices/{device.id}/pins/v0", json={"value": 0}, headers=device.owner.headers)

    post(client, device, {"v0": 1})

    with app.app_context():
        values = db.session.scalars(select(Reading.value).where(Reading.device_id == device.id, Reading.key == "v0")).all()
    assert values == ["1"]


def test_pin_can_be_set_before_the_device_ever_reported(client, make_device):
    device = make_device()

    client.put(f"/api/devices/{device.id}/pins/v3", json={"value": 1}, headers=device.owner.headers)

    assert latest_data(client, device) == {"v3": 1}


def test_every_accepted_reading_is_in_history(app, client, make_device):
    device = make_device()
    readings = 50

    statuses = [post(client, device, {"temperature": i, "v0": i % 2}).status_code for i in range(readings)]

    assert statuses == [200] * readings
    with app.app_context():
        stored = db.session.scalar(select(func.count()).select_from(Reading).where(Reading.device_id == device.id))
    assert stored == readings * 2
