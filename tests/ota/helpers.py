"""Firmware images and the calls an owner and a device make about them."""
import hashlib
import io
import os


def esp32_image(size=100_000):
    """Bytes shaped like an ESP32 app image: the magic byte, then random bytes (every range differs from every other)."""
    return bytes([0xE9]) + os.urandom(size - 1)


def upload(client, owner, image, title="sensor-fw", version="1.1.0"):
    return client.post(
        "/api/firmware", data={"file": (io.BytesIO(image), "firmware.bin"), "title": title, "version": version}, headers=owner.headers, content_type="multipart/form-data"
    )


def uploaded(client, owner, image, version="1.1.0"):
    response = upload(client, owner, image, version=version)
    assert response.status_code == 201, response.json
    assert response.json["sha256"] == hashlib.sha256(image).hexdigest()
    return response.json


def assign(client, device, firmware):
    response = client.post(f"/api/devices/{device.id}/ota", json={"firmware_id": firmware["id"]}, headers=device.owner.headers)
    assert response.status_code == 201, response.json
    return response.json


def report(client, device, state, **fields):
    return client.post(f"/devices/{device.id}/ota/status", json={"device_token": device.token, "state": state, **fields})


def ota_status(client, device):
    return client.get(f"/api/devices/{device.id}/ota", headers=device.owner.headers).json


def telemetry(client, device, fw=None):
    body = {"device_token": device.token, "data": {"t": 1}}
    if fw is not None:
        body["device"] = {"fw": fw}
    response = client.post(f"/devices/{device.id}/telemetry", json=body)
    assert response.status_code == 200, response.json
    return response.json
