"""Webhooks hear how a firmware update ended (event `ota`): booted, failed or rolled back; not every step."""
from tests.ota.helpers import assign, esp32_image, report, telemetry, uploaded


def test_the_outcomes_of_updates_reach_a_webhook_and_the_steps_do_not(client, make_device, make_webhook, receiver, deliver_until):
    device = make_device()
    make_webhook(device, receiver.url, events=["ota"])
    telemetry(client, device, fw="1.0.0")
    assign(client, device, uploaded(client, device.owner, esp32_image(), version="1.1.0"))
    report(client, device, "downloading", bytes=4096)
    report(client, device, "applied")
    report(client, device, "booted", version="1.1.0")
    telemetry(client, device, fw="1.1.0")
    assign(client, device, uploaded(client, device.owner, esp32_image(), version="1.2.0"))
    report(client, device, "applied")
    report(client, device, "booted", version="1.1.0")

    deliver_until(lambda: len(receiver.received(device.id)) == 2, what="two ota events")
    booted, rolled_back = sorted((request.json for request in receiver.received(device.id)), key=lambda event: event["version"])

    assert {request.event for request in receiver.received(device.id)} == {"ota"}
    assert (booted["status"], booted["version"], booted["from_version"]) == ("booted", "1.1.0", "1.0.0")
    assert (rolled_back["status"], rolled_back["version"], rolled_back["from_version"]) == ("rolled_back", "1.2.0", "1.1.0")
    assert "Booted 1.1.0 again" in rolled_back["reason"]
