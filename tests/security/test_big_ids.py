"""Ids of 2^63 and more name no row: 404 in a path, 400 in a body, never 500 (SQLite and PostgreSQL overflow on them)."""
import json

import pytest

from webapp.core.ids import MAX_ID

TOO_BIG = (MAX_ID + 1, 2**64, 10**30)


def path_calls(device_id, too_big):
    """The routes the outside security pass found answering 500 for such an id, and the others that take one."""
    widget = f"/devices/{device_id}/widgets/{too_big}"
    return [
        ("GET", f"{widget}/edit", None),
        ("PUT", widget, {"kind": "value", "label": "x", "key": "t"}),
        ("POST", widget, {"kind": "value", "label": "x", "key": "t"}),
        ("DELETE", widget, None),
        ("POST", f"{widget}/remove", None),
        ("POST", f"{widget}/toggle", {"value": "1"}),
        ("GET", f"/api/devices/{device_id}/webhooks/{too_big}", None),
        ("PATCH", f"/api/devices/{device_id}/webhooks/{too_big}", {"enabled": True}),
        ("DELETE", f"/api/devices/{device_id}/webhooks/{too_big}", None),
        ("GET", f"/api/devices/{device_id}/commands/{too_big}", None),
        ("DELETE", f"/api/devices/{device_id}/alerts/{too_big}", None),
        ("POST", f"/devices/{device_id}/alerts/{too_big}/remove", None),
        ("GET", f"/api/provisioning-keys/{too_big}", None),
        ("DELETE", f"/api/provisioning-keys/{too_big}", None),
        ("POST", f"/provisioning/{too_big}/revoke", None),
        ("POST", f"/admin/users/{too_big}/password", None),
    ]


@pytest.mark.parametrize("too_big", TOO_BIG)
def test_an_id_too_big_for_the_database_in_a_path_is_not_found(client, make_device, make_user, too_big):
    device = make_device()
    admin = make_user(admin=True)

    for method, path, body in path_calls(device.id, too_big):
        headers = admin.headers if path.startswith("/admin") else device.owner.headers
        as_json = path.startswith("/api")
        response = client.open(path, method=method, headers=headers, **({"json": body} if as_json else {"data": body}))
        assert response.status_code == 404, (method, path, response.status_code)


def test_the_largest_id_the_database_holds_is_looked_up_as_usual(client, make_device):
    device = make_device()

    response = client.get(f"/api/devices/{device.id}/webhooks/{MAX_ID}", headers=device.owner.headers)

    assert response.status_code == 404 and response.get_json()["error"] == "not_found"


@pytest.mark.parametrize("too_big", TOO_BIG)
def test_an_id_too_big_in_a_body_is_refused(client, make_device, too_big):
    device = make_device()

    body = json.dumps({"ids": [1, too_big]})  # orjson cannot write such numbers
    response = client.post("/api/notifications/read", data=body, content_type="application/json", headers=device.owner.headers)

    assert response.status_code == 400 and response.get_json()["error"] == "invalid_request"
    form = client.post("/notifications/read", data={"id": str(too_big)}, headers=device.owner.headers)
    assert form.status_code == 400


def test_a_provisioning_key_expiring_past_what_the_database_holds_is_refused(client, make_device):
    device = make_device()

    for expires_at in (2**70, "1e300"):
        body = json.dumps({"name": "fleet", "max_devices": 5, "expires_at": expires_at})
        response = client.post("/api/provisioning-keys", data=body, content_type="application/json", headers=device.owner.headers)
        assert response.status_code == 400, expires_at


def test_a_device_naming_a_command_id_too_big_is_told_there_is_no_such_command(client, make_device):
    device = make_device()

    response = client.post(f"/devices/{device.id}/commands/{MAX_ID + 1}", json={"device_token": device.token, "result": {}})

    assert response.status_code == 404
