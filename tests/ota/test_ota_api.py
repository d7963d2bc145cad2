"""An owner uploads an image and sends it to a device; the device is offered it, downloads it (in ranges), and reports
each step until the outcome: booted, failed, or rolled back."""
import hashlib
import threading

from tests.ota.helpers import assign, esp32_image, ota_status, report, telemetry, upload, uploaded


def test_an_uploaded_image_is_kept_once_under_its_sha256(app, client, make_device):
    device = make_device()
    image = esp32_image()

    first = uploaded(client, device.owner, image)
    again = uploaded(client, device.owner, image, version="1.1.0-again")

    assert (first["size"], first["title"], first["version"]) == (len(image), "sensor-fw", "1.1.0")
    assert first["id"] != again["id"] and first["sha256"] == again["sha256"]
    with open(f"{app.config['FIRMWARE_DIR']}/{first['sha256']}", "rb") as stored:
        assert stored.read() == image
    listed = client.get("/api/firmware", headers=device.owner.headers).json["firmware"]
    assert [entry["id"] for entry in listed] == [again["id"], first["id"]]


def test_what_is_no_esp32_app_image_is_refused_clearly(app, client, make_user, monkeypatch):
    owner = make_user()
    monkeypatch.setitem(app.config, "FIRMWARE_MAX_BYTES", 50_000)

    wrong_magic = upload(client, owner, b"\x7fELF" + bytes(1000))
    too_large = upload(client, owner, esp32_image(50_001))
    too_short = upload(client, owner, b"\xe9\x03")
    no_file = client.post("/api/firmware", data={"title": "x", "version": "1"}, headers=owner.headers, content_type="multipart/form-data")
    no_version = client.post("/api/firmware", data={"title": "x", "file": (__import__("io").BytesIO(esp32_image(1000)), "f.bin")}, headers=owner.headers)

    assert (wrong_magic.status_code, wrong_magic.json["error"]) == (400, "invalid_request")
    assert "0x7F" in wrong_magic.json["message"] and "0xE9" in wrong_magic.json["message"]
    assert too_large.status_code == 413
    assert too_short.status_code == 400
    assert no_file.status_code == 400 and "'file'" in no_file.json["message"]
    assert no_version.status_code == 400 and "version" in no_version.json["message"]
    assert client.get("/api/firmware", headers=owner.headers).json["firmware"] == []


def test_the_device_is_offered_the_update_in_its_answers_while_it_is_due(client, make_device):
    device = make_device()
    firmware = uploaded(client, device.owner, esp32_image())
    assert "ota" not in telemetry(client, device, fw="1.0.0")

    sent = assign(client, device, firmware)
    offer = telemetry(client, device)["ota"]
    latest = client.get(f"/telemetry/latest?device_token={device.token}")

    assert (sent["status"], sent["from_version"]) == ("assigned", "1.0.0")
    assert offer == {
        "title": "sensor-fw", "version": "1.1.0", "size": firmware["size"], "sha256": firmware["sha256"],
        "url": f"/devices/{device.id}/firmware/{firmware['sha256']}",
    }
    assert latest.json["ota"] == offer
    assert report(client, device, "downloading", bytes=4096).json == {"status": "downloading", "bytes": 4096}
    assert report(client, device, "verifying").status_code == 200
    assert "ota" in telemetry(client, device)
    assert report(client, device, "applied").json["status"] == "applied"
    assert "ota" not in telemetry(client, device), "once applied, the device is not offered it again"
    assert report(client, device, "booted", version="1.1.0").json["status"] == "booted"
    assert ota_status(client, device)["update"]["status"] == "booted"


def test_a_new_offer_changes_the_etag_of_latest(client, make_device):
    device = make_device()
    telemetry(client, device)
    etag = client.get(f"/telemetry/latest?device_token={device.token}").headers["ETag"]
    assign(client, device, uploaded(client, device.owner, esp32_image()))

    response = client.get(f"/telemetry/latest?device_token={device.token}", headers={"If-None-Match": etag})

    assert response.status_code == 200 and "ota" in response.json


def long_poll(app, device, etag, answers):
    """Start a long-poll of /telemetry/latest for what differs from `etag`; its answer lands in `answers`."""
    poll = threading.Thread(
        target=lambda: answers.append(app.test_client().get(f"/telemetry/latest?device_token={device.token}&wait=30", headers={"If-None-Match": etag}))
    )
    poll.start()
    return poll


def test_a_waiting_long_poll_is_answered_with_a_new_offer(app, client, make_device, subscribed):
    device = make_device()
    telemetry(client, device)
    etag = client.get(f"/telemetry/latest?device_token={device.token}").headers["ETag"]
    answers = []
    poll = long_poll(app, device, etag, answers)
    assert subscribed.wait(10), "the long-poll never subscribed"

    firmware = uploaded(client, device.owner, esp32_image())
    assign(client, device, firmware)
    poll.join(10)

    assert not poll.is_alive(), "the offer did not release the long-poll"
    assert answers[0].status_code == 200 and answers[0].json["ota"]["sha256"] == firmware["sha256"]


def test_a_device_with_an_offer_is_held_by_its_long_poll_until_something_changes(app, client, make_device, subscribed):
    device = make_device()
    telemetry(client, device)
    assign(client, device, uploaded(client, device.owner, esp32_image()))
    etag = client.get(f"/telemetry/latest?device_token={device.token}").headers["ETag"]
    answers = []
    poll = long_poll(app, device, etag, answers)
    assert subscribed.wait(10), "the long-poll never subscribed"

    client.put(f"/api/devices/{device.id}/pins/v0", json={"value": 1}, headers=device.owner.headers)
    poll.join(10)

    assert not poll.is_alive(), "the toggle did not release the long-poll"
    assert answers[0].status_code == 200, "the long-poll answered before anything changed"
    assert answers[0].json["data"]["v0"] == 1 and "ota" in answers[0].json


def test_the_image_downloads_whole_or_from_any_byte(client, make_device):
    device = make_device()
    image = esp32_image(200_000)
    firmware = uploaded(client, device.owner, image)
    url = assign_and_url(client, device, firmware)

    whole = client.get(url, headers={"Authorization": f"Bearer {device.token}"})
    rest = client.get(url, headers={"Authorization": f"Bearer {device.token}", "Range": "bytes=131072-"})
    middle = client.get(f"{url}?device_token={device.token}", headers={"Range": "bytes=100-199"})
    past_end = client.get(url, headers={"Authorization": f"Bearer {device.token}", "Range": "bytes=200000-"})
    unchanged = client.get(url, headers={"Authorization": f"Bearer {device.token}", "If-None-Match": f'"{firmware["sha256"]}"'})

    assert (whole.status_code, whole.data, whole.headers["ETag"]) == (200, image, f'"{hashlib.sha256(image).hexdigest()}"')
    assert whole.headers["Accept-Ranges"] == "bytes" and whole.headers["Content-Length"] == str(len(image))
    assert (rest.status_code, rest.data, rest.headers["Content-Range"]) == (206, image[131072:], f"bytes 131072-199999/{len(image)}")
    assert (middle.status_code, middle.data) == (206, image[100:200])
    assert (past_end.status_code, past_end.headers["Content-Range"]) == (416, f"bytes */{len(image)}")
    assert unchanged.status_code == 304


def test_a_device_gets_only_the_image_it_is_being_sent(client, make_device):
    device, other = make_device(), make_device()
    firmware = uploaded(client, device.owner, esp32_image())
    url = assign_and_url(client, device, firmware)
    unassigned = uploaded(client, device.owner, esp32_image())

    assert client.get(url, headers={"Authorization": f"Bearer {other.token}"}).status_code == 403
    assert client.get(f"/devices/{other.id}/firmware/{firmware['sha256']}", headers={"Authorization": f"Bearer {other.token}"}).status_code == 404
    assert client.get(f"/devices/{device.id}/firmware/{unassigned['sha256']}", headers={"Authorization": f"Bearer {device.token}"}).status_code == 404
    assert client.get(url).status_code == 403
    assert client.delete(f"/api/devices/{device.id}/ota", headers=device.owner.headers).status_code == 204
    assert client.get(url, headers={"Authorization": f"Bearer {device.token}"}).status_code == 404, "a cancelled update's image is no longer served"
    assert ota_status(client, device)["update"]["status"] == "cancelled"
    assert client.delete(f"/api/devices/{device.id}/ota", headers=device.owner.headers).status_code == 404


def test_the_old_version_booting_after_applied_is_a_rollback(client, make_device):
    device = make_device()
    telemetry(client, device, fw="1.0.0")
    assign(client, device, uploaded(client, device.owner, esp32_image()))
    report(client, device, "applied")

    answer = report(client, device, "booted", version="1.0.0")

    assert answer.json["status"] == "rolled_back"
    update = ota_status(client, device)["update"]
    assert (update["status"], update["from_version"]) == ("rolled_back", "1.0.0")
    assert "1.0.0" in update["reason"] and "1.1.0" in update["reason"]


def test_reports_move_only_forward_and_carry_what_their_state_needs(client, make_device):
    device = make_device()
    firmware = uploaded(client, device.owner, esp32_image(10_000))
    assert report(client, device, "downloading", bytes=1).status_code == 409, "no update in progress yet"
    assign(client, device, firmware)

    assert report(client, device, "downloading").status_code == 400
    assert report(client, device, "failed").status_code == 400
    assert report(client, device, "booted").status_code == 400
    assert report(client, device, "installing").status_code == 400
    assert report(client, device, "downloading", bytes=10_001).status_code == 400
    assert report(client, device, "verifying").status_code == 200
    assert report(client, device, "downloading", bytes=5).status_code == 409
    assert report(client, device, "booted", version="0.9").status_code == 409, "another version booted before the image was applied"
    failed = report(client, device, "failed", reason="no space: partition 1310720 bytes")
    assert failed.json["status"] == "failed"
    assert ota_status(client, device)["update"]["reason"] == "no space: partition 1310720 bytes"
    assert report(client, device, "applied").status_code == 409, "a finished update takes no more reports"


def test_assigning_again_cancels_the_update_in_progress(client, make_device):
    device = make_device()
    first = assign(client, device, uploaded(client, device.owner, esp32_image()))
    second_image = uploaded(client, device.owner, esp32_image(), version="1.2.0")
    second = assign(client, device, second_image)

    history = ota_status(client, device)["history"]

    assert [(entry["id"], entry["status"]) for entry in history] == [(second["id"], "assigned"), (first["id"], "cancelled")]
    assert telemetry(client, device)["ota"]["version"] == "1.2.0"


def test_an_owner_sends_only_their_own_images(client, make_device):
    device, stranger = make_device(), make_device()
    theirs = uploaded(client, stranger.owner, esp32_image())

    response = client.post(f"/api/devices/{device.id}/ota", json={"firmware_id": theirs["id"]}, headers=device.owner.headers)

    assert response.status_code == 404


def assign_and_url(client, device, firmware):
    assign(client, device, firmware)
    return telemetry(client, device)["ota"]["url"]


def test_ids_beyond_any_row_are_404_not_a_server_error(client, make_device):
    device = make_device()
    huge = 2**70
    body = f'{{"firmware_id": {huge}}}'  # as text: the test client's JSON encoder stops at 64 bits

    assert client.post(f"/api/devices/{device.id}/ota", data=body, content_type="application/json", headers=device.owner.headers).status_code == 404
    assert client.post("/api/rollouts", data=body, content_type="application/json", headers=device.owner.headers).status_code == 404
    assert client.get(f"/api/rollouts/{huge}", headers=device.owner.headers).status_code == 404


def test_chunks_count_against_their_own_limit_and_leave_the_device_its_requests(client, make_app, make_device):
    device = make_device()
    firmware = uploaded(client, device.owner, esp32_image(100_000))
    url = assign_and_url(client, device, firmware)
    limited = make_app(RATELIMIT_DEVICE="3 per 60 seconds", RATELIMIT_FIRMWARE="5 per 60 seconds").test_client()
    bearer = {"Authorization": f"Bearer {device.token}"}

    chunks = [limited.get(url, headers={**bearer, "Range": f"bytes={start}-{start + 4095}"}).status_code for start in range(0, 6 * 4096, 4096)]
    after = limited.post(f"/devices/{device.id}/telemetry", json={"device_token": device.token, "data": {"t": 2}})

    assert chunks == [206] * 5 + [429], "more chunks than RATELIMIT_DEVICE, then refused past RATELIMIT_FIRMWARE"
    assert after.status_code == 200, "the downloads did not use up the device's own requests"
