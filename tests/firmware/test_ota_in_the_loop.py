"""Firmware in the loop, OTA: the host device downloads a real image from the real server across a dropped connection,
verifies it, "applies" it (the host's OTA slot is a file), restarts into it and reports the new version; the server
follows each step."""
import hashlib
import os
from types import SimpleNamespace

import requests

from .dropping_proxy import DroppingProxy

CHUNK = 16384
IMAGE_BYTES = 200_000


def upload_and_assign(server, device, image, version):
    token = server.api_token(device["owner_email"])
    headers = {"Authorization": f"Bearer {token}"}
    uploaded = requests.post(
        f"{server.url}/api/firmware", files={"file": ("fw.bin", image)}, data={"title": "fil-fw", "version": version}, headers=headers, timeout=10
    )
    assert uploaded.status_code == 201, uploaded.text
    assigned = requests.post(f"{server.url}/api/devices/{device['device_id']}/ota", json={"firmware_id": uploaded.json()["id"]}, headers=headers, timeout=10)
    assert assigned.status_code == 201, assigned.text
    return lambda: requests.get(f"{server.url}/api/devices/{device['device_id']}/ota", headers=headers, timeout=10).json()["update"]


def test_an_update_survives_a_dropped_connection_is_verified_applied_and_confirmed_after_the_restart(live_server, start_device, tmp_path):
    device = live_server.create_device(owner_email="fil-ota@example.com")
    image = bytes([0xE9]) + os.urandom(IMAGE_BYTES - 1)
    update = upload_and_assign(live_server, device, image, "1.1.0")
    # The third chunk's answer is cut 5,000 bytes in: headers and part of the body arrive, then the connection drops.
    proxy = DroppingProxy(live_server.port, cut_request=3, cut_after=5000)
    slot, flash = tmp_path / "ota-slot.bin", tmp_path / "flash.bin"
    through_proxy = SimpleNamespace(url=proxy.url)
    settings = {"telemetry_ms": 1000, "state": flash, "ota_slot": slot, "ota_chunk": CHUNK}
    try:
        esp = start_device(through_proxy, device, fw_version="1.0.0", **settings)
        esp.wait_for(r"ota: downloading 1\.1\.0 \(200000 bytes\)")
        esp.wait_for(r"ota: chunk at byte 32768 failed", timeout=30)
        esp.wait_for(r"ota: 1\.1\.0 verified and applied", timeout=60)
        esp.wait_for(r"ota: restarting into the new image", timeout=15)
    finally:
        proxy.close()

    assert slot.read_bytes() == image
    assert update()["status"] == "applied"
    starts = [first for first, _ in proxy.ranges]
    assert starts.count(32768) == 2, "the dropped chunk is asked for again"
    assert len(starts) - len(set(starts)) == 1, "and only that one"
    assert sorted(set(starts)) == list(range(0, IMAGE_BYTES, CHUNK))

    restarted = start_device(live_server, device, fw_version="1.1.0", ota_pending=1, **settings)
    restarted.wait_for(r"ota: 1\.1\.0 reached the server; keeping it", timeout=30)
    assert update()["status"] == "booted"
    assert (tmp_path / "ota-slot.bin.state").read_text() == "valid"
    assert hashlib.sha256(slot.read_bytes()).hexdigest() == hashlib.sha256(image).hexdigest()
