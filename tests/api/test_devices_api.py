"""The owner/admin API: register devices, rotate tokens, set pins; who may do what."""
import pytest

from webapp.schemas import DeviceCreatedOut, DeviceListOut, DeviceOut, TokenOut


def test_owner_registers_a_device_and_it_can_post(client, make_user):
    owner = make_user()

    created = client.post("/api/devices", json={"name": "Greenhouse", "offline_timeout": 30}, headers=owner.headers)

    assert created.status_code == 201
    body = DeviceCreatedOut.model_validate(created.json)
    assert len(body.device_id) == 24 and int(body.device_id, 16) >= 0
    assert body.owner == owner.email and body.offline_timeout == 30 and body.status == "offline"
    assert body.device_token.startswith(body.token_prefix)
    posted = client.post(f"/devices/{body.device_id}/telemetry", json={"device_token": body.device_token, "data": {"v0": 1}})
    assert posted.status_code == 200


def test_device_token_is_not_stored_in_clear(app, client, make_user):
    from sqlalchemy import select

    from webapp.extensions import db
    from webapp.models import Device

    owner = make_user()
    created = client.post("/api/devices", json={"name": "Vault"}, headers=owner.headers).json

    with app.app_context():
        stored = db.session.execute(select(Device.token_hash, Device.token_prefix).where(Device.id == created["device_id"])).one()
    assert created["device_token"] not in stored.token_hash
    assert stored.token_prefix == created["device_token"][:8]


@pytest.mark.parametrize("body", [{}, {"name": ""}, {"name": "x" * 101}, {"name": "ok", "offline_timeout": 1}, {"name": "ok", "color": "red"}])
def test_bad_registration_is_400(client, make_user, body):
    owner = make_user()

    response = client.post("/api/devices", json=body, headers=owner.headers)

    assert response.status_code == 400


def test_anonymous_gets_401_json(client):
    for method, path in [("post", "/api/devices"), ("get", "/api/devices"), ("post", "/api/devices/abc/token")]:
        response = getattr(client, method)(path, json={})
        assert response.status_code == 401
        assert response.json["error"] == "unauthorized"


def test_unknown_api_token_is_401(client):
    response = client.get("/api/devices", headers={"Authorization": "Bearer not-a-token"})

    assert response.status_code == 401


def test_users_see_only_their_devices_and_admins_all(client, make_user, make_device):
    alice, bob, admin = make_user(), make_user(), make_user(admin=True)
    alices = make_device(owner=alice)
    bobs = make_device(owner=bob)

    alice_sees = {d["device_id"] for d in DeviceListOut.model_validate(client.get("/api/devices", headers=alice.headers).json).model_dump()["devices"]}
    admin_sees = {d["device_id"] for d in client.get("/api/devices", headers=admin.headers).json["devices"]}

    assert alice_sees == {alices.id}
    assert {alices.id, bobs.id} <= admin_sees


@pytest.mark.parametrize(
    "method, suffix, body",
    [
        ("get", "", None),
        ("patch", "", {"name": "mine now"}),
        ("delete", "", None),
        ("post", "/token", None),
        ("put", "/pins/v0", {"value": 1}),
        ("get", "/rules", None),
        ("put", "/rules", {"rules": []}),
    ],
)
def test_another_users_device_is_404_and_untouched(client, make_user, make_device, method, suffix, body):
    device = make_device()
    intruder = make_user()

    response = getattr(client, method)(f"/api/devices/{device.id}{suffix}", json=body, headers=intruder.headers)

    assert response.status_code == 404
    assert client.get(f"/api/devices/{device.id}", headers=device.owner.headers).json["name"] == "Test ESP32"
    assert client.post(f"/devices/{device.id}/telemetry", json={"device_token": device.token, "data": {}}).status_code == 200


def test_rotated_token_works_and_old_one_is_403(client, make_device):
    device = make_device()

    rotated = client.post(f"/api/devices/{device.id}/token", headers=device.owner.headers)

    new_token = TokenOut.model_validate(rotated.json).device_token
    old = client.post(f"/devices/{device.id}/telemetry", json={"device_token": device.token, "data": {"v0": 1}})
    new = client.post(f"/devices/{device.id}/telemetry", json={"device_token": new_token, "data": {"v0": 1}})
    assert old.status_code == 403
    assert new.status_code == 200
    assert client.get("/telemetry/latest", query_string={"device_token": device.token}).status_code == 403


def test_admin_rotates_any_token_and_registers_for_others(client, make_user, make_device):
    admin, owner = make_user(admin=True), make_user()
    device = make_device(owner=owner)

    assert client.post(f"/api/devices/{device.id}/token", headers=admin.headers).status_code == 200
    created = client.post("/api/devices", json={"name": "For owner", "owner_email": owner.email}, headers=admin.headers)
    assert created.json["owner"] == owner.email


def test_non_admin_cannot_register_for_others(client, make_user):
    alice, bob = make_user(), make_user()

    response = client.post("/api/devices", json={"name": "x", "owner_email": bob.email}, headers=alice.headers)

    assert response.status_code == 403


def test_patch_changes_settings_and_disabled_device_is_refused(client, make_device):
    device = make_device()

    patched = client.patch(f"/api/devices/{device.id}", json={"name": "Porch", "offline_timeout": 120, "disabled": True}, headers=device.owner.headers)
    posted = client.post(f"/devices/{device.id}/telemetry", json={"device_token": device.token, "data": {"v0": 1}})

    body = DeviceOut.model_validate(patched.json)
    assert (body.name, body.offline_timeout, body.disabled) == ("Porch", 120, True)
    assert posted.status_code == 403
    assert posted.json == {"error": "rule_denied", "message": posted.json["message"], "rule": "device_disabled"}


def test_delete_removes_device_and_its_token(client, make_device):
    device = make_device()
    client.post(f"/devices/{device.id}/telemetry", json={"device_token": device.token, "data": {"v0": 1}})

    assert client.delete(f"/api/devices/{device.id}", headers=device.owner.headers).status_code == 204
    assert client.get(f"/api/devices/{device.id}", headers=device.owner.headers).status_code == 404
    assert client.post(f"/devices/{device.id}/telemetry", json={"device_token": device.token, "data": {}}).status_code == 404


@pytest.mark.parametrize("key, body", [("bad key", {"value": 1}), ("v0", {"value": [1]}), ("v0", {}), ("v0", {"value": None})])
def test_bad_pin_requests_are_400(client, make_device, key, body):
    device = make_device()

    response = client.put(f"/api/devices/{device.id}/pins/{key}", json=body, headers=device.owner.headers)

    assert response.status_code == 400
