"""Many devices of one owner changing at once: a few notifications, then one summary whose count grows."""
import threading

from tests.presence.helpers import age_device, age_groups, owner_notifications, queued_events, settle, sweep
from webapp.extensions import db
from webapp.pubsub.broker import current_broker
from webapp.pubsub.channels import user_channel
from webapp.services import notifications

AFTER = 3


def come_online(app, client, devices):
    """Each device's own request, one after another, as a reconnecting fleet sends them."""
    for device in devices:
        assert client.post(f"/devices/{device.id}/telemetry", json={"device_token": device.token, "data": {"v0": 1}}).status_code == 200
    settle(app)


def summaries(found):
    return [(message, count) for device_id, message, count in found if device_id is None]


def singles(found):
    return [device_id for device_id, _, _ in found if device_id is not None]


def test_a_fleet_coming_online_then_going_offline_gives_a_few_notifications_and_one_summary_each(
    app, client, make_user, make_device, make_webhook, receiver
):
    owner, neighbour = make_user(), make_user()
    fleet = [make_device(owner=owner, name=f"Sensor {n:02}", offline_timeout=10) for n in range(20)]
    theirs = [make_device(owner=neighbour, name=f"Pump {n}", offline_timeout=10) for n in range(2)]
    hooks = [make_webhook(device, receiver.url, events=["offline"]) for device in fleet]
    with app.app_context():
        subscription = current_broker().subscribe([user_channel(owner.id)])

    with subscription:
        come_online(app, client, fleet + theirs)
        for device in fleet + theirs:
            age_device(app, device.id, 11)
        gone = sweep(app)
        live = []
        # The sweep's summary comes last: all 20 went offline in one call.
        while not any(event["type"] == "notification" and event["kind"] == "offline" and event["grouped_count"] for event in live):
            received = subscription.get(5)
            assert received is not None, f"no offline summary live; got {live}"
            live.append(received[1])

    assert {device.id for device in fleet + theirs} <= set(gone)
    for kind, did in (("online", "came online"), ("offline", "went offline")):
        found = owner_notifications(app, owner.id, kind)
        assert len(singles(found)) == AFTER
        [(message, count)] = summaries(found)
        assert count == 20 - AFTER and message.startswith(f"17 more devices {did}: Sensor ") and message.endswith(" and 14 others")
        assert len(set(singles(found))) == AFTER
        # The neighbour's two devices are theirs alone, each notified.
        assert sorted(message for _, message, _ in owner_notifications(app, neighbour.id, kind)) == [f"Pump 0 {did}", f"Pump 1 {did}"]
    # Webhooks are not grouped: every device's hook has its event.
    assert sum(queued_events(app, hook["id"], "offline") for hook in hooks) == 20
    # Live: a toast per notification sent, the summary once, then its count growing in place.
    assert sum(event["type"] == "notification" for event in live) == 2 * (AFTER + 1)
    grown = [event["grouped_count"] for event in live if event["kind"] == "online" and event.get("grouped_count")]
    assert grown == sorted(grown) and grown[-1] == 17


def test_within_the_window_more_devices_fold_and_after_it_one_notifies_alone_again(app, client, make_user, make_device):
    owner = make_user()
    come_online(app, client, [make_device(owner=owner, name=f"Lamp {n}") for n in range(AFTER + 2)])
    come_online(app, client, [make_device(owner=owner, name="Late lamp")])
    assert summaries(owner_notifications(app, owner.id, "online")) == [("3 more devices came online: Lamp 3, Lamp 4 and Late lamp", 3)]

    age_groups(app, owner.id, 61)
    latest = make_device(owner=owner, name="Porch")
    come_online(app, client, [latest])

    found = owner_notifications(app, owner.id, "online")
    assert found[-1] == (latest.id, "Porch came online", 0)
    assert len(summaries(found)) == 1 and len(singles(found)) == AFTER + 1


def test_grouping_can_be_turned_off(app, client, make_user, make_device, monkeypatch):
    monkeypatch.setitem(app.config, "NOTIFICATION_GROUP_AFTER", 0)
    owner = make_user()
    come_online(app, client, [make_device(owner=owner) for _ in range(6)])
    found = owner_notifications(app, owner.id, "online")
    assert len(singles(found)) == 6 and summaries(found) == []


def test_two_workers_folding_at_once_count_into_one_summary(app, second_worker, make_user, make_device):
    owner = make_user()
    fleet = [make_device(owner=owner, name=f"Node {n:02}") for n in range(20)]
    start = threading.Barrier(2)
    errors = []

    def report_offline(worker, devices):
        try:
            start.wait(timeout=10)
            with worker.app_context():
                for device in devices:
                    notifications.notify_owner(device.id, "offline", "went offline")
                db.session.remove()
        except Exception as exc:  # reported below; a thread's exception would otherwise vanish
            errors.append(exc)

    threads = [threading.Thread(target=report_offline, args=(worker, fleet[n::2])) for n, worker in enumerate((app, second_worker))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    found = owner_notifications(app, owner.id, "offline")
    assert len(singles(found)) == AFTER
    [(message, count)] = summaries(found)
    assert count == 20 - AFTER and message.startswith("17 more devices went offline: Node ")
