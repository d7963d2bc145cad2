"""Security rules: allowed keys, numeric ranges, source networks, device disabled."""
import json

import pytest

from webapp.schemas import RulesOut


def set_rules(client, device, rules):
    return client.put(f"/api/devices/{device.id}/rules", json={"rules": rules}, headers=device.owner.headers)


def post(client, device, data, remote_addr="127.0.0.1"):
    return client.post(
        f"/devices/{device.id}/telemetry",
        json={"device_token": device.token, "data": data},
        environ_base={"REMOTE_ADDR": remote_addr},
    )


def test_allowed_keys_rule_denies_unknown_key_naming_the_rule(client, make_device):
    device = make_device()
    set_rules(client, device, [{"name": "known-keys", "type": "allowed_keys", "keys": ["v0", "temperature"]}])

    allowed = post(client, device, {"v0": 1, "temperature": 20})
    denied = post(client, device, {"v0": 1, "pressure": 1013})

    assert allowed.status_code == 200
    assert denied.status_code == 403
    assert denied.json["error"] == "rule_denied"
    assert denied.json["rule"] == "known-keys"
    assert "pressure" in denied.json["message"]


def test_range_rule(client, make_device):
    device = make_device()
    set_rules(client, device, [{"name": "sane-temperature", "type": "range", "key": "temperature", "min": -40, "max": 85}])

    assert post(client, device, {"temperature": 85}).status_code == 200
    assert post(client, device, {"temperature": -40.0}).status_code == 200
    assert post(client, device, {"humidity": 1000}).status_code == 200
    assert post(client, device, {"temperature": 85.1}).json["rule"] == "sane-temperature"
    assert post(client, device, {"temperature": "hot"}).status_code == 403


def test_source_network_rule(client, make_device):
    device = make_device()
    set_rules(client, device, [{"name": "office-lan", "type": "source_network", "networks": ["192.168.1.0/24", "10.0.0.0/8"]}])

    assert post(client, device, {"v0": 1}, remote_addr="192.168.1.77").status_code == 200
    assert post(client, device, {"v0": 1}, remote_addr="10.20.30.40").status_code == 200
    denied = post(client, device, {"v0": 1}, remote_addr="203.0.113.9")
    assert denied.status_code == 403 and denied.json["rule"] == "office-lan"


def test_source_network_applies_to_polling_too(client, make_device):
    device = make_device()
    set_rules(client, device, [{"name": "lan", "type": "source_network", "networks": ["10.0.0.0/8"]}])

    response = client.get("/telemetry/latest", query_string={"device_token": device.token}, environ_base={"REMOTE_ADDR": "198.51.100.1"})

    assert response.status_code == 403


def test_denials_are_counted_per_rule_and_device_and_store_nothing(client, make_device):
    device = make_device()
    set_rules(client, device, [{"name": "keys", "type": "allowed_keys", "keys": ["v0"]}])
    post(client, device, {"v0": 1})

    for _ in range(3):
        post(client, device, {"v0": 0, "x": 1})

    rules = RulesOut.model_validate(client.get(f"/api/devices/{device.id}/rules", headers=device.owner.headers).json)
    assert rules.denied_count == 3
    assert rules.rules[0].denied_count == 3
    latest = client.get("/telemetry/latest", query_string={"device_token": device.token}).json["data"]
    assert latest == {"v0": 1}


def test_denial_notifies_the_owner(app, client, make_device):
    from webapp.services import notifications
    from webapp.services.accounts import users

    device = make_device()
    set_rules(client, device, [{"name": "keys", "type": "allowed_keys", "keys": ["v0"]}])

    post(client, device, {"x": 1})

    with app.app_context():
        listed = notifications.list_notifications(users.find_user(device.owner.email))
        assert [(n.kind, n.device_id) for n in listed] == [("rule_denied", device.id)]
        assert "keys" in listed[0].message


def test_replacing_rules_removes_old_ones(client, make_device):
    device = make_device()
    set_rules(client, device, [{"name": "keys", "type": "allowed_keys", "keys": ["v0"]}])

    replaced = set_rules(client, device, [])

    assert replaced.json["rules"] == []
    assert post(client, device, {"anything": 1}).status_code == 200


@pytest.mark.parametrize(
    "rules",
    [
        [{"name": "r", "type": "range", "key": "t"}],
        [{"name": "r", "type": "range", "key": "t", "min": 5, "max": 1}],
        [{"name": "r", "type": "source_network", "networks": ["not-a-network"]}],
        [{"name": "r", "type": "allowed_keys", "keys": []}],
        [{"name": "r", "type": "teleport"}],
        [{"name": "same", "type": "allowed_keys", "keys": ["a"]}, {"name": "same", "type": "allowed_keys", "keys": ["b"]}],
        [{"name": "device_disabled", "type": "allowed_keys", "keys": ["a"]}],
    ],
)
def test_bad_rules_are_400_and_keep_the_old_rules(client, make_device, rules):
    device = make_device()
    set_rules(client, device, [{"name": "keys", "type": "allowed_keys", "keys": ["v0"]}])

    response = set_rules(client, device, rules)

    assert response.status_code == 400
    assert [r["name"] for r in client.get(f"/api/devices/{device.id}/rules", headers=device.owner.headers).json["rules"]] == ["keys"]


def test_rules_cli_shows_and_replaces(app, make_device, tmp_path):
    device = make_device()
    rules_file = tmp_path / "rules.json"
    rules_file.write_text(json.dumps({"rules": [{"name": "lan", "type": "source_network", "networks": ["10.0.0.0/8"]}]}))
    runner = app.test_cli_runner()

    replaced = runner.invoke(args=["device", "rules", device.id, "--set", str(rules_file)])
    shown = runner.invoke(args=["device", "rules", device.id])

    assert replaced.exit_code == 0, replaced.output
    assert json.loads(shown.output)["rules"][0]["params"] == {"networks": ["10.0.0.0/8"]}
    rules_file.write_text('{"rules": [{"name": "x", "type": "range", "key": "t"}]}')
    bad = runner.invoke(args=["device", "rules", device.id, "--set", str(rules_file)])
    assert bad.exit_code == 1 and "min, max" in bad.output
