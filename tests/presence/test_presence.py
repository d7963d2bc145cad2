"""Presence: a device's requests bring it online, the sweep takes it offline; each transition once."""
import threading

import pytest

from tests.presence.helpers import age_device, notifications_of, queued_events, settle, status, sweep
from webapp.extensions import db
from webapp.pubsub.broker import current_broker
from webapp.pubsub.channels import device_channel
from webapp.services.devices import presence


def post(client, device, data=None):
    return client.post(f"/devices/{device.id}/telemetry", json={"device_token": device.token, "data": data or {"v0": 1}})


def test_a_request_brings_a_device_online_and_notifies_once(app, client, make_device):
    device = make_device(name="Boiler")
    with app.app_context():
        subscription = current_broker().subscribe([device_channel(device.id)])
    with subscription:
        assert status(app, device.id) == "offline"
        post(client, device, {"v0": 1})
        post(client, device, {"v0": 1})
        settle(app)
        assert status(app, device.id) == "online"
        assert notifications_of(app, device.id) == [("online", "Boiler came online", 0)]
        # A last change marks the end: any second "online" would have been published before it.
        post(client, device, {"v0": 2})
        received = []
        while not any(event.get("changed") == {"v0": 2} for event in received):
            got = subscription.get(5)
            assert got is not None, f"events so far: {received}"
            received.append(got[1])
    assert [event["status"] for event in received if event["type"] == "status"] == ["online"]


def test_polling_for_state_also_counts_as_seen(app, client, make_device):
    device = make_device()
    assert client.get("/telemetry/latest", query_string={"device_token": device.token}).status_code == 200
    assert status(app, device.id) == "online"


def test_the_sweep_waits_for_the_devices_own_timeout(app, client, make_device):
    device = make_device(name="Gate", offline_timeout=30)
    post(client, device)

    age_device(app, device.id, 29)
    assert device.id not in sweep(app)
    assert status(app, device.id) == "online"
    age_device(app, device.id, 2)
    assert device.id in sweep(app)
    assert status(app, device.id) == "offline"
    assert notifications_of(app, device.id, "offline") == [("offline", "Gate went offline", 0)]
    assert device.id not in sweep(app)


def test_the_timeout_is_a_device_setting_changed_through_the_api(app, client, make_device):
    device = make_device(offline_timeout=60)
    post(client, device)
    age_device(app, device.id, 10)
    assert device.id not in sweep(app)

    response = client.patch(f"/api/devices/{device.id}", json={"offline_timeout": 5}, headers=device.owner.headers)
    assert response.status_code == 200 and response.get_json()["offline_timeout"] == 5
    assert device.id in sweep(app)

    too_short = client.patch(f"/api/devices/{device.id}", json={"offline_timeout": 1}, headers=device.owner.headers)
    assert too_short.status_code == 400 and too_short.get_json()["error"] == "invalid_request"


def test_the_sweep_runs_often_enough_for_the_smallest_timeout(app, make_device, monkeypatch):
    make_device(offline_timeout=5)
    with app.app_context():
        # Offline shows by 1.2 × timeout: detected at most a fifth of the timeout late.
        assert presence.sweep_interval(app.config) <= 5 / 5
        monkeypatch.setitem(app.config, "PRESENCE_SWEEP_INTERVAL", 3)
        assert presence.sweep_interval(app.config) == 3
        db.session.remove()


def run_together(count, target):
    """Run `target(index)` in `count` threads released at once; their results."""
    barrier, results, errors = threading.Barrier(count), [None] * count, []

    def run(index):
        barrier.wait()
        try:
            results[index] = target(index)
        except Exception as exc:  # surfaced below, with the thread's error
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    return results


def test_concurrent_sweeps_take_each_device_offline_exactly_once(app, client, make_device, make_webhook, receiver):
    devices = [make_device(offline_timeout=10) for _ in range(4)]
    hooks = {device.id: make_webhook(device, receiver.url, events=["offline"])["id"] for device in devices}
    for device in devices:
        post(client, device)
        age_device(app, device.id, 11)

    swept = run_together(6, lambda _: sweep(app))

    for device in devices:
        assert sum(gone.count(device.id) for gone in swept) == 1
        assert status(app, device.id) == "offline"
        assert len(notifications_of(app, device.id, "offline")) == 1
        assert queued_events(app, hooks[device.id], "offline") == 1


def test_concurrent_requests_bring_a_device_online_exactly_once(app, make_device, make_webhook, receiver):
    device = make_device(name="Fan")
    hook = make_webhook(device, receiver.url, events=["online"])

    responses = run_together(8, lambda _: post(app.test_client(), device, {"v0": 1}).status_code)
    settle(app)

    assert responses == [200] * 8
    assert notifications_of(app, device.id) == [("online", "Fan came online", 0)]
    assert queued_events(app, hook["id"], "online") == 1


def test_a_device_reporting_as_it_is_swept_ends_online(app, make_device, make_webhook, receiver):
    device = make_device(offline_timeout=10)
    hook = make_webhook(device, receiver.url, events=["online", "offline"])
    post(app.test_client(), device)
    for _ in range(8):
        age_device(app, device.id, 11)
        run_together(2, lambda index: sweep(app) if index == 0 else post(app.test_client(), device).status_code)
        assert status(app, device.id) == "online"
    # Every offline the sweep won was followed by an online: transitions pair up.
    assert queued_events(app, hook["id"], "online") == queued_events(app, hook["id"], "offline") + 1


@pytest.mark.parametrize("path", ["/telemetry", "/devices/{id}/telemetry"])
def test_a_refused_request_does_not_bring_a_device_online(app, client, make_device, path):
    device = make_device()
    response = client.post(path.format(id=device.id), json={"device_token": "not-the-token", "data": {"v0": 1}})
    assert response.status_code == 403
    assert status(app, device.id) == "offline"
