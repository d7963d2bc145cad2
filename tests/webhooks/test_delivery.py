"""Delivering webhooks to a real HTTP receiver on loopback: signed, retried, never lost."""
import hashlib
import hmac
import socket
import threading

import pytest
from sqlalchemy import func, select, update

from webapp.core.clock import now_ms
from webapp.extensions import db
from webapp.models import Device, Notification, Webhook, WebhookDelivery
from webapp.services import outbox
from webapp.services.devices import presence
from webapp.services.webhooks import delivery as webhook_delivery
from webapp.services.webhooks import registry as webhooks


def post(client, device, data):
    return client.post(f"/devices/{device.id}/telemetry", json={"device_token": device.token, "data": data})


def attempts(client, device, **query):
    response = client.get(f"/api/devices/{device.id}/webhooks/attempts", query_string=query, headers=device.owner.headers)
    assert response.status_code == 200
    return response.get_json()["attempts"]


def deliveries(app, webhook_id):
    with app.app_context():
        rows = db.session.scalars(select(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook_id).order_by(WebhookDelivery.id)).all()
        db.session.expunge_all()
        db.session.remove()
    return rows


def webhook_row(app, webhook_id):
    with app.app_context():
        webhook = db.session.get(Webhook, webhook_id)
        db.session.expunge_all()
        db.session.remove()
    return webhook


def test_telemetry_arrives_signed_with_the_webhook_secret(client, make_device, make_webhook, receiver, deliver_until):
    device = make_device()
    webhook = make_webhook(device, receiver.url, events=["telemetry"])
    assert post(client, device, {"temperature": 21.5, "v0": 1}).status_code == 200

    deliver_until(lambda: receiver.received(device.id), what="the telemetry delivery")

    [request] = receiver.received(device.id)
    expected = "sha256=" + hmac.new(webhook["secret"].encode(), request.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(request.headers["X-ThingsNXT-Signature"], expected)
    assert request.event == "telemetry"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-ThingsNXT-Attempt"] == "1"
    assert request.path == "/hook"
    body = request.json
    assert body["event"] == "telemetry" and body["device_id"] == device.id
    assert body["data"] == {"temperature": 21.5, "v0": 1}
    assert body["timestamp"].endswith("Z")

    [attempt] = attempts(client, device)
    assert attempt["ok"] is True and attempt["status_code"] == 200 and attempt["error"] is None
    assert attempt["delivery_id"] == request.delivery_id and attempt["delivery_status"] == "delivered"
    assert attempt["webhook_id"] == webhook["id"] and attempt["attempt"] == 1


def test_a_webhook_gets_only_the_events_it_subscribed(client, make_device, make_webhook, receiver, deliver_until):
    device = make_device()
    make_webhook(device, receiver.url, events=["online"])
    post(client, device, {"v0": 1})
    post(client, device, {"v0": 2})

    deliver_until(lambda: receiver.received(device.id), what="the online delivery")

    assert [request.event for request in receiver.received(device.id)] == ["online"]
    body = receiver.received(device.id)[0].json
    assert body["status"] == "online" and body["device_id"] == device.id


def test_each_webhook_of_a_device_gets_its_own_signed_copy(client, make_device, make_webhook, receiver, deliver_until):
    device = make_device()
    first = make_webhook(device, receiver.url, secret="first-secret-0123456")
    second = make_webhook(device, receiver.url.replace("/hook", "/other"), secret="second-secret-012345")
    post(client, device, {"v0": 1})

    deliver_until(lambda: len(receiver.received(device.id)) == 2, what="two deliveries")

    by_path = {request.path: request for request in receiver.received(device.id)}
    for path, webhook in (("/hook", first), ("/other", second)):
        request = by_path[path]
        assert request.headers["X-ThingsNXT-Signature"] == webhook_delivery_signature(webhook["secret"], request.body)
    assert by_path["/hook"].delivery_id != by_path["/other"].delivery_id


def webhook_delivery_signature(secret, body):
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_a_receiver_down_for_a_while_gets_every_event_once_back(app, client, make_device, make_webhook, receiver, deliver_until):
    device = make_device()
    webhook = make_webhook(device, receiver.url)
    receiver.stop()
    for value in range(6):
        assert post(client, device, {"n": value}).status_code == 200

    # Down: the first attempt fails and pauses the webhook; the backlog waits instead of hammering it.
    deliver_until(lambda: webhook_row(app, webhook["id"]).consecutive_failures >= 3, what="three failed probes")
    failed = attempts(client, device)
    assert all(not attempt["ok"] and attempt["status_code"] is None for attempt in failed)
    assert "Connection refused" in failed[0]["error"] or "NewConnectionError" in failed[0]["error"]
    assert len(failed) == webhook_row(app, webhook["id"]).consecutive_failures
    assert all(row.status == "pending" for row in deliveries(app, webhook["id"]))

    receiver.start()
    deliver_until(lambda: all(row.status == "delivered" for row in deliveries(app, webhook["id"])), what="the backlog delivered")

    received = receiver.received(device.id)
    assert sorted(request.json["data"]["n"] for request in received) == list(range(6))
    assert len({request.delivery_id for request in received}) == 6
    assert webhook_row(app, webhook["id"]).consecutive_failures == 0


def test_an_error_status_is_retried_with_the_same_delivery_id(app, client, make_device, make_webhook, receiver, deliver_until):
    device = make_device()
    make_webhook(device, receiver.url)
    receiver.status = 503
    post(client, device, {"v0": 1})
    deliver_until(lambda: len(receiver.received(device.id)) >= 2, what="two attempts")
    receiver.status = 204
    deliver_until(lambda: attempts(client, device)[0]["ok"], what="a successful attempt")

    received = receiver.received(device.id)
    assert len({request.delivery_id for request in received}) == 1
    assert len({request.body for request in received}) == 1
    assert [request.headers["X-ThingsNXT-Attempt"] for request in received] == [str(n) for n in range(1, len(received) + 1)]
    logged = attempts(client, device)
    assert logged[-1]["status_code"] == 503 and logged[-1]["error"].startswith("HTTP 503")
    assert logged[0]["status_code"] == 204 and logged[0]["delivery_status"] == "delivered"


def test_a_claimed_delivery_whose_worker_died_is_delivered_by_another(app, client, make_device, make_webhook, receiver, deliver_until):
    device = make_device()
    webhook = make_webhook(device, receiver.url)
    post(client, device, {"v0": 1})
    with app.app_context():
        # A worker claims the row, then dies before sending it.
        _, claimed = webhook_delivery.claim_due(now_ms(), 100)
        assert webhook["id"] in {row.webhook_id for row in claimed}
        # While its lease holds, nobody else takes it.
        _, again = webhook_delivery.claim_due(now_ms(), 100)
        assert webhook["id"] not in {row.webhook_id for row in again}
        lease_end = max(row.claimed_until_ms for row in deliveries(app, webhook["id"]))
        # Once the lease has run out, another worker delivers it.
        assert webhook_delivery.deliver_due(lease_end + 1) >= 1
        db.session.remove()

    [request] = receiver.received(device.id)
    [row] = deliveries(app, webhook["id"])
    assert row.status == "delivered" and row.uid == request.delivery_id


def test_an_event_is_given_up_after_the_retry_window(app, client, make_device, make_webhook, receiver, webhook_settings, deliver_until):
    webhook_settings("WEBHOOK_RETRY_WINDOW", 0)
    device = make_device()
    webhook = make_webhook(device, receiver.url)
    receiver.status = 500
    post(client, device, {"v0": 1})

    deliver_until(lambda: deliveries(app, webhook["id"])[0].status == "failed", what="giving up")

    assert len(receiver.received(device.id)) == 1
    assert deliveries(app, webhook["id"])[0].next_attempt_ms is None
    assert webhook_row(app, webhook["id"]).enabled is True


def test_a_webhook_failing_for_too_long_is_disabled_and_its_owner_told(
    app, client, make_device, make_webhook, receiver, webhook_settings, deliver_until
):
    webhook_settings("WEBHOOK_DISABLE_AFTER", 0)
    device = make_device(name="Greenhouse")
    webhook = make_webhook(device, receiver.url)
    receiver.status = 500
    post(client, device, {"v0": 1})
    post(client, device, {"v0": 2})

    deliver_until(lambda: not webhook_row(app, webhook["id"]).enabled, what="disabling")

    described = client.get(f"/api/devices/{device.id}/webhooks/{webhook['id']}", headers=device.owner.headers).get_json()
    assert described["enabled"] is False and "HTTP 500" in described["disabled_reason"]
    assert [row.status for row in deliveries(app, webhook["id"])] == ["failed", "failed"]
    notes = client.get("/api/notifications", headers=device.owner.headers).get_json()["notifications"]
    assert [note["kind"] for note in notes] == ["webhook_failing", "online"]
    assert notes[0]["message"].startswith("Greenhouse webhook to 127.0.0.1 was disabled")

    # Disabled: new events are not queued. Re-enabled: they are, and delivered.
    receiver.status = 200
    post(client, device, {"v0": 3})
    assert len(deliveries(app, webhook["id"])) == 2
    client.patch(f"/api/devices/{device.id}/webhooks/{webhook['id']}", json={"enabled": True}, headers=device.owner.headers)
    post(client, device, {"v0": 4})
    deliver_until(lambda: any(r.json["data"] == {"v0": 4} for r in receiver.received(device.id)), what="delivery after re-enabling")


def test_the_owner_hears_when_a_webhook_keeps_failing(app, client, make_device, make_webhook, receiver, deliver_until):
    device = make_device(name="Pump")
    webhook = make_webhook(device, receiver.url)
    receiver.status = 502
    post(client, device, {"v0": 1})

    deliver_until(
        lambda: webhook_row(app, webhook["id"]).consecutive_failures >= webhook_delivery.FAILING_NOTICE_AFTER, what="repeated failures"
    )

    with app.app_context():
        notes = db.session.scalars(
            select(Notification).where(Notification.device_id == device.id, Notification.kind == "webhook_failing")
        ).all()
        assert [(note.kind, note.message) for note in notes] == [
            ("webhook_failing", "Pump webhook to 127.0.0.1 is failing (HTTP 502); retrying with backoff")
        ]
        db.session.remove()


def test_online_offline_and_rule_denied_events(app, client, make_device, make_webhook, receiver, deliver_until):
    device = make_device(offline_timeout=30)
    make_webhook(device, receiver.url, events=["online", "offline", "rule_denied"])
    rules = {"rules": [{"name": "sane", "type": "range", "key": "temperature", "min": -40, "max": 85}]}
    assert client.put(f"/api/devices/{device.id}/rules", json=rules, headers=device.owner.headers).status_code == 200

    assert post(client, device, {"temperature": 20}).status_code == 200
    assert post(client, device, {"temperature": 500}).status_code == 403
    with app.app_context():
        db.session.execute(update(Device).where(Device.id == device.id).values(last_seen_ms=Device.last_seen_ms - 31_000))
        assert device.id in presence.mark_offline_stale_devices(now_ms())
        db.session.remove()

    deliver_until(lambda: len(receiver.received(device.id)) == 3, what="three events")
    by_event = {request.event: request.json for request in receiver.received(device.id)}
    assert by_event["online"]["status"] == "online"
    assert by_event["rule_denied"]["rule"] == "sane" and "500" in by_event["rule_denied"]["reason"]
    assert by_event["offline"]["status"] == "offline" and by_event["offline"]["last_seen"] <= by_event["offline"]["timestamp"]


def test_a_refused_request_queues_no_telemetry_event(app, client, make_device, make_webhook, receiver):
    device = make_device()
    webhook = make_webhook(device, receiver.url, events=["telemetry"])
    client.put(f"/api/devices/{device.id}/rules", json={"rules": [{"name": "keys", "type": "allowed_keys", "keys": ["v0"]}]}, headers=device.owner.headers)

    assert post(client, device, {"v9": 1}).status_code == 403
    assert client.post(f"/devices/{device.id}/telemetry", json={"device_token": "wrong", "data": {"v0": 1}}).status_code == 403
    assert deliveries(app, webhook["id"]) == []
    assert post(client, device, {"v0": 1}).status_code == 200
    assert [row.event for row in deliveries(app, webhook["id"])] == ["telemetry"]


def test_batch_uploads_send_one_event_per_new_record(app, client, make_device, make_webhook, receiver, deliver_until):
    device = make_device()
    webhook = make_webhook(device, receiver.url)
    records = [{"ts": 1_700_000_000 + n, "data": {"n": n}} for n in range(3)]
    batch = client.post(f"/devices/{device.id}/telemetry/batch", json={"device_token": device.token, "records": records})
    assert batch.get_json() == {"accepted": 3, "duplicates": 0}
    again = client.post(f"/devices/{device.id}/telemetry/batch", json={"device_token": device.token, "records": records})
    assert again.get_json() == {"accepted": 0, "duplicates": 3}

    deliver_until(lambda: len(receiver.received(device.id)) == 3, what="three telemetry events")
    assert sorted((r.json["timestamp"], r.json["data"]["n"]) for r in receiver.received(device.id)) == [
        ("2023-11-14T22:13:20.000Z", 0),
        ("2023-11-14T22:13:21.000Z", 1),
        ("2023-11-14T22:13:22.000Z", 2),
    ]
    assert len(deliveries(app, webhook["id"])) == 3


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_a_host_that_rebinds_to_a_private_address_is_refused_at_delivery(
    app, client, make_device, make_webhook, receiver, webhook_settings, deliver_until, monkeypatch, scheme
):
    """DNS rebinding: public when the webhook is saved, loopback when delivering (refused before any TLS)."""
    webhook_settings("WEBHOOK_ALLOW_PRIVATE", False)
    real_getaddrinfo = socket.getaddrinfo
    answers = iter(["93.184.216.34"])

    def rebinding(host, port, *args, **kwargs):
        if host == "rebind.example":
            return real_getaddrinfo(next(answers, "127.0.0.1"), port, *args, **kwargs)
        return real_getaddrinfo(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    device = make_device()
    webhook = make_webhook(device, f"{scheme}://rebind.example:{receiver.port}/hook")
    post(client, device, {"v0": 1})

    deliver_until(lambda: attempts(client, device), what="an attempt")

    [attempt] = attempts(client, device)
    assert attempt["ok"] is False and attempt["error"].startswith("refused: 127.0.0.1 is a private")
    assert receiver.received() == []
    assert webhook_row(app, webhook["id"]).consecutive_failures == 1


def test_backoff_doubles_with_jitter_up_to_the_maximum(app, webhook_settings):
    webhook_settings("WEBHOOK_BACKOFF_INITIAL_MS", 1000)
    webhook_settings("WEBHOOK_BACKOFF_MAX_MS", 60_000)

    class Fixed:
        def __init__(self, value):
            self.value = value

        def random(self):
            return self.value

    with app.app_context():
        assert [webhook_delivery.backoff_ms(n, Fixed(1.0)) for n in (1, 2, 3, 7, 50)] == [1000, 2000, 4000, 60_000, 60_000]
        assert [webhook_delivery.backoff_ms(n, Fixed(0.0)) for n in (1, 2, 3)] == [500, 1000, 2000]


def test_old_finished_deliveries_are_pruned_and_pending_ones_kept(app, client, make_device, make_webhook, receiver, webhook_settings, deliver_until):
    device = make_device()
    webhook = make_webhook(device, receiver.url)
    post(client, device, {"v0": 1})
    deliver_until(lambda: receiver.received(device.id), what="the delivery")
    receiver.stop()
    post(client, device, {"v0": 2})

    with app.app_context():
        webhooks.prune_log(now_ms() + 8 * 86_400_000)
        remaining = db.session.scalars(select(WebhookDelivery.status).where(WebhookDelivery.webhook_id == webhook["id"])).all()
        assert remaining == ["pending"]
        assert db.session.scalar(select(func.count()).select_from(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook["id"])) == 1
        db.session.remove()
    assert attempts(client, device) == []


def test_concurrent_workers_never_claim_the_same_delivery(app, client, make_device, make_webhook, receiver):
    device = make_device()
    webhook = make_webhook(device, receiver.url)
    for n in range(20):
        post(client, device, {"n": n})
    mine = {row.id for row in deliveries(app, webhook["id"])}
    barrier, claimed, lock = threading.Barrier(6), [], threading.Lock()

    def worker():
        barrier.wait()
        with app.app_context():
            while True:
                _, rows = webhook_delivery.claim_due(now_ms(), 3)
                if not rows:
                    break
                with lock:
                    claimed.extend(row.id for row in rows)
            db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    ours = [row_id for row_id in claimed if row_id in mine]
    assert sorted(ours) == sorted(mine)
    assert len(ours) == len(set(ours)) == 20


def test_a_webhook_added_after_the_device_posted_gets_the_next_reading(app, client, make_device, make_webhook, receiver, deliver_until):
    # The device's first post caches it as having no webhook, which lets ingest skip the outbox.
    device = make_device()
    assert post(client, device, {"v0": 0}).status_code == 200
    webhook = make_webhook(device, receiver.url, events=["telemetry"])

    assert post(client, device, {"v0": 1}).status_code == 200

    deliver_until(lambda: receiver.received(device.id), what="the delivery of the reading after the webhook was added")
    assert [request.json["data"] for request in receiver.received(device.id)] == [{"v0": 1}]
    assert client.delete(f"/api/devices/{device.id}/webhooks/{webhook['id']}", headers=device.owner.headers).status_code == 204
    assert post(client, device, {"v0": 2}).status_code == 200
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(WebhookDelivery)) == 0
        db.session.remove()


def test_deleting_a_device_deletes_its_webhooks_and_their_log(app, client, make_device, make_webhook, receiver, deliver_until):
    device = make_device()
    webhook = make_webhook(device, receiver.url)
    post(client, device, {"v0": 1})
    deliver_until(lambda: receiver.received(device.id), what="the delivery")

    assert client.delete(f"/api/devices/{device.id}", headers=device.owner.headers).status_code == 204
    assert deliveries(app, webhook["id"]) == []
    assert webhook_row(app, webhook["id"]) is None


def test_only_a_commit_that_queued_deliveries_wakes_the_delivery_lanes(app, client, make_device, make_webhook, receiver, settle):
    hooked, plain = make_device(), make_device()
    make_webhook(hooked, receiver.url)
    settle()
    outbox.deliveries_queued.clear()

    post(client, plain, {"v0": 1})
    settle()
    assert not outbox.deliveries_queued.is_set()
    post(client, hooked, {"v0": 1})
    settle()
    assert outbox.deliveries_queued.is_set()



def test_enqueue_says_whether_anything_was_queued_and_a_rollback_keeps_nothing(app, make_device, make_webhook, receiver):
    hooked, plain = make_device(), make_device()
    webhook = make_webhook(hooked, receiver.url)

    def reading():
        return [{"event": "telemetry", "data": {"v0": 2}}]

    with app.app_context():
        connection = db.session.connection()
        assert outbox.queue_deliveries(connection, "telemetry", {hooked.id: reading, plain.id: reading}, now_ms()) is True
        assert outbox.queue_deliveries(connection, "telemetry", {plain.id: reading}, now_ms()) is False
        db.session.rollback()
        db.session.remove()
    assert deliveries(app, webhook["id"]) == []
