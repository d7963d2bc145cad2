"""seq, boot and ts on readings (docs/ESP32_TELEMETRY_API_GUIDE.md, "Reading identity"): a repeat is not stored twice,
a new boot id is never a repeat, a device's ts is its reading's time, in any of the three forms."""
import socket
import threading

import pytest
import requests
from sqlalchemy import select

from tests.live_server import free_port
from tests.waiting import wait_until
from webapp.core.clock import now_ms
from webapp.extensions import db
from webapp.models import Reading
from webapp.services.ingest import writer

BOOT = "9f3a07c2"


def stored(app, device, key="n"):
    with app.app_context():
        rows = db.session.execute(
            select(Reading.ts_ms, Reading.value).where(Reading.device_id == device.id, Reading.key == key).order_by(Reading.ts_ms)
        ).all()
        db.session.remove()
    return rows


def post(client, device, body, path=None):
    return client.post(path or f"/devices/{device.id}/telemetry", json={"device_token": device.token, **body})


def batch(client, device, records):
    return client.post(f"/devices/{device.id}/telemetry/batch", json={"device_token": device.token, "records": records})


def test_a_resent_reading_answers_as_usual_and_is_stored_once(app, client, make_device):
    device = make_device()
    reading = {"seq": 41, "boot": BOOT, "data": {"n": 1}}

    first, again = post(client, device, reading), post(client, device, reading)

    assert first.status_code == again.status_code == 200
    assert again.json["data"]["n"] == 1
    assert len(stored(app, device)) == 1


def test_the_legacy_endpoint_dedupes_too(app, client, make_device):
    device = make_device()

    for _ in range(3):
        assert post(client, device, {"seq": 7, "boot": BOOT, "data": {"n": 7}}, path="/telemetry").status_code == 200

    assert len(stored(app, device)) == 1


def test_a_live_reading_sent_again_in_a_batch_counts_as_a_duplicate(app, client, make_device):
    device = make_device()
    post(client, device, {"seq": 5, "boot": BOOT, "ts": "2026-11-27T09:00:00.000Z", "data": {"n": 5}})

    response = batch(
        client,
        device,
        [
            {"ts": "2026-11-27T09:00:00.000Z", "seq": 5, "boot": BOOT, "data": {"n": 5}},
            {"ts": "2026-11-27T09:00:10.000Z", "seq": 6, "boot": BOOT, "data": {"n": 6}},
            {"ts": "2026-11-27T09:00:10.000Z", "seq": 6, "boot": BOOT, "data": {"n": 6}},
        ],
    )

    assert response.json == {"accepted": 1, "duplicates": 2}
    assert [value for _, value in stored(app, device)] == ["5", "6"]


def test_a_counter_that_starts_over_with_a_new_boot_is_not_silenced(app, client, make_device):
    device = make_device()
    post(client, device, {"seq": 0, "boot": BOOT, "data": {"n": 1}})

    response = post(client, device, {"seq": 0, "boot": "00000001", "data": {"n": 2}})

    assert response.status_code == 200
    assert [value for _, value in stored(app, device)] == ["1", "2"]


def test_a_boot_silent_for_longer_than_the_window_is_forgotten(app, client, make_device, monkeypatch):
    device = make_device()
    post(client, device, {"seq": 3, "boot": BOOT, "data": {"n": 1}})
    later = now_ms() + (app.config["DEDUPE_WINDOW_SECONDS"] + 1) * 1000
    monkeypatch.setattr(writer, "now_ms", lambda: later)

    post(client, device, {"seq": 3, "boot": BOOT, "data": {"n": 2}})

    assert [value for _, value in stored(app, device)] == ["1", "2"]


def test_records_without_seq_stay_idempotent_on_ts(client, make_device):
    device = make_device()
    records = [{"ts": 1795770000, "data": {"n": 1}}, {"ts": 1795770060, "seq": 9, "boot": BOOT, "data": {"n": 2}}]

    assert batch(client, device, records).json == {"accepted": 2, "duplicates": 0}
    assert batch(client, device, records).json == {"accepted": 0, "duplicates": 2}


@pytest.mark.parametrize("ts", ["2026-11-27T09:00:00.000Z", 1795770000, 1795770000000, 1795770000.0])
def test_a_live_reading_is_stored_at_the_time_the_device_took_it(app, client, make_device, ts):
    device = make_device()

    response = post(client, device, {"ts": ts, "data": {"n": 1}})

    assert response.status_code == 200
    assert response.json["timestamp"] == "2026-11-27T09:00:00.000Z"
    assert stored(app, device) == [(1795770000000, "1")]


def test_batch_timestamps_in_milliseconds_are_accepted(app, client, make_device):
    device = make_device()

    response = batch(client, device, [{"ts": 1795770000123, "data": {"n": 1}}, {"ts": "1795770001000", "data": {"n": 2}}])

    assert response.json == {"accepted": 2, "duplicates": 0}
    assert [ts for ts, _ in stored(app, device)] == [1795770000123, 1795770001000]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"seq": 1, "data": {"n": 1}}, "seq and boot go together"),
        ({"boot": BOOT, "data": {"n": 1}}, "seq and boot go together"),
        ({"seq": -1, "boot": BOOT, "data": {"n": 1}}, "seq"),
        ({"seq": 1, "boot": "XYZ", "data": {"n": 1}}, "boot"),
        ({"ts": "yesterday", "data": {"n": 1}}, "ts 'yesterday'"),
        ({"ts": 4102444800000, "data": {"n": 1}}, "in the future"),
    ],
)
def test_bad_identity_or_time_is_400_naming_it(app, client, make_device, body, field):
    device = make_device()

    response = post(client, device, body)

    assert response.status_code == 400
    assert field in response.json["message"]
    assert stored(app, device) == []


def whole_request(connection):
    """The bytes of one HTTP request with a Content-Length body, however the client split its writes."""
    received = b""
    while b"\r\n\r\n" not in received:
        received += connection.recv(65536)
    head, _, body = received.partition(b"\r\n\r\n")
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:"))
    while len(body) < length:
        body += connection.recv(65536)
    return head + b"\r\n\r\n" + body


def drop_the_answer_proxy(target_port):
    """A proxy that passes a request on, waits for the server's whole answer, and closes on the client
    without a byte of it: an answer lost after the server stored the reading."""
    listener = socket.create_server(("127.0.0.1", free_port()))

    def serve():
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            with client, socket.create_connection(("127.0.0.1", target_port)) as upstream:
                upstream.sendall(whole_request(client))
                upstream.shutdown(socket.SHUT_WR)
                while upstream.recv(65536):
                    pass

    threading.Thread(target=serve, daemon=True).start()
    return listener


def test_a_reading_whose_answer_was_lost_is_stored_once_when_sent_again(live_server):
    device = live_server.create_device()
    owner_token = live_server.api_token(device["owner_email"])
    reading = {"device_token": device["device_token"], "seq": 12, "boot": BOOT, "data": {"n": 12}}
    port = int(live_server.url.rsplit(":", 1)[1])
    proxy = drop_the_answer_proxy(port)
    try:
        with pytest.raises(requests.ConnectionError):
            requests.post(f"http://127.0.0.1:{proxy.getsockname()[1]}/devices/{device['device_id']}/telemetry", json=reading, timeout=10)
    finally:
        proxy.close()

    def history():
        answer = requests.get(
            f"{live_server.url}/api/devices/{device['device_id']}/history", params={"key": "n"}, headers={"Authorization": f"Bearer {owner_token}"}, timeout=10
        )
        return answer.json()["points"]

    wait_until(lambda: len(history()) == 1, "the reading behind the lost answer is stored")
    # The firmware sends it again, live (libcurl's own retry) and then from its offline buffer.
    again = requests.post(f"{live_server.url}/devices/{device['device_id']}/telemetry", json=reading, timeout=10)
    buffered = requests.post(
        f"{live_server.url}/devices/{device['device_id']}/telemetry/batch",
        json={"device_token": device["device_token"], "records": [{"ts": now_ms() / 1000, "seq": 12, "boot": BOOT, "data": {"n": 12}}]},
        timeout=10,
    )

    assert again.status_code == 200
    assert buffered.json() == {"accepted": 0, "duplicates": 1}
    assert len(history()) == 1


def test_numbers_are_counted_per_device(app, client, make_device):
    first, second = make_device(), make_device()

    post(client, first, {"seq": 1, "boot": BOOT, "data": {"n": 1}})
    post(client, second, {"seq": 1, "boot": BOOT, "data": {"n": 1}})

    assert len(stored(app, first)) == len(stored(app, second)) == 1
