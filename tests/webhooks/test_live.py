"""Webhooks and presence on real gunicorn + gevent servers: the background greenlets do the work."""
import hashlib
import hmac
import os
import signal
import threading

import pytest
import requests

from tests.waiting import wait_until

pytestmark = pytest.mark.live

LIVE_SETTINGS = {
    "WEBHOOK_ALLOW_PRIVATE": "1",
    "WEBHOOK_POLL_INTERVAL_MS": "50",
    "WEBHOOK_TIMEOUT": "2",
    "WEBHOOK_LEASE_MS": "4000",
    "WEBHOOK_BACKOFF_INITIAL_MS": "50",
    "WEBHOOK_BACKOFF_MAX_MS": "200",
}


class Owner:
    """A user of a live server, calling its API with a personal token."""

    def __init__(self, server):
        self.server = server
        self.email = server.create_user()
        self.headers = {"Authorization": f"Bearer {server.api_token(self.email)}"}

    def device(self, offline_timeout=None):
        return self.server.create_device(owner_email=self.email, offline_timeout=offline_timeout)

    def add_webhook(self, device, url, events):
        response = requests.post(
            f"{self.server.url}/api/devices/{device['device_id']}/webhooks", json={"url": url, "events": events}, headers=self.headers, timeout=10
        )
        assert response.status_code == 201, response.text
        return response.json()

    def get(self, path):
        response = requests.get(self.server.url + path, headers=self.headers, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()


def post_telemetry(server, device, data):
    return requests.post(
        f"{server.url}/devices/{device['device_id']}/telemetry", json={"device_token": device["device_token"], "data": data}, timeout=10
    )


@pytest.fixture(scope="module")
def server(live_server_factory):
    return live_server_factory(**LIVE_SETTINGS)


def test_background_workers_deliver_signed_events_and_sweep_presence(server, receiver):
    owner = Owner(server)
    device = owner.device(offline_timeout=1)
    webhook = owner.add_webhook(device, receiver.url, ["telemetry", "online", "offline"])

    assert post_telemetry(server, device, {"temperature": 19.5}).status_code == 200
    receiver.wait_for(lambda got: any(r.event == "offline" for r in got), what="online, telemetry, then offline from the sweep")

    received = receiver.received(device["device_id"])
    assert sorted(r.event for r in received) == ["offline", "online", "telemetry"]
    for request in received:
        expected = "sha256=" + hmac.new(webhook["secret"].encode(), request.body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(request.headers["X-ThingsNXT-Signature"], expected)
    assert owner.get(f"/api/devices/{device['device_id']}")["status"] == "offline"
    kinds = [n["kind"] for n in owner.get("/api/notifications")["notifications"]]
    assert kinds == ["offline", "online"]


def test_a_worker_killed_mid_delivery_leaves_it_to_be_delivered_again(server, receiver):
    owner = Owner(server)
    device = owner.device()
    owner.add_webhook(device, receiver.url, ["telemetry"])
    [worker] = server.worker_pids()
    receiver.hold()

    assert post_telemetry(server, device, {"v0": 1}).status_code == 200
    receiver.wait_for(lambda got: len(got) == 1, what="the first delivery")
    os.kill(worker, signal.SIGKILL)
    receiver.release()

    # gunicorn starts a new worker; once the dead one's lease runs out, it delivers the row again.
    receiver.wait_for(lambda got: len(got) == 2, timeout=30, what="the redelivery")
    first, second = receiver.received(device["device_id"])
    assert first.delivery_id == second.delivery_id and first.body == second.body
    assert server.worker_pids() != [worker]
    path = f"/api/devices/{device['device_id']}/webhooks/attempts"
    wait_until(lambda: owner.get(path)["attempts"], "the attempt logged")
    [attempt] = owner.get(path)["attempts"]
    assert attempt["ok"] is True and attempt["delivery_status"] == "delivered" and attempt["delivery_id"] == first.delivery_id


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="two gunicorn workers need REDIS_URL (CI runs this on PostgreSQL + Redis)")
def test_two_workers_make_each_transition_once_and_mute_repeats(live_server_factory, receiver):
    server = live_server_factory(workers=2, **LIVE_SETTINGS)
    assert len(server.worker_pids()) == 2
    owner = Owner(server)
    device = owner.device(offline_timeout=1)
    owner.add_webhook(device, receiver.url, ["telemetry", "online", "offline"])
    flaps, posts_per_flap = 3, 8

    for flap in range(1, flaps + 1):
        # Several requests at once, spread over both workers: one of them brings the device online.
        threads = [threading.Thread(target=post_telemetry, args=(server, device, {"n": flap * 100 + i})) for i in range(posts_per_flap)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        receiver.wait_for(lambda got: sum(r.event == "offline" for r in got) == flap, what=f"offline #{flap}")

    received = receiver.received(device["device_id"])
    by_event = {event: [r for r in received if r.event == event] for event in ("online", "offline", "telemetry")}
    assert len(by_event["online"]) == flaps and len(by_event["offline"]) == flaps
    receiver.wait_for(lambda got: sum(r.event == "telemetry" for r in got) == flaps * posts_per_flap, what="every telemetry event")
    telemetry = receiver.received(device["device_id"], event="telemetry")
    assert len({r.delivery_id for r in telemetry}) == len(telemetry) == flaps * posts_per_flap

    notes = owner.get("/api/notifications")["notifications"]
    assert sorted((n["kind"], n["muted_count"]) for n in notes) == [("offline", flaps - 1), ("online", flaps - 1)]
