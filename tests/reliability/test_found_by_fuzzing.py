"""Regressions: bugs the fuzzer and the property tests found, each pinned by the request that showed it."""
import json

from sqlalchemy import func, select

from webapp.extensions import db
from webapp.models import Reading


def test_patch_with_null_settings_is_400_not_500(client, make_device):
    """Found by schemathesis: `{"disabled": null, "offline_timeout": null}` hit a NOT NULL column (500)."""
    device = make_device()

    for field in ("name", "offline_timeout", "disabled"):
        response = client.patch(f"/api/devices/{device.id}", json={field: None}, headers=device.owner.headers)
        assert response.status_code == 400, field
        assert response.json["error"] == "invalid_request" and field in response.json["message"]

    reset = client.patch(f"/api/devices/{device.id}", json={"retention_days": None}, headers=device.owner.headers)
    assert reset.status_code == 200 and reset.json["retention_days"] is None


def test_integer_beyond_64_bits_is_refused_not_stored_as_a_rounded_float(app, client, make_device):
    """Found by the ingest property: 2**63 was accepted as the float 9.223372036854776e18."""
    device = make_device()

    for number in (2**63, -(2**63) - 1, 10**30):
        body = json.dumps({"device_token": device.token, "data": {"count": number}})  # orjson cannot write such numbers
        response = client.post(f"/devices/{device.id}/telemetry", data=body, content_type="application/json")
        assert response.status_code == 400, number
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Reading).where(Reading.device_id == device.id)) == 0


def test_document_says_data_keys_must_match_the_pattern(client):
    """Found by schemathesis: the document allowed any key in `data`, the server refused them (400)."""
    schemas = client.get("/openapi.json").json["components"]["schemas"]

    for model in ("TelemetryIn", "BatchRecord"):
        assert schemas[model]["properties"]["data"]["additionalProperties"] is False


def test_document_gives_the_pin_key_pattern(client):
    """Found by schemathesis: the `key` path parameter was documented as any string; most were refused."""
    operation = client.get("/openapi.json").json["paths"]["/api/devices/{device_id}/pins/{key}"]["put"]

    (key,) = [parameter for parameter in operation["parameters"] if parameter["name"] == "key"]
    assert key["schema"]["pattern"] == "^[A-Za-z_][A-Za-z0-9_.-]{0,63}$"
    assert [parameter["name"] for parameter in operation["parameters"]].count("key") == 1


def test_nul_in_free_text_is_400_not_500(client, make_user):
    """Found by schemathesis on PostgreSQL, whose text cannot hold NUL: a device name with one answered 500."""
    admin = make_user(admin=True)

    named = client.post("/api/devices", json={"name": "lamp\u0000"}, headers=admin.headers)
    owned = client.post("/api/devices", json={"name": "lamp", "owner_email": "a\u0000@example.com"}, headers=admin.headers)

    assert (named.status_code, owned.status_code) == (400, 400)
    assert "name" in named.json["message"] and "owner_email" in owned.json["message"]


def test_malformed_device_id_in_the_path_is_404_not_500(client, make_device):
    """Found on PostgreSQL: a device id holding NUL reached the database, which refused it (500)."""
    device = make_device()

    posted = client.post("/devices/ab%00cd/telemetry", json={"device_token": device.token, "data": {"v0": 1}})
    owned = client.get("/api/devices/ab%00cd", headers=device.owner.headers)
    uppercase = client.get(f"/api/devices/{device.id.upper()}", headers=device.owner.headers)

    assert (posted.status_code, owned.status_code, uppercase.status_code) == (404, 404, 404)
    assert posted.json["error"] == "not_found"


def test_owner_body_too_large_is_a_documented_413(client, make_device):
    """Found by schemathesis: PUT …/rules with a body over 64 KiB answered 413, which was not documented."""
    device = make_device()
    rules = [{"name": f"r{i}", "type": "allowed_keys", "keys": [f"k{j}" for j in range(200)]} for i in range(50)]

    response = client.put(f"/api/devices/{device.id}/rules", json={"rules": rules}, headers=device.owner.headers)

    assert response.status_code == 413 and response.json["error"] == "payload_too_large"
    paths = client.get("/openapi.json").json["paths"]
    for path, method in [("/api/devices", "post"), ("/api/devices/{device_id}", "patch"),
                         ("/api/devices/{device_id}/pins/{key}", "put"), ("/api/devices/{device_id}/rules", "put")]:
        assert "413" in paths[path][method]["responses"], (method, path)
