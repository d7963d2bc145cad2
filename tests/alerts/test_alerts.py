"""Alerts: readings raise and clear them, time raises what waits ("for N seconds", "no data"); each
transition is recorded, notified (with the cooldown) and sent to webhooks once. See docs/ALERTS.md."""
import time

import pytest

from tests.presence.helpers import age_cooldowns, notifications_of, queued_events
from webapp.core.clock import now_ms
from webapp.extensions import db
from webapp.services.alerts import evaluation


@pytest.fixture
def greenhouse(make_device):
    return make_device(name="Greenhouse")


@pytest.fixture
def report(client, settle):
    """A live reading from the device, stored and announced before it returns."""

    def send(device, **data):
        response = client.post(f"/devices/{device.id}/telemetry", json={"device_token": device.token, "data": data})
        assert response.status_code == 200, response.get_json()
        settle()

    return send


@pytest.fixture
def report_past(client, settle):
    """Readings the device buffered: `report_past(device, (seconds ago, {data}), …)`."""

    def send(device, *records):
        body = {"device_token": device.token, "records": [{"ts": time.time() - age, "data": data} for age, data in records]}
        response = client.post(f"/devices/{device.id}/telemetry/batch", json=body)
        assert response.status_code == 200 and response.get_json()["accepted"] == len(records), response.get_json()
        settle()

    return send


def add_rule(client, device, **spec):
    response = client.post(f"/api/devices/{device.id}/alerts", json=spec, headers=device.owner.headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def rule_state(client, device, rule):
    listed = client.get(f"/api/devices/{device.id}/alerts", headers=device.owner.headers).get_json()["rules"]
    return next(found for found in listed if found["id"] == rule["id"])["state"]


def history(client, device):
    events = client.get(f"/api/devices/{device.id}/alerts/history", headers=device.owner.headers).get_json()["events"]
    return [(event["kind"], event["description"], event["value"]) for event in reversed(events)]


def check_due(app, seconds_from_now=0):
    """The alert check, as the worker that claims a run does it, at now + `seconds_from_now`."""
    with app.app_context():
        raised = evaluation.raise_due_alerts(now_ms() + seconds_from_now * 1000)
        db.session.remove()
    return raised


def test_a_reading_over_the_threshold_raises_the_alert_and_one_back_under_clears_it(app, client, greenhouse, report, make_webhook, receiver):
    hook = make_webhook(greenhouse, receiver.url, events=["alert_raised", "alert_cleared"])
    rule = add_rule(client, greenhouse, key="temperature", condition=">", value=30)
    assert rule["description"] == "temperature > 30" and rule["state"] == "ok"

    report(greenhouse, temperature=25, humidity=90)
    assert rule_state(client, greenhouse, rule) == "ok"
    report(greenhouse, temperature=31.5)
    assert rule_state(client, greenhouse, rule) == "active"
    report(greenhouse, temperature=33)
    report(greenhouse, temperature=28)

    assert rule_state(client, greenhouse, rule) == "ok"
    assert history(client, greenhouse) == [("raised", "temperature > 30", 31.5), ("cleared", "temperature > 30", 28)]
    assert notifications_of(app, greenhouse.id) == [
        ("online", "Greenhouse came online", 0),
        ("alert", "Greenhouse alert: temperature > 30 (reads 31.5)", 0),
        ("alert_cleared", "Greenhouse alert cleared: temperature > 30 (reads 28)", 0),
    ]
    assert queued_events(app, hook["id"], "alert_raised") == 1
    assert queued_events(app, hook["id"], "alert_cleared") == 1


def test_below_outside_a_range_and_equal_to_a_text(client, greenhouse, report):
    below = add_rule(client, greenhouse, key="battery", condition="<", value=3.3)
    outside = add_rule(client, greenhouse, key="humidity", condition="outside", low=30, high=70)
    equal = add_rule(client, greenhouse, key="door", condition="=", value="open")

    report(greenhouse, battery=3.1, humidity=50, door="closed")
    report(greenhouse, battery=3.7, humidity=75, door="open")
    report(greenhouse, humidity=20)

    assert history(client, greenhouse) == [
        ("raised", "battery < 3.3", 3.1),
        ("cleared", "battery < 3.3", 3.7),
        ("raised", "humidity outside 30–70", 75),
        ("raised", 'door = "open"', "open"),
    ]
    assert [rule_state(client, greenhouse, rule) for rule in (below, outside, equal)] == ["ok", "active", "active"]


def test_a_condition_raises_only_once_it_has_held_for_its_seconds(app, client, greenhouse, report, report_past):
    rule = add_rule(client, greenhouse, key="temperature", condition="<", value=5, for_seconds=60)
    assert rule["description"] == "temperature < 5 for 60 s"

    # Frost for 40 s, then warmer: it never held for a minute.
    report_past(greenhouse, (100, {"temperature": 3}), (60, {"temperature": 2}), (30, {"temperature": 9}))
    assert check_due(app, seconds_from_now=300) == 0
    # Frost again: pending from its first reading; a later reading a minute on raises it...
    report_past(greenhouse, (25, {"temperature": 4}))
    assert rule_state(client, greenhouse, rule) == "pending"
    assert check_due(app) == 0
    # ...and so does the check, when no reading comes, once the minute has passed.
    assert check_due(app, seconds_from_now=40) == 1

    assert rule_state(client, greenhouse, rule) == "active"
    assert history(client, greenhouse) == [("raised", "temperature < 5 for 60 s", 4)]
    report(greenhouse, temperature=3)
    report(greenhouse, temperature=6)
    assert history(client, greenhouse)[1:] == [("cleared", "temperature < 5 for 60 s", 6)]


def test_no_data_for_n_seconds_is_raised_by_the_check_and_cleared_by_the_next_reading(app, client, greenhouse, report):
    # Reported before the rule exists: the ingest, told the device has no rule, learns of the new one.
    report(greenhouse, temperature=20)
    rule = add_rule(client, greenhouse, key="temperature", condition="no_data", for_seconds=120)

    assert check_due(app, seconds_from_now=100) == 0
    assert check_due(app, seconds_from_now=121) == 1
    assert check_due(app, seconds_from_now=200) == 0
    assert rule_state(client, greenhouse, rule) == "active"
    report(greenhouse, humidity=40)
    assert rule_state(client, greenhouse, rule) == "active"
    report(greenhouse, temperature=21)

    assert rule_state(client, greenhouse, rule) == "ok"
    assert history(client, greenhouse) == [("raised", "temperature: no data for 120 s", None), ("cleared", "temperature: no data for 120 s", 21)]
    assert [kind for kind, _, _ in notifications_of(app, greenhouse.id) if kind.startswith("alert")] == ["alert", "alert_cleared"]


def test_readings_older_than_the_newest_one_seen_change_nothing(client, greenhouse, report, report_past):
    rule = add_rule(client, greenhouse, key="temperature", condition=">", value=30)
    report(greenhouse, temperature=20)

    report_past(greenhouse, (3600, {"temperature": 99}))

    assert rule_state(client, greenhouse, rule) == "ok"
    assert history(client, greenhouse) == []


def test_a_flapping_alert_notifies_once_per_cooldown_while_history_and_webhooks_get_every_transition(
    app, client, greenhouse, report, make_webhook, receiver, monkeypatch
):
    monkeypatch.setitem(app.config, "NOTIFICATION_COOLDOWN", 300)
    hook = make_webhook(greenhouse, receiver.url, events=["alert_raised", "alert_cleared"])
    add_rule(client, greenhouse, key="temperature", condition=">", value=30)

    for _ in range(3):
        report(greenhouse, temperature=35)
        report(greenhouse, temperature=25)

    assert [kind for kind, _, _ in history(client, greenhouse)] == ["raised", "cleared"] * 3
    assert [(kind, muted) for kind, _, muted in notifications_of(app, greenhouse.id) if kind.startswith("alert")] == [("alert", 2), ("alert_cleared", 2)]
    assert queued_events(app, hook["id"], "alert_raised") == 3
    assert queued_events(app, hook["id"], "alert_cleared") == 3
    age_cooldowns(app, greenhouse.id, 301)
    report(greenhouse, temperature=35)
    assert notifications_of(app, greenhouse.id, kind="alert")[-1] == ("alert", "Greenhouse alert: temperature > 30 (reads 35)", 0)


def test_two_alerts_of_one_device_at_once_make_one_notification_naming_both(app, client, greenhouse, report):
    add_rule(client, greenhouse, key="temperature", condition=">", value=30)
    add_rule(client, greenhouse, key="humidity", condition=">", value=80)

    report(greenhouse, temperature=31, humidity=85)

    assert notifications_of(app, greenhouse.id, kind="alert") == [
        ("alert", "Greenhouse alert: temperature > 30 (reads 31); alert: humidity > 80 (reads 85)", 0)
    ]


def test_rules_are_checked_listed_and_deleted_through_the_api(app, client, greenhouse, make_user, report):
    headers = greenhouse.owner.headers
    url = f"/api/devices/{greenhouse.id}/alerts"
    refused = [
        client.post(url, json=spec, headers=headers)
        for spec in (
            {"key": "temperature", "condition": ">", "value": "hot"},
            {"key": "temperature", "condition": "outside", "low": 70, "high": 30},
            {"key": "temperature", "condition": "no_data"},
            {"key": "temperature", "condition": "=", "for_seconds": 10},
            {"key": "bad key", "condition": ">", "value": 1},
            {"key": "temperature", "condition": "between", "value": 1},
        )
    ]
    rule = add_rule(client, greenhouse, key="temperature", condition=">", value=30)
    report(greenhouse, temperature=40)
    stranger = make_user()

    assert [response.status_code for response in refused] == [400] * len(refused)
    assert "needs a number as value" in refused[0].get_json()["message"]
    assert client.get(url, headers=stranger.headers).status_code == 404
    assert client.delete(f"{url}/{rule['id']}", headers=stranger.headers).status_code == 404
    assert client.delete(f"{url}/{rule['id']}", headers=headers).status_code == 204
    assert client.get(url, headers=headers).get_json() == {"rules": []}
    assert client.delete(f"{url}/{rule['id']}", headers=headers).status_code == 404
    # The history outlives the rule.
    assert history(client, greenhouse) == [("raised", "temperature > 30", 40)]

