"""Commands (RPC): an owner sends one, the device gets it in its answers (or a released long-poll), replies, and the
status follows: queued → delivered → answered, or timed_out."""
import threading

import pytest

from webapp.core.clock import now_ms
from webapp.services.devices import commands


def send(client, device, method="reboot", params=None, timeout=30):
    response = client.post(
        f"/api/devices/{device.id}/commands", json={"method": method, "params": params or {"delay": 1}, "timeout": timeout}, headers=device.owner.headers
    )
    assert response.status_code == 201, response.json
    return response.json


def status(client, device, command):
    return client.get(f"/api/devices/{device.id}/commands/{command['id']}", headers=device.owner.headers).json


def telemetry(client, device):
    return client.post(f"/devices/{device.id}/telemetry", json={"device_token": device.token, "data": {"v0": 1}})


def reply(client, device, command, result, token=None):
    return client.post(f"/devices/{device.id}/commands/{command['id']}", json={"device_token": token or device.token, "result": result})


def test_a_command_reaches_the_device_in_its_answers_until_it_replies(client, make_device):
    device = make_device()
    command = send(client, device, "setGpio", {"pin": 23, "value": 1})
    assert command["status"] == "queued"

    first, again = telemetry(client, device).json, client.get(f"/telemetry/latest?device_token={device.token}").json

    assert first["commands"] == again["commands"] == [{"id": command["id"], "method": "setGpio", "params": {"pin": 23, "value": 1}}]
    assert status(client, device, command)["status"] == "delivered"
    assert reply(client, device, command, {"ok": True}).json == {"id": command["id"], "status": "answered"}
    answered = status(client, device, command)
    assert (answered["status"], answered["result"]) == ("answered", {"ok": True})
    assert "commands" not in telemetry(client, device).json


def test_a_device_without_commands_gets_its_answers_as_before(client, make_device):
    device = make_device()

    assert set(telemetry(client, device).json) == {"message", "device_id", "data", "timestamp"}


def test_a_waiting_long_poll_returns_the_command_at_once(app, client, make_device, subscribed):
    device = make_device()
    etag = client.get(f"/telemetry/latest?device_token={device.token}").headers["ETag"]
    result = {}

    def long_poll():
        result["response"] = app.test_client().get(f"/telemetry/latest?device_token={device.token}&wait=30", headers={"If-None-Match": etag})

    thread = threading.Thread(target=long_poll)
    thread.start()
    assert subscribed.wait(10), "the long-poll never subscribed"
    command = send(client, device)
    thread.join(10)

    assert not thread.is_alive(), "the command did not release the long-poll"
    assert result["response"].status_code == 200
    assert [entry["id"] for entry in result["response"].json["commands"]] == [command["id"]]
    assert result["response"].headers["ETag"] != etag


def test_a_batch_upload_does_not_count_as_delivering(client, make_device):
    device = make_device()
    command = send(client, device)

    client.post(f"/devices/{device.id}/telemetry/batch", json={"device_token": device.token, "records": [{"ts": 1795770000, "data": {"n": 1}}]})

    assert status(client, device, command)["status"] == "queued"


def test_an_unanswered_command_times_out_and_takes_no_late_reply(app, client, make_device):
    device = make_device()
    command = send(client, device, timeout=5)
    telemetry(client, device)
    with app.app_context():
        assert commands.time_out_expired(now_ms() + 6000) == [command["id"]]

    late = reply(client, device, command, "done")

    assert status(client, device, command)["status"] == "timed_out"
    assert (late.status_code, late.json["error"]) == (409, "conflict")
    assert "commands" not in telemetry(client, device).json


def test_a_second_reply_is_409(client, make_device):
    device = make_device()
    command = send(client, device)
    reply(client, device, command, 1)

    assert reply(client, device, command, 2).status_code == 409
    assert status(client, device, command)["result"] == 1


def test_only_the_device_may_reply_and_only_to_its_own_commands(client, make_device):
    device, other = make_device(), make_device()
    command = send(client, device)

    assert reply(client, device, command, "x", token=other.token).status_code == 403
    assert client.post(f"/devices/{other.id}/commands/{command['id']}", json={"device_token": other.token, "result": 1}).status_code == 404
    assert client.post(f"/devices/{device.id}/commands/abc", json={"device_token": device.token, "result": 1}).status_code == 404
    assert status(client, device, command)["status"] == "queued"


def test_the_owner_lists_commands_newest_first(client, make_device):
    device = make_device()
    first, second = send(client, device, "one"), send(client, device, "two")

    listed = client.get(f"/api/devices/{device.id}/commands", headers=device.owner.headers).json["commands"]

    assert [entry["id"] for entry in listed] == [second["id"], first["id"]]


def test_a_bad_command_is_400(client, make_device):
    device = make_device()

    response = client.post(f"/api/devices/{device.id}/commands", json={"method": "no spaces", "timeout": 0}, headers=device.owner.headers)

    assert response.status_code == 400
    assert "method" in response.json["message"]


def test_an_id_too_large_for_any_row_is_404(client, make_device):
    device = make_device()

    assert client.get(f"/api/devices/{device.id}/commands/{2**80}", headers=device.owner.headers).status_code == 404
    assert client.post(f"/devices/{device.id}/commands/{2**80}", json={"device_token": device.token, "result": 1}).status_code == 404


# JSON text written by hand: the test client would encode with orjson, which cannot hold these values either.
UNSTORABLE = ['{"deep": [{"n": -13976826694785243136}]}', "18446744073709551616", '{"n": NaN}', "[Infinity]"]


@pytest.mark.parametrize("value", UNSTORABLE)
def test_params_json_cannot_hold_are_refused_and_nothing_is_queued(client, make_device, value):
    device = make_device()

    response = client.post(
        f"/api/devices/{device.id}/commands", data=f'{{"method": "set", "params": {value}}}', content_type="application/json", headers=device.owner.headers
    )

    assert response.status_code == 400, response.json
    assert "params" in response.json["message"]
    assert client.get(f"/api/devices/{device.id}/commands", headers=device.owner.headers).json["commands"] == []


@pytest.mark.parametrize("value", UNSTORABLE)
def test_a_result_json_cannot_hold_is_refused_and_the_command_still_waits_for_one(client, make_device, value):
    device = make_device()
    command = send(client, device)

    refused = client.post(f"/devices/{device.id}/commands/{command['id']}", data=f'{{"device_token": "{device.token}", "result": {value}}}', content_type="application/json")

    assert refused.status_code == 400, refused.json
    assert status(client, device, command)["status"] == "queued"
    assert reply(client, device, command, 2**63 - 1).status_code == 200
    assert status(client, device, command)["result"] == 2**63 - 1
