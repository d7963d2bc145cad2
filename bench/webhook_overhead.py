"""What webhooks cost the ingest path, and how fast one worker delivers them.

    .venv/bin/python bench/webhook_overhead.py            # SQLite
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/test .venv/bin/python bench/webhook_overhead.py

Ingest: in-process POST /devices/<id>/telemetry (Flask test client, no HTTP
server), per request: (a) with the outbox step switched off, (b) for a
device without webhooks (one indexed SELECT), (c) for a device with a
telemetry webhook (SELECT + INSERT of one outbox row). Rounds interleave so
that drift affects all three alike.

Delivery: events queued for a webhook pointing at a local threaded receiver,
delivered by 1 and by 4 lanes (threads, as the gevent worker's greenlets).
"""
import os
import statistics
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import flask_migrate  # noqa: E402

from tests import databases  # noqa: E402
from tests.webhooks.receiver import Receiver  # noqa: E402
from webapp import create_app  # noqa: E402
from webapp.extensions import db  # noqa: E402
from webapp.services import outbox
from webapp.services.accounts import users
from webapp.services.devices import registry as devices  # noqa: E402
from webapp.services.webhooks import delivery as webhook_delivery
from webapp.services.webhooks import registry as webhooks

ROUNDS, PER_ROUND, EVENTS = 10, 200, 2000


def main():
    url = databases.create_database(tempfile.mkdtemp())
    app = create_app(
        {"DATABASE_URL": url, "TESTING": True, "RATELIMIT_ENABLED": False, "WEBHOOK_ALLOW_PRIVATE": True, "WEBHOOK_BATCH_SIZE": 50}
    )
    receiver = Receiver().start()
    try:
        with app.app_context():
            flask_migrate.upgrade()
            owner = users.create_user("bench@example.com", "bench-password")
            plain, plain_token = devices.create_device(owner, "plain")
            hooked, hooked_token = devices.create_device(owner, "hooked")
            webhooks.create_webhook(hooked, receiver.url, ["telemetry"])
            plain_id, hooked_id = plain.id, hooked.id
            db.session.remove()
        print(f"database: {app.config['SQLALCHEMY_DATABASE_URI'].split(':')[0]}")
        ingest(app, plain_id, plain_token, hooked_id, hooked_token)
        for lanes in (1, 4):
            deliver(app, hooked_id, hooked_token, receiver, lanes)
    finally:
        receiver.stop()
        with app.app_context():
            db.engine.dispose()
        app.extensions["broker"].close()
        databases.drop_database(url)


def ingest(app, plain_id, plain_token, hooked_id, hooked_token):
    client = app.test_client()
    queue_deliveries = outbox.queue_deliveries
    timings = {"outbox step off": [], "no webhooks": [], "telemetry webhook": []}
    cases = [("outbox step off", plain_id, plain_token), ("no webhooks", plain_id, plain_token), ("telemetry webhook", hooked_id, hooked_token)]
    for _ in range(ROUNDS):
        for name, device_id, token in cases:
            outbox.queue_deliveries = (lambda *args: False) if name == "outbox step off" else queue_deliveries
            for n in range(PER_ROUND):
                started = time.perf_counter()
                response = client.post(f"/devices/{device_id}/telemetry", json={"device_token": token, "data": {"v0": n, "t": 20.5}})
                timings[name].append(time.perf_counter() - started)
                assert response.status_code == 200
    outbox.queue_deliveries = queue_deliveries
    for name, samples in timings.items():
        samples.sort()
        print(
            f"ingest, {name:18}: median {statistics.median(samples) * 1e6:6.0f} µs, "
            f"p99 {samples[int(len(samples) * 0.99)] * 1e6:6.0f} µs  ({len(samples)} requests)"
        )


def deliver(app, device_id, token, receiver, lanes):
    client = app.test_client()
    for n in range(EVENTS):
        client.post(f"/devices/{device_id}/telemetry", json={"device_token": token, "data": {"n": n}})
    queued, received_before = pending(app), len(receiver.requests)
    started = time.perf_counter()

    def lane():
        with app.app_context():
            while webhook_delivery.deliver_due():
                db.session.remove()
            db.session.remove()

    threads = [threading.Thread(target=lane) for _ in range(lanes)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    delivered = len(receiver.requests) - received_before
    print(f"delivery, {lanes} lane(s): {delivered / elapsed:6.0f} deliveries/s ({delivered} of {queued} queued in {elapsed:.1f} s)")


def pending(app):
    from sqlalchemy import func, select

    from webapp.models import WebhookDelivery

    with app.app_context():
        count = db.session.scalar(select(func.count()).select_from(WebhookDelivery).where(WebhookDelivery.next_attempt_ms.is_not(None)))
        db.session.remove()
    return count


if __name__ == "__main__":
    main()
