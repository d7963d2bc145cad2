"""Provisioning keys: an owner makes one, boards flashed with it get a device each from POST /devices/provision."""
import pytest
from sqlalchemy import select

from webapp.core.clock import now_ms
from webapp.extensions import db
from webapp.models import ProvisioningKey

HARDWARE = "a4cf12345678"


def make_key(client, owner, **fields):
    response = client.post("/api/provisioning-keys", json={"name": "Greenhouse fleet", "max_devices": 3} | fields, headers=owner.headers)
    assert response.status_code == 201, response.json
    return response.json


def provision(client, key, hardware_id=HARDWARE, **fields):
    body = {"provisioning_key": key["key"], "provisioning_secret": key["secret"], "hardware_id": hardware_id} | fields
    return client.post("/devices/provision", json=body)


def telemetry(client, answer):
    return client.post(f"/devices/{answer['device_id']}/telemetry", json={"device_token": answer["device_token"], "data": {"v0": 1}})


def test_a_new_key_shows_its_secret_once_and_keeps_only_its_hash(app, client, make_user):
    owner = make_user()

    key = make_key(client, owner, expires_at="2099-01-01T00:00:00Z")

    assert key["status"] == "active" and key["expires_at"] == "2099-01-01T00:00:00.000Z"
    listed = client.get("/api/provisioning-keys", headers=owner.headers).json["keys"]
    assert [entry["key"] for entry in listed] == [key["key"]]
    assert "secret" not in listed[0]
    with app.app_context():
        stored = db.session.scalar(select(ProvisioningKey).where(ProvisioningKey.key == key["key"]))
        assert key["secret"] not in (stored.secret_hash, stored.key, stored.name)


def test_a_board_gets_its_own_device_of_the_key_owner(client, make_user):
    owner = make_user()
    key = make_key(client, owner)

    answer = provision(client, key, name="greenhouse")

    assert answer.status_code == 201
    assert telemetry(client, answer.json).status_code == 200
    device = client.get(f"/api/devices/{answer.json['device_id']}", headers=owner.headers).json
    assert (device["name"], device["owner"]) == ("greenhouse", owner.email)


def test_the_same_board_again_is_the_same_device_with_a_new_token_and_the_old_one_refused(client, make_user):
    key = make_key(client, make_user())
    first = provision(client, key).json

    again = provision(client, key)

    assert again.status_code == 200
    assert again.json["device_id"] == first["device_id"] and again.json["device_token"] != first["device_token"]
    assert telemetry(client, first).status_code == 403
    assert telemetry(client, again.json).status_code == 200


def test_the_key_lists_the_devices_it_made_and_its_refusals(client, make_user):
    owner = make_user()
    key = make_key(client, owner)
    made = provision(client, key).json
    provision(client, key)
    provision(client, key | {"secret": "w" * 43}, hardware_id="a4cf00000001")

    detail = client.get(f"/api/provisioning-keys/{key['id']}", headers=owner.headers).json

    assert [(entry["device_id"], entry["hardware_id"], entry["times"]) for entry in detail["devices"]] == [(made["device_id"], HARDWARE, 2)]
    assert [(refusal["reason"], refusal["hardware_id"]) for refusal in detail["refusals"]] == [("wrong_secret", "a4cf00000001")]
    assert (detail["devices_created"], detail["refused_count"]) == (1, 1)


@pytest.mark.parametrize("wrong", ["key", "secret"])
def test_a_wrong_key_or_secret_is_401(client, make_user, wrong):
    key = make_key(client, make_user())

    response = provision(client, key | {wrong: "x" * 20})

    assert response.status_code == 401
    assert response.json["error"] == "invalid_provisioning_key"
    assert key["secret"] not in response.get_data(as_text=True)


def test_a_used_up_key_refuses_new_boards_but_not_those_it_made(client, make_user):
    key = make_key(client, make_user(), max_devices=1)
    assert provision(client, key).status_code == 201

    refused = provision(client, key, hardware_id="a4cf00000002")

    assert (refused.status_code, refused.json["error"]) == (403, "provisioning_key_used_up")
    assert provision(client, key).status_code == 200


def test_an_expired_key_is_403(app, client, make_user):
    key = make_key(client, make_user())
    with app.app_context():
        db.session.get(ProvisioningKey, key["id"]).expires_ms = now_ms() - 1
        db.session.commit()

    response = provision(client, key)

    assert (response.status_code, response.json["error"]) == (403, "provisioning_key_expired")


def test_attempts_past_the_limit_are_429_with_retry_after(app, client, make_user, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_PROVISIONING", "2 per 60 seconds")
    key = make_key(client, make_user())

    statuses = [provision(client, key).status_code for _ in range(3)]

    assert statuses[:2] == [201, 200]
    response = provision(client, key)
    assert response.status_code == 429 and int(response.headers["Retry-After"]) > 0


def test_a_revoked_key_is_refused(client, make_user):
    owner = make_user()
    key = make_key(client, owner)
    made = provision(client, key).json

    assert client.delete(f"/api/provisioning-keys/{key['id']}", headers=owner.headers).status_code == 204

    assert provision(client, key).status_code == 401
    assert telemetry(client, made).status_code == 200


def test_another_users_key_is_404(client, make_user):
    key = make_key(client, make_user())

    assert client.get(f"/api/provisioning-keys/{key['id']}", headers=make_user().headers).status_code == 404


@pytest.mark.parametrize(
    ("fields", "field"),
    [({"max_devices": 0}, "max_devices"), ({"expires_at": "2001-01-01T00:00:00Z"}, "not in the future"), ({"expires_at": "soon"}, "expires_at")],
)
def test_a_bad_key_request_is_400(client, make_user, fields, field):
    response = client.post("/api/provisioning-keys", json={"name": "fleet", "max_devices": 3} | fields, headers=make_user().headers)

    assert response.status_code == 400
    assert field in response.json["message"]


@pytest.mark.parametrize(("fields", "field"), [({"hardware_id": "A4:CF:12:34:56:78"}, "hardware_id"), ({"provisioning_key": "short"}, "provisioning_key")])
def test_a_bad_provisioning_request_is_400(client, make_user, fields, field):
    key = make_key(client, make_user())
    body = {"provisioning_key": key["key"], "provisioning_secret": key["secret"], "hardware_id": HARDWARE} | fields

    response = client.post("/devices/provision", json=body)

    assert response.status_code == 400
    assert field in response.json["message"]


def test_an_id_too_large_for_any_row_is_404(client, make_user):
    owner = make_user()

    assert client.get(f"/api/provisioning-keys/{2**80}", headers=owner.headers).status_code == 404
    assert client.delete(f"/api/provisioning-keys/{2**80}", headers=owner.headers).status_code == 404
