"""Notifications: stored per user, live, listed and marked read; a cooldown stops flapping spam."""
from tests.presence.helpers import age_cooldowns, age_device, notifications_of, queued_events, settle, sweep
from webapp.pubsub.broker import current_broker
from webapp.pubsub.channels import user_channel


def post(client, device):
    return client.post(f"/devices/{device.id}/telemetry", json={"device_token": device.token, "data": {"v0": 1}})


def flap(app, client, device):
    """Online, then offline after the timeout: one full flap."""
    assert post(client, device).status_code == 200
    settle(app)
    age_device(app, device.id, 11)
    assert device.id in sweep(app)


def test_a_flapping_device_notifies_once_per_cooldown_and_counts_the_rest(app, client, make_device, make_webhook, receiver):
    device = make_device(name="Flappy", offline_timeout=10)
    hook = make_webhook(device, receiver.url, events=["online", "offline"])
    with app.app_context():
        subscription = current_broker().subscribe([user_channel(device.owner.id)])
    with subscription:
        for _ in range(10):
            flap(app, client, device)

        assert notifications_of(app, device.id) == [
            ("online", "Flappy came online", 9),
            ("offline", "Flappy went offline", 9),
        ]
        live = []
        while not any(event.get("muted_count") == 9 and event["kind"] == "offline" for event in live):
            received = subscription.get(5)
            assert received is not None, f"no live muted count 9 for offline; got {live}"
            live.append(received[1])
    assert [event["type"] for event in live[:2]] == ["notification", "notification"]
    assert [event["muted_count"] for event in live if event["type"] == "notification_muted" and event["kind"] == "online"] == list(range(1, 10))
    # Webhooks are not muted: every transition is an event.
    assert queued_events(app, hook["id"], "online") == 10
    assert queued_events(app, hook["id"], "offline") == 10


def test_after_the_cooldown_the_next_transition_notifies_again(app, client, make_device, monkeypatch):
    monkeypatch.setitem(app.config, "NOTIFICATION_COOLDOWN", 300)
    device = make_device(name="Door", offline_timeout=10)
    flap(app, client, device)
    flap(app, client, device)
    age_cooldowns(app, device.id, 299)
    flap(app, client, device)
    assert [kind for kind, _, _ in notifications_of(app, device.id)] == ["online", "offline"]

    age_cooldowns(app, device.id, 2)
    flap(app, client, device)
    assert notifications_of(app, device.id) == [
        ("online", "Door came online", 2),
        ("offline", "Door went offline", 2),
        ("online", "Door came online", 0),
        ("offline", "Door went offline", 0),
    ]


def test_a_rule_denial_notifies_with_cooldown(app, client, make_device):
    device = make_device(name="Meter")
    client.put(f"/api/devices/{device.id}/rules", json={"rules": [{"name": "keys", "type": "allowed_keys", "keys": ["v0"]}]}, headers=device.owner.headers)
    for _ in range(3):
        response = client.post(f"/devices/{device.id}/telemetry", json={"device_token": device.token, "data": {"v9": 1}})
        assert response.status_code == 403
    assert notifications_of(app, device.id, "rule_denied") == [("rule_denied", "Meter was denied by rule 'keys': key 'v9' is not allowed.", 2)]


def test_list_and_mark_read(app, client, make_device, make_user):
    device = make_device(name="Lamp", offline_timeout=10)
    flap(app, client, device)
    headers = device.owner.headers

    listed = client.get("/api/notifications", headers=headers).get_json()
    assert [n["message"] for n in listed["notifications"]] == ["Lamp went offline", "Lamp came online"]
    assert listed["unread_count"] == 2
    newest = listed["notifications"][0]
    assert newest["kind"] == "offline" and newest["read"] is False and newest["device_id"] == device.id
    assert newest["created_at"].endswith("Z") and newest["muted_count"] == 0

    # Another user can neither see nor mark them.
    stranger = make_user()
    assert client.get("/api/notifications", headers=stranger.headers).get_json() == {"notifications": [], "unread_count": 0}
    assert client.post("/api/notifications/read", json={"ids": [newest["id"]]}, headers=stranger.headers).get_json()["marked"] == 0

    marked = client.post("/api/notifications/read", json={"ids": [newest["id"]]}, headers=headers).get_json()
    assert marked == {"marked": 1, "unread_count": 1}
    unread = client.get("/api/notifications?unread=1", headers=headers).get_json()["notifications"]
    assert [n["message"] for n in unread] == ["Lamp came online"]
    assert client.post("/api/notifications/read", json={}, headers=headers).get_json() == {"marked": 1, "unread_count": 0}
    assert client.get("/api/notifications?limit=1", headers=headers).get_json()["notifications"][0]["read"] is True


def test_notification_api_errors(client, make_user):
    user = make_user()
    assert client.get("/api/notifications").status_code == 401
    bad_limit = client.get("/api/notifications?limit=x", headers=user.headers)
    assert bad_limit.status_code == 400 and bad_limit.get_json()["error"] == "invalid_request"
    bad_body = client.post("/api/notifications/read", json={"ids": "all"}, headers=user.headers)
    assert bad_body.status_code == 400 and "ids" in bad_body.get_json()["message"]
