"""POST /devices/{id}/telemetry/batch: readings buffered offline, idempotent on (device, ts)."""
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Reading


def batch(client, device, records, token=None):
    return client.post(
        f"/devices/{device.id}/telemetry/batch", json={"device_token": device.token if token is None else token, "records": records}
    )


def stored(app, device, key):
    with app.app_context():
        return db.session.execute(
            select(Reading.ts_ms, Reading.value).where(Reading.device_id == device.id, Reading.key == key).order_by(Reading.ts_ms)
        ).all()


def test_batch_stores_records_at_their_timestamps(app, client, make_device):
    device = make_device()

    response = batch(
        client,
        device,
        [
            {"ts": "2026-11-27T10:00:00.000Z", "data": {"temperature": 20.5}},
            {"ts": "2026-11-27T11:00:00+01:00", "data": {"temperature": 21}},
            {"ts": 1795773600.5, "data": {"temperature": 22}},
        ],
    )

    assert response.status_code == 200
    assert response.json == {"accepted": 2, "duplicates": 1}
    assert stored(app, device, "temperature") == [(1795773600000, "20.5"), (1795773600500, "22")]


def test_retried_batch_is_all_duplicates(app, client, make_device):
    device = make_device()
    records = [{"ts": 1764000000 + i, "data": {"t": i}} for i in range(10)]
    batch(client, device, records)

    response = batch(client, device, records)

    assert response.json == {"accepted": 0, "duplicates": 10}
    assert len(stored(app, device, "t")) == 10


def test_partly_overlapping_batch_stores_only_new_records(app, client, make_device):
    device = make_device()
    batch(client, device, [{"ts": 1764000000 + i, "data": {"t": i}} for i in range(5)])

    response = batch(client, device, [{"ts": 1764000000 + i, "data": {"t": i}} for i in range(3, 8)])

    assert response.json == {"accepted": 3, "duplicates": 2}
    assert len(stored(app, device, "t")) == 8


def test_old_batch_records_do_not_overwrite_newer_state(client, make_device):
    device = make_device()
    client.post(f"/devices/{device.id}/telemetry", json={"device_token": device.token, "data": {"temperature": 30}})

    batch(client, device, [{"ts": 1764000000, "data": {"temperature": 10, "humidity": 50}}])

    data = client.get("/telemetry/latest", query_string={"device_token": device.token}).json["data"]
    assert data == {"temperature": 30, "humidity": 50}


def test_batch_marks_device_online(client, make_device):
    device = make_device()

    batch(client, device, [{"ts": 1764000000, "data": {"t": 1}}])

    assert client.get(f"/api/devices/{device.id}", headers=device.owner.headers).json["status"] == "online"


def test_bad_timestamp_is_400_and_stores_nothing(app, client, make_device):
    device = make_device()

    response = batch(client, device, [{"ts": 1764000000, "data": {"t": 1}}, {"ts": "yesterday", "data": {"t": 2}}])

    assert response.status_code == 400
    assert "ts" in response.json["message"]
    assert stored(app, device, "t") == []


def test_future_timestamp_is_400(client, make_device):
    device = make_device()

    response = batch(client, device, [{"ts": 4102444800, "data": {"t": 1}}])

    assert response.status_code == 400
    assert "future" in response.json["message"]


def test_empty_batch_is_400(client, make_device):
    device = make_device()

    assert batch(client, device, []).status_code == 400


def test_too_many_records_is_400(app, client, make_device):
    device = make_device()
    limit = app.config["MAX_BATCH_RECORDS"]

    response = batch(client, device, [{"ts": 1764000000 + i, "data": {}} for i in range(limit + 1)])

    assert response.status_code == 400
    assert str(limit) in response.json["message"]


def test_batch_over_64_kib_is_413(client, make_device):
    device = make_device()

    response = batch(client, device, [{"ts": 1764000000 + i, "data": {"s": "x" * 256}} for i in range(300)])

    assert response.status_code == 413


def test_batch_errors_follow_the_contract(client, make_device):
    device, other = make_device(), make_device()

    assert client.post("/devices/ffffffffffffffffffffffff/telemetry/batch", json={"device_token": device.token, "records": [{"ts": 1, "data": {}}]}).status_code == 404
    assert batch(client, device, [{"ts": 1764000000, "data": {}}], token=other.token).status_code == 403
    assert client.post(f"/devices/{device.id}/telemetry/batch", data=b"{").status_code == 400
