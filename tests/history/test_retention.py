"""Retention: readings past their device's retention are pruned in bounded chunks, safely from many workers."""
import threading

import pytest
from sqlalchemy import select

from tests.conftest import settings_for_tests as settings_for
from tests.history.conftest import DAY_MS, HOUR_MS
from webapp import create_app
from webapp.core.clock import now_ms
from webapp.extensions import db
from webapp.models import AlertEvent, Command, Notification, ScheduledJob
from webapp.services.history import retention
from webapp.services.platform import jobs
from webapp.workers import background

NOW = 1_800_000_000_000


def prune(app, now=NOW, pause=lambda: None):
    with app.app_context():
        try:
            return retention.prune_expired_history(now, pause=pause)
        finally:
            db.session.remove()


def rows_of(model, device_id):
    return db.session.scalars(select(model).where(model.device_id == device_id)).all()


@pytest.fixture
def second_worker(app, database_url):
    """Another app on the same database, with its own connections: what a second worker process is."""
    other = create_app(settings_for(database_url) | {"TESTING": True})
    yield other
    other.extensions["broker"].close()
    with other.app_context():
        db.engine.dispose()


@pytest.fixture
def retention_days(app, monkeypatch):
    def set_days(days):
        monkeypatch.setitem(app.config, "RETENTION_DAYS", days)

    return set_days


def test_the_global_default_deletes_only_readings_older_than_it(app, make_device, add_readings, stored_timestamps, retention_days):
    retention_days(30)
    device = make_device()
    cutoff = NOW - 30 * DAY_MS
    add_readings(device.id, "t", [(cutoff - DAY_MS, 1), (cutoff - 1, 2), (cutoff, 3), (NOW - HOUR_MS, 4)])
    add_readings(device.id, "h", [(cutoff - 5, 1), (NOW, 2)])

    deleted = prune(app)

    assert deleted >= 3
    assert stored_timestamps(device.id, "t") == [cutoff, NOW - HOUR_MS]
    assert stored_timestamps(device.id, "h") == [NOW]


def test_a_devices_own_retention_set_through_the_api_overrides_the_default(
    app, client, make_device, add_readings, stored_timestamps, retention_days
):
    retention_days(30)
    short, default = make_device(), make_device()
    patched = client.patch(f"/api/devices/{short.id}", json={"retention_days": 2}, headers=short.owner.headers)
    assert patched.status_code == 200
    assert patched.json["retention_days"] == 2
    long_ = make_device()
    assert client.patch(f"/api/devices/{long_.id}", json={"retention_days": 90}, headers=long_.owner.headers).status_code == 200
    points = [(NOW - 3 * DAY_MS, "3 days"), (NOW - 40 * DAY_MS, "40 days"), (NOW - DAY_MS, "1 day")]
    for device in (short, default, long_):
        add_readings(device.id, "t", points)

    prune(app)

    assert stored_timestamps(short.id, "t") == [NOW - DAY_MS]
    assert stored_timestamps(default.id, "t") == [NOW - 3 * DAY_MS, NOW - DAY_MS]
    assert stored_timestamps(long_.id, "t") == [NOW - 40 * DAY_MS, NOW - 3 * DAY_MS, NOW - DAY_MS]


def test_alert_events_finished_commands_and_notifications_past_retention_go_with_the_readings(app, make_device, retention_days):
    retention_days(30)
    device = make_device()
    old, recent = NOW - 31 * DAY_MS, NOW - DAY_MS
    with app.app_context():
        for at in (old, recent):
            db.session.add(AlertEvent(device_id=device.id, rule_id=1, kind="raised", description=f"at {at}", value="1", at_ms=at))
            db.session.add(Notification(user_id=device.owner.id, device_id=device.id, kind="offline", message=f"at {at}", created_ms=at))
            db.session.add(Notification(user_id=device.owner.id, device_id=None, kind="login_failures", message=f"at {at}", created_ms=at, grouped_count=0))
            for status in ("answered", "timed_out", "queued"):
                db.session.add(Command(device_id=device.id, method=status, params="{}", status=status, created_ms=at, expires_ms=at + 30_000))
        db.session.commit()

    prune(app)

    with app.app_context():
        assert [event.at_ms for event in rows_of(AlertEvent, device.id)] == [recent]
        assert [notification.created_ms for notification in rows_of(Notification, device.id)] == [recent]
        about_no_device = select(Notification.created_ms).where(Notification.user_id == device.owner.id, Notification.device_id.is_(None))
        assert db.session.scalars(about_no_device).all() == [recent], "notifications about no one device keep RETENTION_DAYS"
        assert sorted((command.created_ms, command.status) for command in rows_of(Command, device.id)) == [
            (old, "queued"), (recent, "answered"), (recent, "queued"), (recent, "timed_out")
        ], "a command not yet finished is kept, however old"


def test_retention_days_0_keeps_history_of_devices_without_their_own(app, make_device, add_readings, stored_timestamps, retention_days):
    retention_days(0)
    device = make_device()
    add_readings(device.id, "t", [(NOW - 3650 * DAY_MS, 1)])

    prune(app)

    assert stored_timestamps(device.id, "t") == [NOW - 3650 * DAY_MS]


def test_a_prune_deletes_in_chunks_no_larger_than_the_setting(app, make_device, add_readings, stored_timestamps, retention_days, monkeypatch):
    retention_days(1)
    monkeypatch.setitem(app.config, "RETENTION_PRUNE_CHUNK", 7)
    device = make_device()
    add_readings(device.id, "t", [(NOW - 2 * DAY_MS + i, i) for i in range(50)] + [(NOW, "kept")])
    remaining = []

    deleted = prune(app, pause=lambda: remaining.append(len(stored_timestamps(device.id, "t"))))

    assert deleted >= 50  # other tests' readings in this database are expired too
    steps = [before - after for before, after in zip([51] + remaining, remaining)]
    assert max(steps) == 7
    assert sum(steps) == 50
    assert stored_timestamps(device.id, "t") == [NOW]


def test_two_prunes_at_once_delete_each_expired_reading_once_and_nothing_else(
    app, second_worker, make_device, add_readings, stored_timestamps, retention_days, monkeypatch
):
    retention_days(10)
    second_worker.config["RETENTION_DAYS"] = 10
    for worker in (app, second_worker):
        monkeypatch.setitem(worker.config, "RETENTION_PRUNE_CHUNK", 50)
    devices = [make_device() for _ in range(3)]
    for device in devices:
        for key in ("a", "b"):
            add_readings(device.id, key, [(NOW - 20 * DAY_MS + i * 1000, i) for i in range(400)] + [(NOW - i * 1000, i) for i in range(5)])
    start = threading.Barrier(2)
    counts, errors = [], []

    def run(worker):
        try:
            start.wait(timeout=10)
            counts.append(prune(worker))
        except Exception as exc:  # reported below; a thread's exception would otherwise vanish
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(worker,)) for worker in (app, second_worker)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert len(counts) == 2
    assert sum(counts) >= 3 * 2 * 400  # our expired readings, each counted by the one prune that deleted it
    for device in devices:
        for key in ("a", "b"):
            assert stored_timestamps(device.id, key) == [NOW - i * 1000 for i in reversed(range(5))]
    assert prune(app) == 0  # idempotent: nothing left to do


def test_exactly_one_worker_claims_each_due_run(app, second_worker):
    name = f"test-job-{now_ms()}"
    start = threading.Barrier(2)
    claims = []

    def claim(worker):
        with worker.app_context():
            start.wait(timeout=10)
            claims.append(jobs.claim_due_run(name, NOW, 60_000))
            db.session.remove()

    threads = [threading.Thread(target=claim, args=(worker,)) for worker in (app, second_worker)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(claims) == [False, True]
    with app.app_context():
        assert jobs.claim_due_run(name, NOW + 59_999, 60_000) is False
        assert jobs.claim_due_run(name, NOW + 60_000, 60_000) is True
        db.session.remove()


def test_the_background_task_prunes_expired_history(app, make_device, add_readings, stored_timestamps, retention_days):
    retention_days(1)
    device = make_device()
    now = now_ms()
    add_readings(device.id, "t", [(now - 3 * DAY_MS, "old"), (now, "new")])
    with app.app_context():
        db.session.execute(ScheduledJob.__table__.delete().where(ScheduledJob.name == "prune_history"))
        db.session.commit()
    stop = threading.Event()
    worker = threading.Thread(target=background.prune_history_forever, args=(app, stop))
    worker.start()
    try:
        deadline = now_ms() + 20_000
        while stored_timestamps(device.id, "t") != [now] and now_ms() < deadline:
            stop.wait(0.05)
    finally:
        stop.set()
        worker.join(timeout=30)

    assert stored_timestamps(device.id, "t") == [now]
