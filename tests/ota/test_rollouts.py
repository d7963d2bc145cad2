"""A rollout offers an image to a first share of the devices, the rest once those have booted it; a failure pauses it."""
from tests.ota.helpers import esp32_image, report, telemetry, uploaded


def start(client, owner, firmware, devices=None, stage_percent=100):
    body = {"firmware_id": firmware["id"], "stage_percent": stage_percent}
    if devices is not None:
        body["device_ids"] = [device.id for device in devices]
    response = client.post("/api/rollouts", json=body, headers=owner.headers)
    assert response.status_code == 201, response.json
    return response.json


def statuses(client, owner, rollout):
    shown = client.get(f"/api/rollouts/{rollout['id']}", headers=owner.headers).json
    return shown["status"], {update["device_id"]: update["status"] for update in shown["updates"]}


def boot(client, device, version="1.1.0"):
    report(client, device, "applied")
    assert report(client, device, "booted", version=version).status_code == 200


def test_a_staged_rollout_offers_the_rest_once_the_first_stage_booted(client, make_user, make_device):
    owner = make_user()
    devices = [make_device(owner=owner) for _ in range(4)]
    rollout = start(client, owner, uploaded(client, owner, esp32_image()), stage_percent=25)
    first = devices_by_status(client, owner, rollout, devices)

    assert rollout["status"] == "active" and len(first["assigned"]) == 1 and len(first["staged"]) == 3
    assert all("ota" not in telemetry(client, device) for device in first["staged"])
    boot(client, first["assigned"][0])
    assert statuses(client, owner, rollout)[1] == {device.id: ("booted" if device in first["assigned"] else "assigned") for device in devices}
    for device in first["staged"]:
        assert "ota" in telemetry(client, device)
        boot(client, device)
    assert statuses(client, owner, rollout)[0] == "done"


def test_a_failure_pauses_the_rollout_until_it_is_resumed(client, make_user, make_device):
    owner = make_user()
    devices = [make_device(owner=owner) for _ in range(2)]
    rollout = start(client, owner, uploaded(client, owner, esp32_image()), devices=devices, stage_percent=50)
    first = devices_by_status(client, owner, rollout, devices)

    report(client, first["assigned"][0], "failed", reason="sha256 mismatch")
    assert statuses(client, owner, rollout)[0] == "paused"
    resumed = client.patch(f"/api/rollouts/{rollout['id']}", json={"status": "active"}, headers=owner.headers)

    assert resumed.json["status"] == "active"
    assert statuses(client, owner, rollout)[1][first["staged"][0].id] == "assigned"


def test_a_paused_rollout_offers_nothing_and_a_cancelled_one_cancels_its_updates(client, make_user, make_device):
    owner = make_user()
    device = make_device(owner=owner)
    rollout = start(client, owner, uploaded(client, owner, esp32_image()), devices=[device])

    paused = client.patch(f"/api/rollouts/{rollout['id']}", json={"status": "paused"}, headers=owner.headers)
    assert paused.json["status"] == "paused" and "ota" not in telemetry(client, device)
    cancelled = client.patch(f"/api/rollouts/{rollout['id']}", json={"status": "cancelled"}, headers=owner.headers)

    assert cancelled.json["status"] == "cancelled"
    assert statuses(client, owner, rollout)[1] == {device.id: "cancelled"}
    assert client.patch(f"/api/rollouts/{rollout['id']}", json={"status": "active"}, headers=owner.headers).status_code == 409


def test_a_rollout_takes_only_devices_its_owner_may_see(client, make_user, make_device):
    owner = make_user()
    stranger_device = make_device()
    firmware = uploaded(client, owner, esp32_image())

    response = client.post("/api/rollouts", json={"firmware_id": firmware["id"], "device_ids": [stranger_device.id]}, headers=owner.headers)
    nothing = client.post("/api/rollouts", json={"firmware_id": firmware["id"]}, headers=owner.headers)

    assert response.status_code == 404
    assert nothing.status_code == 409, "an owner without devices has nothing to roll out to"


def devices_by_status(client, owner, rollout, devices):
    by_id = {device.id: device for device in devices}
    grouped = {"assigned": [], "staged": []}
    for device_id, status in statuses(client, owner, rollout)[1].items():
        grouped[status].append(by_id[device_id])
    return grouped
