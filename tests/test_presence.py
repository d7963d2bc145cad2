"""Presence: requests mark a device online once; the sweep marks silent devices offline once."""
import threading

from sqlalchemy import select, update

from webapp.core.clock import now_ms
from webapp.extensions import db
from webapp.models import Device, Notification
from webapp.services.devices import presence


def status(app, device):
    with app.app_context():
        return db.session.scalar(select(Device.status).where(Device.id == device.id))


def notifications_of(app, device, kind):
    with app.app_context():
        return db.session.scalars(select(Notification.message).where(Notification.device_id == device.id, Notification.kind == kind)).all()


def silence(app, device, seconds):
    """Pretend the device was last heard `seconds` ago."""
    with app.app_context():
        db.session.execute(update(Device).where(Device.id == device.id).values(last_seen_ms=now_ms() - seconds * 1000))
        db.session.commit()


def test_first_request_marks_online_and_notifies_once(app, client, make_device, settle):
    device = make_device(name="Boiler")

    for _ in range(3):
        client.post(f"/devices/{device.id}/telemetry", json={"device_token": device.token, "data": {"t": 1}})
    settle()

    assert status(app, device) == "online"
    assert notifications_of(app, device, "online") == ["Boiler came online"]


def test_polling_also_marks_online(app, client, make_device):
    device = make_device()

    client.get("/telemetry/latest", query_string={"device_token": device.token})

    assert status(app, device) == "online"


def test_sweep_marks_silent_device_offline_after_its_own_timeout(app, client, make_device):
    quick, slow = make_device(offline_timeout=10), make_device(offline_timeout=120)
    for device in (quick, slow):
        client.post(f"/devices/{device.id}/telemetry", json={"device_token": device.token, "data": {}})
        silence(app, device, 30)

    with app.app_context():
        gone = presence.mark_offline_stale_devices(now_ms())

    assert quick.id in gone and slow.id not in gone
    assert (status(app, quick), status(app, slow)) == ("offline", "online")
    assert notifications_of(app, quick, "offline") == ["Test ESP32 went offline"]


def test_concurrent_sweeps_take_each_device_offline_exactly_once(app, client, make_device):
    devices = [make_device(offline_timeout=5) for _ in range(5)]
    for device in devices:
        client.post(f"/devices/{device.id}/telemetry", json={"device_token": device.token, "data": {}})
        silence(app, device, 60)
    results, start = [], threading.Barrier(4)

    def sweep():
        with app.app_context():
            start.wait()
            results.extend(presence.mark_offline_stale_devices(now_ms()))
            db.session.remove()

    threads = [threading.Thread(target=sweep) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    ours = [device_id for device_id in results if device_id in {d.id for d in devices}]
    assert sorted(ours) == sorted(d.id for d in devices)


def test_device_reporting_after_sweep_comes_back_online(app, client, make_device):
    device = make_device(offline_timeout=5)
    client.post(f"/devices/{device.id}/telemetry", json={"device_token": device.token, "data": {}})
    silence(app, device, 60)
    with app.app_context():
        presence.mark_offline_stale_devices(now_ms())

    client.post(f"/devices/{device.id}/telemetry", json={"device_token": device.token, "data": {}})

    assert status(app, device) == "online"


def test_sweep_interval_is_a_fifth_of_the_smallest_timeout(app, make_device):
    make_device(offline_timeout=5)
    with app.app_context():
        interval = presence.sweep_interval(app.config)

    assert interval <= 1.0


def test_flapping_device_notifies_once_per_cooldown_and_counts_the_rest(app, client, make_device, settle):
    device = make_device(offline_timeout=5)
    for _ in range(4):
        client.post(f"/devices/{device.id}/telemetry", json={"device_token": device.token, "data": {}})
        settle()
        silence(app, device, 60)
        with app.app_context():
            presence.mark_offline_stale_devices(now_ms())

    with app.app_context():
        stored = db.session.execute(
            select(Notification.kind, Notification.muted_count).where(Notification.device_id == device.id).order_by(Notification.kind)
        ).all()
    assert stored == [("offline", 3), ("online", 3)]
